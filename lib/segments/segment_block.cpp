#include "segments/segment_block.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "segments/byte_io.h"
#include "segments/integer_column.h"
#include "segments/stage_column.h"
#include "util/crc32c.h"

namespace runtrack::segments {
namespace {

// Field offsets inside the header.
constexpr size_t kCrcAt = 0, kBodyLengthAt = 4, kCountAt = 8, kCodecAt = 12, kFirstOrdinalAt = 16,
                 kStepFirstAt = 24, kStepLastAt = 32, kStepMinAt = 40, kStepMaxAt = 48, kValueFirstAt = 56,
                 kValueLastAt = 64, kValueMinAt = 72, kValueMaxAt = 80, kNonfiniteAt = 88, kStepsBytesAt = 92,
                 kWallBytesAt = 96, kValuesBytesAt = 100, kStagesBytesAt = 104;
static_assert(kStagesBytesAt + 8 == kBlockHeaderSize);  // 4 bytes of stage length, 4 reserved

// In order of preference on equal size (fastest to decode first).
constexpr ValueCodec kValueCodecs[] = {ValueCodec::kGorillaXor, ValueCodec::kBitsDelta, ValueCodec::kXorShuffleZstd};

bool KnownCodec(uint8_t c) {
  for (ValueCodec known : kValueCodecs) {
    if (c == static_cast<uint8_t>(known)) return true;
  }
  return false;
}

}  // namespace

void EncodeBlock(std::span<const MetricPoint> points, uint64_t first_ordinal, std::optional<ValueCodec> chosen,
                 int zstd_level, std::string* out) {
  const size_t n = points.size();
  const size_t start = out->size();
  out->append(kBlockHeaderSize, '\0');

  std::vector<uint64_t> column(n);
  int64_t step_min = std::numeric_limits<int64_t>::max(), step_max = std::numeric_limits<int64_t>::min();
  double value_min = std::numeric_limits<double>::quiet_NaN(), value_max = value_min;
  uint32_t nonfinite = 0;
  for (const MetricPoint& p : points) {
    step_min = std::min(step_min, p.step);
    step_max = std::max(step_max, p.step);
    if (!std::isfinite(p.value)) {
      ++nonfinite;
    } else if (std::isnan(value_min)) {
      value_min = value_max = p.value;
    } else {
      value_min = std::min(value_min, p.value);
      value_max = std::max(value_max, p.value);
    }
  }

  size_t mark = out->size();
  for (size_t i = 0; i < n; ++i) column[i] = static_cast<uint64_t>(points[i].step);
  EncodeIntegerColumn(column, out);
  const size_t steps_bytes = out->size() - mark;
  mark = out->size();
  for (size_t i = 0; i < n; ++i) column[i] = DoubleBits(points[i].wall_time);
  EncodeIntegerColumn(column, out);
  const size_t wall_bytes = out->size() - mark;
  mark = out->size();
  for (size_t i = 0; i < n; ++i) column[i] = DoubleBits(points[i].value);
  ValueCodec codec = chosen.value_or(ValueCodec::kGorillaXor);
  if (chosen) {
    EncodeValueColumn(codec, column, zstd_level, out);
  } else {
    std::string best, candidate;
    for (ValueCodec c : kValueCodecs) {
      candidate.clear();
      EncodeValueColumn(c, column, zstd_level, &candidate);
      if (best.empty() || candidate.size() < best.size()) {
        best.swap(candidate);
        codec = c;
      }
    }
    out->append(best);
  }
  const size_t values_bytes = out->size() - mark;
  mark = out->size();
  EncodeStageColumn(points, out);
  const size_t stages_bytes = out->size() - mark;

  char* h = out->data() + start;
  StoreLE<uint32_t>(h + kBodyLengthAt, static_cast<uint32_t>(out->size() - start - kBlockHeaderSize));
  StoreLE<uint32_t>(h + kCountAt, static_cast<uint32_t>(n));
  h[kCodecAt] = static_cast<char>(codec);
  StoreLE<uint64_t>(h + kFirstOrdinalAt, first_ordinal);
  StoreLE<int64_t>(h + kStepFirstAt, points.front().step);
  StoreLE<int64_t>(h + kStepLastAt, points.back().step);
  StoreLE<int64_t>(h + kStepMinAt, step_min);
  StoreLE<int64_t>(h + kStepMaxAt, step_max);
  StoreLE<double>(h + kValueFirstAt, points.front().value);
  StoreLE<double>(h + kValueLastAt, points.back().value);
  StoreLE<double>(h + kValueMinAt, value_min);
  StoreLE<double>(h + kValueMaxAt, value_max);
  StoreLE<uint32_t>(h + kNonfiniteAt, nonfinite);
  StoreLE<uint32_t>(h + kStepsBytesAt, static_cast<uint32_t>(steps_bytes));
  StoreLE<uint32_t>(h + kWallBytesAt, static_cast<uint32_t>(wall_bytes));
  StoreLE<uint32_t>(h + kValuesBytesAt, static_cast<uint32_t>(values_bytes));
  StoreLE<uint32_t>(h + kStagesBytesAt, static_cast<uint32_t>(stages_bytes));
  StoreLE<uint32_t>(h + kCrcAt, util::Crc32c(0, h + 4, out->size() - start - 4));
}

Result<BlockHeader> ParseBlockHeader(std::string_view bytes) {
  if (bytes.size() < kBlockHeaderSize) {
    return Status::Corruption("block header truncated: " + std::to_string(bytes.size()) + " of " +
                              std::to_string(kBlockHeaderSize) + " bytes");
  }
  const char* h = bytes.data();
  BlockHeader b;
  b.crc32c = LoadLE<uint32_t>(h + kCrcAt);
  b.body_length = LoadLE<uint32_t>(h + kBodyLengthAt);
  b.count = LoadLE<uint32_t>(h + kCountAt);
  const auto codec = static_cast<uint8_t>(h[kCodecAt]);
  b.first_ordinal = LoadLE<uint64_t>(h + kFirstOrdinalAt);
  b.step_first = LoadLE<int64_t>(h + kStepFirstAt);
  b.step_last = LoadLE<int64_t>(h + kStepLastAt);
  b.step_min = LoadLE<int64_t>(h + kStepMinAt);
  b.step_max = LoadLE<int64_t>(h + kStepMaxAt);
  b.value_first = LoadLE<double>(h + kValueFirstAt);
  b.value_last = LoadLE<double>(h + kValueLastAt);
  b.value_min = LoadLE<double>(h + kValueMinAt);
  b.value_max = LoadLE<double>(h + kValueMaxAt);
  b.nonfinite_count = LoadLE<uint32_t>(h + kNonfiniteAt);
  b.steps_bytes = LoadLE<uint32_t>(h + kStepsBytesAt);
  b.wall_bytes = LoadLE<uint32_t>(h + kWallBytesAt);
  b.values_bytes = LoadLE<uint32_t>(h + kValuesBytesAt);
  b.stages_bytes = LoadLE<uint32_t>(h + kStagesBytesAt);
  if (!KnownCodec(codec)) return Status::Corruption("block uses unknown value codec " + std::to_string(codec));
  b.value_codec = static_cast<ValueCodec>(codec);
  if (b.count == 0 || b.count > kMaxBlockPoints) {
    return Status::Corruption("block claims " + std::to_string(b.count) + " points");
  }
  if (uint64_t{b.steps_bytes} + b.wall_bytes + b.values_bytes + b.stages_bytes != b.body_length) {
    return Status::Corruption("block column lengths do not add up to its body length");
  }
  if (h[13] != 0 || h[14] != 0 || h[15] != 0 || LoadLE<uint32_t>(h + kStagesBytesAt + 4) != 0) {
    return Status::Corruption("block header reserved fields are not zero");
  }
  if (b.nonfinite_count > b.count) return Status::Corruption("block claims more non-finite values than points");
  return b;
}

Status DecodeBlock(std::string_view block, const BlockHeader& header, std::vector<MetricPoint>* out) {
  if (block.size() != header.total_size()) {
    return Status::Corruption("block truncated: " + std::to_string(block.size()) + " of " +
                              std::to_string(header.total_size()) + " bytes");
  }
  const uint32_t crc = util::Crc32c(0, block.data() + 4, block.size() - 4);
  if (crc != header.crc32c) {
    return Status::Corruption("block at ordinal " + std::to_string(header.first_ordinal) + " fails its CRC-32C check");
  }
  const size_t n = header.count;
  std::string_view body = block.substr(kBlockHeaderSize);
  const std::string_view steps = body.substr(0, header.steps_bytes);
  const std::string_view wall = body.substr(header.steps_bytes, header.wall_bytes);
  const std::string_view values = body.substr(header.steps_bytes + header.wall_bytes, header.values_bytes);
  const std::string_view stages = body.substr(header.steps_bytes + header.wall_bytes + header.values_bytes);

  // Columns decode into per-thread scratch, then one pass writes each point once.
  thread_local std::vector<uint64_t> scratch;
  thread_local std::vector<StageRun> runs;
  scratch.resize(3 * n);
  const std::span<uint64_t> step_col(scratch.data(), n), wall_col(scratch.data() + n, n),
      value_col(scratch.data() + 2 * n, n);
  RUNTRACK_RETURN_IF_ERROR(DecodeIntegerColumn(steps, step_col));
  RUNTRACK_RETURN_IF_ERROR(DecodeIntegerColumn(wall, wall_col));
  RUNTRACK_RETURN_IF_ERROR(DecodeValueColumn(header.value_codec, values, value_col));
  RUNTRACK_RETURN_IF_ERROR(DecodeStageRuns(stages, n, &runs));
  const size_t at = out->size();
  out->resize(at + n);
  MetricPoint* dst = out->data() + at;  // a plain pointer: push_back's size updates would alias the stores
  size_t i = 0;
  for (const StageRun& run : runs) {
    for (const size_t end = i + run.length; i < end; ++i) {
      dst[i] = {static_cast<int64_t>(step_col[i]), BitsDouble(wall_col[i]), BitsDouble(value_col[i]), run.stage};
    }
  }
  return Status::Ok();
}

}  // namespace runtrack::segments
