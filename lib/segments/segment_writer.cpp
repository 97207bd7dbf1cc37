#include "segments/segment_writer.h"

#include <algorithm>

#include "segments/byte_io.h"
#include "segments/object_footer.h"
#include "segments/segment_block.h"
#include "segments/segment_format.h"
#include "util/files.h"

namespace runtrack::segments {
namespace {

Status Validate(const SegmentContent& content, const SegmentWriterOptions& options) {
  if (content.series_name.size() > kMaxSeriesNameBytes) {
    return Status::InvalidArgument("series name is " + std::to_string(content.series_name.size()) +
                                   " bytes; at most " + std::to_string(kMaxSeriesNameBytes) + " are allowed");
  }
  if (content.stages.size() > kMaxStages) {
    return Status::InvalidArgument("a segment holds at most " + std::to_string(kMaxStages) + " stages");
  }
  if (options.block_points == 0 || options.block_points > kMaxBlockPoints) {
    return Status::InvalidArgument("block_points must be 1.." + std::to_string(kMaxBlockPoints) + ", not " +
                                   std::to_string(options.block_points));
  }
  if (options.value_codec && *options.value_codec != ValueCodec::kGorillaXor &&
      *options.value_codec != ValueCodec::kXorShuffleZstd && *options.value_codec != ValueCodec::kBitsDelta) {
    return Status::InvalidArgument("unknown value codec " + std::to_string(static_cast<int>(*options.value_codec)));
  }
  if (content.points.size() > UINT64_MAX - options.first_ordinal) {
    return Status::InvalidArgument("first_ordinal + point count overflows 64 bits");
  }
  for (size_t i = 0; i < content.points.size(); ++i) {
    if (content.points[i].stage >= content.stages.size()) {
      return Status::InvalidArgument("point " + std::to_string(i) + " has stage " +
                                     std::to_string(content.points[i].stage) + " but the segment has " +
                                     std::to_string(content.stages.size()) + " stage names");
    }
  }
  return Status::Ok();
}

}  // namespace

Result<std::string> EncodeSegment(const SegmentContent& content, const SegmentWriterOptions& options) {
  RUNTRACK_RETURN_IF_ERROR(Validate(content, options));
  std::string out(kSegmentMagic, sizeof kSegmentMagic);
  PutU32(&out, kSegmentFormatVersion);
  PutU32(&out, 0);

  const std::span<const MetricPoint> points = content.points;
  std::vector<BlockIndexEntry> index;
  bool nondecreasing = true;
  for (size_t i = 1; i < points.size(); ++i) nondecreasing &= points[i].step >= points[i - 1].step;
  for (size_t begin = 0; begin < points.size(); begin += options.block_points) {
    const size_t n = std::min<size_t>(options.block_points, points.size() - begin);
    const std::span<const MetricPoint> block = points.subspan(begin, n);
    BlockIndexEntry entry;
    entry.offset = out.size();
    entry.count = static_cast<uint32_t>(n);
    entry.first_ordinal = options.first_ordinal + begin;
    const auto [lo, hi] = std::minmax_element(block.begin(), block.end(),
                                              [](const MetricPoint& a, const MetricPoint& b) { return a.step < b.step; });
    entry.step_min = lo->step;
    entry.step_max = hi->step;
    EncodeBlock(block, entry.first_ordinal, options.value_codec, options.zstd_level, &out);
    entry.length = static_cast<uint32_t>(out.size() - entry.offset);
    index.push_back(entry);
  }

  std::string footer;
  PutU64(&footer, options.first_ordinal);
  PutU64(&footer, points.size());
  PutU32(&footer, static_cast<uint32_t>(index.size()));
  PutU8(&footer, nondecreasing ? 1 : 0);
  footer.append(3, '\0');
  PutU32(&footer, static_cast<uint32_t>(content.series_name.size()));
  footer.append(content.series_name);
  PutU32(&footer, static_cast<uint32_t>(content.stages.size()));
  for (const std::string& stage : content.stages) {
    PutU32(&footer, static_cast<uint32_t>(stage.size()));
    footer.append(stage);
  }
  for (const BlockIndexEntry& e : index) {
    PutU64(&footer, e.offset);
    PutU32(&footer, e.length);
    PutU32(&footer, e.count);
    PutU64(&footer, e.first_ordinal);
    PutI64(&footer, e.step_min);
    PutI64(&footer, e.step_max);
  }
  if (footer.size() > kMaxFooterBytes) {
    return Status::InvalidArgument("segment footer would be " + std::to_string(footer.size()) +
                                   " bytes; use longer blocks or fewer stage names");
  }

  AppendFooterAndTrailer(footer, kSegmentFormatVersion, kSegmentTrailerMagic, &out);
  return out;
}

Status WriteSegmentFile(const std::filesystem::path& path, const SegmentContent& content,
                        const SegmentWriterOptions& options, bool sync) {
  RUNTRACK_ASSIGN_OR_RETURN(std::string bytes, EncodeSegment(content, options));
  return util::WriteFileAtomic(path, bytes, sync);
}

}  // namespace runtrack::segments
