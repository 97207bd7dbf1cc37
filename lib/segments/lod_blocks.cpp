#include "segments/lod_blocks.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <vector>

#include "segments/byte_io.h"
#include "segments/object_footer.h"
#include "segments/zstd_frame.h"
#include "util/crc32c.h"
#include "util/files.h"

namespace runtrack::segments {
namespace {

// A level block's body is one zstd frame over kColumns columns of bucket_count u64s, each column
// transformed so neighbouring buckets give small numbers (integers: zigzag delta from the previous
// bucket; doubles: XOR with the previous bucket's bits; ordinals: zigzag delta of the offset from
// the bucket's first ordinal) and split into 8 byte planes.
constexpr size_t kPointFields = 5;  // ordinal, step, wall_time, value, stage
constexpr size_t kColumns = 3 + 5 * kPointFields;

enum class Transform { kIntDelta, kXor };

OrdinalPoint LodBucket::*const kPoints[5] = {&LodBucket::first, &LodBucket::last, &LodBucket::min, &LodBucket::max,
                                             &LodBucket::first_nonfinite};

// The columns of one level as raw u64 (before the transform), in a fixed order.
std::array<std::vector<uint64_t>, kColumns> ToColumns(const std::vector<LodBucket>& level, size_t k) {
  std::array<std::vector<uint64_t>, kColumns> cols;
  for (auto& c : cols) c.reserve(level.size());
  for (size_t i = 0; i < level.size(); ++i) {
    const LodBucket& b = level[i];
    const uint64_t begin = i * LodPyramid::BucketSpan(k);
    cols[0].push_back(b.count);
    cols[1].push_back(b.nonfinite_count);
    cols[2].push_back(DoubleBits(b.sum));
    for (size_t f = 0; f < 5; ++f) {
      const OrdinalPoint& p = b.*kPoints[f];
      cols[3 + f * kPointFields + 0].push_back(p.ordinal - begin);
      cols[3 + f * kPointFields + 1].push_back(static_cast<uint64_t>(p.point.step));
      cols[3 + f * kPointFields + 2].push_back(DoubleBits(p.point.wall_time));
      cols[3 + f * kPointFields + 3].push_back(DoubleBits(p.point.value));
      cols[3 + f * kPointFields + 4].push_back(p.point.stage);
    }
  }
  return cols;
}

Transform TransformOf(size_t column) {
  if (column == 2) return Transform::kXor;
  if (column >= 3 && (column - 3) % kPointFields == 3) return Transform::kXor;
  return Transform::kIntDelta;
}

std::string EncodeLevel(const std::vector<LodBucket>& level, size_t k, int zstd_level) {
  const size_t n = level.size();
  const auto cols = ToColumns(level, k);
  std::string planes(n * 8 * kColumns, '\0');
  for (size_t c = 0; c < kColumns; ++c) {
    const bool xor_column = TransformOf(c) == Transform::kXor;
    char* base = planes.data() + c * n * 8;
    uint64_t prev = 0;
    for (size_t i = 0; i < n; ++i) {
      const uint64_t v = cols[c][i];
      const uint64_t t = xor_column ? v ^ prev : ZigZag(v - prev);
      prev = v;
      for (size_t b = 0; b < 8; ++b) base[b * n + i] = static_cast<char>(t >> (8 * b));
    }
  }
  std::string block(kLodLevelHeaderSize, '\0');
  AppendZstdFrame(planes, zstd_level, &block);
  StoreLE<uint32_t>(block.data() + 4, static_cast<uint32_t>(block.size() - kLodLevelHeaderSize));
  StoreLE<uint32_t>(block.data() + 8, static_cast<uint32_t>(k));
  StoreLE<uint32_t>(block.data() + 12, static_cast<uint32_t>(n));
  StoreLE<uint32_t>(block.data(), util::Crc32c(0, block.data() + 4, block.size() - 4));
  return block;
}

Status DecodeLevel(std::string_view block, size_t k, uint32_t bucket_count, std::vector<LodBucket>* level) {
  const std::string where = "LOD level " + std::to_string(k);
  if (block.size() < kLodLevelHeaderSize) return Status::Corruption(where + " block truncated");
  if (util::Crc32c(0, block.data() + 4, block.size() - 4) != LoadLE<uint32_t>(block.data())) {
    return Status::Corruption(where + " block fails its CRC-32C check");
  }
  if (LoadLE<uint32_t>(block.data() + 4) != block.size() - kLodLevelHeaderSize ||
      LoadLE<uint32_t>(block.data() + 8) != k || LoadLE<uint32_t>(block.data() + 12) != bucket_count) {
    return Status::Corruption(where + " block header does not match the footer");
  }
  const size_t n = bucket_count;
  std::vector<uint8_t> planes;
  RUNTRACK_RETURN_IF_ERROR(DecompressZstdFrame(block.substr(kLodLevelHeaderSize), n * 8 * kColumns, &planes));
  level->assign(n, LodBucket{});
  // Buckets are filled a tile at a time, every column of a tile before the next tile: column after
  // column over the whole level would stream all of it (17.5 MB for 10^7 points) through the
  // cache once per column. A tile of buckets plus its column bytes (2 x ~115 KB) stays in L2.
  constexpr size_t kTile = 512;
  uint64_t prevs[kColumns] = {};
  for (size_t tile = 0; tile < n; tile += kTile) {
    const size_t tile_end = std::min(n, tile + kTile);
    for (size_t c = 0; c < kColumns; ++c) {
      const bool xor_column = TransformOf(c) == Transform::kXor;
      const uint8_t* base = planes.data() + c * n * 8;
      uint64_t prev = prevs[c];
      for (size_t i = tile; i < tile_end; ++i) {
        uint64_t t = 0;
        for (size_t b = 0; b < 8; ++b) t |= uint64_t{base[b * n + i]} << (8 * b);
        const uint64_t v = xor_column ? t ^ prev : prev + UnZigZag(t);
        prev = v;
        LodBucket& bucket = (*level)[i];
        if (c == 0) {
          bucket.count = v;
        } else if (c == 1) {
          bucket.nonfinite_count = v;
        } else if (c == 2) {
          bucket.sum = BitsDouble(v);
        } else {
          OrdinalPoint& p = bucket.*kPoints[(c - 3) / kPointFields];
          switch ((c - 3) % kPointFields) {
            case 0: p.ordinal = i * LodPyramid::BucketSpan(k) + v; break;
            case 1: p.point.step = static_cast<int64_t>(v); break;
            case 2: p.point.wall_time = BitsDouble(v); break;
            case 3: p.point.value = BitsDouble(v); break;
            default:
              if (v > UINT32_MAX) return Status::Corruption(where + ": stage id exceeds 32 bits");
              p.point.stage = static_cast<uint32_t>(v);
          }
        }
      }
      prevs[c] = prev;
    }
  }
  return Status::Ok();
}

}  // namespace

std::string EncodeLodPyramid(const LodPyramid& pyramid, int zstd_level) {
  std::string out(kLodMagic, sizeof kLodMagic);
  PutU32(&out, kLodFormatVersion);
  PutU32(&out, 0);
  std::string footer;
  PutU64(&footer, pyramid.count());
  PutU8(&footer, pyramid.steps_monotonic() ? 1 : 0);
  footer.append(3, '\0');
  PutU32(&footer, static_cast<uint32_t>(LodPyramid::kRawChunkPoints));
  PutU32(&footer, static_cast<uint32_t>(LodPyramid::kFanout));
  PutU32(&footer, static_cast<uint32_t>(pyramid.num_levels()));
  for (size_t k = 0; k < pyramid.num_levels(); ++k) {
    const uint64_t offset = out.size();
    out.append(EncodeLevel(pyramid.level(k), k, zstd_level));
    PutU64(&footer, offset);
    PutU32(&footer, static_cast<uint32_t>(out.size() - offset));
    PutU32(&footer, static_cast<uint32_t>(pyramid.level(k).size()));
  }
  AppendFooterAndTrailer(footer, kLodFormatVersion, kLodTrailerMagic, &out);
  return out;
}

Result<LodPyramid> DecodeLodPyramid(const ByteSource& source) {
  std::string footer;
  uint64_t footer_offset = 0;
  RUNTRACK_RETURN_IF_ERROR(ReadObjectFooter(source, "LOD object", kLodHeaderSize, kLodFormatVersion, kLodTrailerMagic,
                                            &footer, &footer_offset));
  ByteCursor c(footer);
  uint64_t point_count = 0;
  uint8_t monotonic = 0;
  uint32_t chunk = 0, fanout = 0, level_count = 0;
  std::string_view reserved;
  c.GetU64(&point_count);
  c.GetU8(&monotonic);
  c.GetBytes(3, &reserved);
  c.GetU32(&chunk);
  c.GetU32(&fanout);
  c.GetU32(&level_count);
  if (c.failed()) return Status::Corruption("LOD footer too short for its fixed fields");
  if (chunk != LodPyramid::kRawChunkPoints || fanout != LodPyramid::kFanout) {
    return Status::FailedPrecondition("LOD object was built with " + std::to_string(chunk) + " points per chunk and fanout " +
                                      std::to_string(fanout) + "; this build uses " +
                                      std::to_string(LodPyramid::kRawChunkPoints) + " and " +
                                      std::to_string(LodPyramid::kFanout) + ": rebuild it from the raw points");
  }
  if (level_count > kMaxLodLevels || c.remaining() != uint64_t{level_count} * 16) {
    return Status::Corruption("LOD footer lists " + std::to_string(level_count) + " levels in " +
                              std::to_string(c.remaining()) + " bytes");
  }
  struct Entry {
    uint64_t offset;
    uint32_t length, buckets;
  };
  std::vector<Entry> entries(level_count);
  uint64_t expected = kLodHeaderSize;
  for (Entry& e : entries) {
    c.GetU64(&e.offset);
    c.GetU32(&e.length);
    c.GetU32(&e.buckets);
    if (e.offset != expected || e.length > footer_offset - e.offset || e.buckets == 0 || e.buckets > kMaxLodLevelBuckets) {
      return Status::Corruption("LOD footer entries do not tile the object");
    }
    expected += e.length;
  }
  if (expected != footer_offset) return Status::Corruption("LOD level blocks do not end where the footer starts");

  std::vector<std::vector<LodBucket>> levels(level_count);
  {
    std::string body;  // with the header, which is checked although no data depends on it
    RUNTRACK_RETURN_IF_ERROR(source.ReadAt(0, footer_offset, &body));
    if (std::memcmp(body.data(), kLodMagic, 8) != 0 || LoadLE<uint32_t>(body.data() + 8) != kLodFormatVersion ||
        LoadLE<uint32_t>(body.data() + 12) != 0) {
      return Status::Corruption("LOD object header is damaged (magic, version or reserved field)");
    }
    for (size_t k = 0; k < level_count; ++k) {
      const std::string_view block(body.data() + entries[k].offset, entries[k].length);
      RUNTRACK_RETURN_IF_ERROR(DecodeLevel(block, k, entries[k].buckets, &levels[k]));
    }
  }
  RUNTRACK_ASSIGN_OR_RETURN(LodPyramid pyramid, LodPyramid::FromLevels(std::move(levels), monotonic != 0));
  if (pyramid.count() != point_count) {
    return Status::Corruption("LOD levels hold " + std::to_string(pyramid.count()) + " points, footer says " +
                              std::to_string(point_count));
  }
  return pyramid;
}

Status WriteLodFile(const std::filesystem::path& path, const LodPyramid& pyramid, bool sync) {
  return util::WriteFileAtomic(path, EncodeLodPyramid(pyramid), sync);
}

}  // namespace runtrack::segments
