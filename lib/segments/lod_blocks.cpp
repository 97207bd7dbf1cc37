#include "segments/lod_blocks.h"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstring>
#include <new>
#include <vector>

#include "metrics/lod_lazy_levels.h"
#include "segments/byte_io.h"
#include "segments/object_footer.h"
#include "segments/zstd_frame.h"
#include "util/crc32c.h"
#include "util/files.h"

#if defined(__x86_64__) && !defined(RUNTRACK_HAVE_ISAL)
#include <nmmintrin.h>
#endif
#if defined(RUNTRACK_HAVE_ISAL)
#include <isa-l/crc.h>
#endif

namespace runtrack::segments {
namespace {

// CRC-32C of a block, the same value as util::Crc32c. A first chart checks a whole level-1 block
// set (2.2 MB for 10^7 points) before answering; the portable slicing-by-8 code runs at ~2 GB/s,
// which alone would cost several times the warm query. ISA-L's is used when the library is built
// with it (BlockCrc); otherwise the SSE4.2 instruction when the CPU has it: three interleaved
// streams (the instruction's latency is 3 cycles, its throughput 1) over three thirds of the block,
// joined with the CRC combination rule (as zlib's crc32_combine: crc(A||B) = crc(A)·x^(8|B|) mod P
// xor crc(B)).
#if defined(__x86_64__) && !defined(RUNTRACK_HAVE_ISAL)
constexpr uint32_t kCrc32cPoly = 0x82F63B78;  // reflected Castagnoli polynomial

// a·b modulo P, both reflected.
uint32_t MultModP(uint32_t a, uint32_t b) {
  uint32_t m = uint32_t{1} << 31, p = 0;
  for (;;) {
    if (a & m) {
      p ^= b;
      if ((a & (m - 1)) == 0) break;
    }
    m >>= 1;
    b = (b & 1) ? (b >> 1) ^ kCrc32cPoly : b >> 1;
  }
  return p;
}

// x^(8·n) modulo P, by squaring: x^(2^k) for k = 3, 4, ...
uint32_t ShiftOperator(uint64_t n) {
  uint32_t result = uint32_t{1} << 31;  // x^0
  uint32_t power = uint32_t{1} << 30;   // x^1
  for (int k = 0; k < 3; ++k) power = MultModP(power, power);  // x^8
  for (; n > 0; n >>= 1) {
    if (n & 1) result = MultModP(power, result);
    power = MultModP(power, power);
  }
  return result;
}

__attribute__((target("sse4.2"))) uint64_t Crc32cRun(uint64_t crc, const char* p, size_t n) {
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t word;
    std::memcpy(&word, p, 8);
    crc = _mm_crc32_u64(crc, word);
  }
  auto crc32 = static_cast<uint32_t>(crc);
  for (; n > 0; ++p, --n) crc32 = _mm_crc32_u8(crc32, static_cast<uint8_t>(*p));
  return crc32;
}

__attribute__((target("sse4.2"))) uint32_t Crc32cSse42(const char* p, size_t n) {
  constexpr size_t kInterleaveFrom = 3 * 4096;  // below this the two combinations cost more
  if (n < kInterleaveFrom) return ~static_cast<uint32_t>(Crc32cRun(0xFFFFFFFFu, p, n));
  const size_t third = n / 3 / 8 * 8;
  const char* b = p + third;
  const char* c = p + 2 * third;
  uint64_t ca = 0xFFFFFFFFu, cb = 0xFFFFFFFFu, cc = 0xFFFFFFFFu;
  for (size_t i = 0; i < third; i += 8) {
    uint64_t wa, wb, wc;
    std::memcpy(&wa, p + i, 8);
    std::memcpy(&wb, b + i, 8);
    std::memcpy(&wc, c + i, 8);
    ca = _mm_crc32_u64(ca, wa);
    cb = _mm_crc32_u64(cb, wb);
    cc = _mm_crc32_u64(cc, wc);
  }
  const size_t c_length = n - 2 * third;
  cc = Crc32cRun(cc, c + third, c_length - third);
  const auto crc_a = ~static_cast<uint32_t>(ca), crc_b = ~static_cast<uint32_t>(cb), crc_c = ~static_cast<uint32_t>(cc);
  const uint32_t ab = MultModP(ShiftOperator(third), crc_a) ^ crc_b;
  return MultModP(ShiftOperator(c_length), ab) ^ crc_c;
}
#endif

uint32_t BlockCrc(const char* p, size_t n) {
#if defined(RUNTRACK_HAVE_ISAL)
  // ISA-L folds the block with carry-less multiplications (PCLMULQDQ / VPCLMULQDQ, picked at run
  // time): ~70 GB/s here against ~22 for the interleaved instruction below, which matters because a
  // first chart checks every byte it reads (2.2 MB of level 1 for 10^7 points). It keeps the CRC
  // register without the final inversion, so blocks longer than an int are chained through it.
  uint32_t crc = 0xFFFFFFFFu;
  constexpr size_t kMaxPiece = size_t{1} << 30;
  for (size_t done = 0; done < n;) {
    const size_t piece = std::min(kMaxPiece, n - done);
    crc = crc32_iscsi(reinterpret_cast<unsigned char*>(const_cast<char*>(p + done)), static_cast<int>(piece), crc);
    done += piece;
  }
  return ~crc;
#else
#if defined(__x86_64__)
  static const bool sse42 = __builtin_cpu_supports("sse4.2");
  if (sse42) return Crc32cSse42(p, n);
#endif
  return util::Crc32c(0, p, n);
#endif
}

// kZstdPlanes: one zstd frame over kColumns columns of bucket_count u64s, each column transformed
// so neighbouring buckets give small numbers (integers: zigzag delta from the previous bucket;
// doubles: XOR with the previous bucket's bits; ordinals: zigzag delta of the offset from the
// bucket's first ordinal) and split into 8 byte planes. The first bucket of a block is taken
// against zeros, so a block decodes on its own.
constexpr size_t kPointFields = 5;  // ordinal, step, wall_time, value, stage
constexpr size_t kColumns = 3 + 5 * kPointFields;

// kRaw: the record is LodBucket's own layout on a little-endian 64-bit host (the only hosts this
// code base runs on, see byte_io.h), so it decodes with one memcpy; padding is written as zeros.
constexpr size_t kRawRecordSize = 224;
static_assert(sizeof(MetricPoint) == 32 && offsetof(MetricPoint, step) == 0 && offsetof(MetricPoint, wall_time) == 8 &&
              offsetof(MetricPoint, value) == 16 && offsetof(MetricPoint, stage) == 24);
static_assert(sizeof(OrdinalPoint) == 40 && offsetof(OrdinalPoint, point) == 8);
static_assert(sizeof(LodBucket) == kRawRecordSize && offsetof(LodBucket, sum) == 16 && offsetof(LodBucket, first) == 24 &&
              offsetof(LodBucket, last) == 64 && offsetof(LodBucket, min) == 104 && offsetof(LodBucket, max) == 144 &&
              offsetof(LodBucket, first_nonfinite) == 184);

enum class Transform { kIntDelta, kXor };

OrdinalPoint LodBucket::*const kPoints[5] = {&LodBucket::first, &LodBucket::last, &LodBucket::min, &LodBucket::max,
                                             &LodBucket::first_nonfinite};

Transform TransformOf(size_t column) {
  if (column == 2) return Transform::kXor;
  if (column >= 3 && (column - 3) % kPointFields == 3) return Transform::kXor;
  return Transform::kIntDelta;
}

// Buckets [first, first + n) of level k as columns (before the transform), in a fixed order.
std::array<std::vector<uint64_t>, kColumns> ToColumns(const LodLevel& level, size_t k, uint64_t first, size_t n) {
  std::array<std::vector<uint64_t>, kColumns> cols;
  for (auto& c : cols) c.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const LodBucket& b = level[first + i];
    const uint64_t begin = (first + i) * LodPyramid::BucketSpan(k);
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

void AppendPlanes(const LodLevel& level, size_t k, uint64_t first, size_t n, int zstd_level, std::string* out) {
  const auto cols = ToColumns(level, k, first, n);
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
  AppendZstdFrame(planes, zstd_level, out);
}

void AppendRaw(const LodLevel& level, uint64_t first, size_t n, std::string* out) {
  for (size_t i = 0; i < n; ++i) {
    const LodBucket& b = level[first + i];
    PutU64(out, b.count);
    PutU64(out, b.nonfinite_count);
    PutF64(out, b.sum);
    for (OrdinalPoint LodBucket::*field : kPoints) {
      const OrdinalPoint& p = b.*field;
      PutU64(out, p.ordinal);
      PutI64(out, p.point.step);
      PutF64(out, p.point.wall_time);
      PutF64(out, p.point.value);
      PutU32(out, p.point.stage);
      PutU32(out, 0);
    }
  }
}

// Decodes a kZstdPlanes body of n buckets starting at bucket `first` of level k.
Status DecodePlanes(std::string_view frame, const std::string& where, size_t k, uint64_t first, size_t n,
                    std::vector<LodBucket>* out) {
  std::vector<uint8_t> planes;
  RUNTRACK_RETURN_IF_ERROR(DecompressZstdFrame(frame, n * 8 * kColumns, &planes));
  out->assign(n, LodBucket{});
  // Buckets are filled a tile at a time, every column of a tile before the next tile: column after
  // column over a whole level would stream all of it (17.5 MB for 10^7 points) through the cache
  // once per column. A tile of buckets plus its column bytes (2 x ~115 KB) stays in L2.
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
        LodBucket& bucket = (*out)[i];
        if (c == 0) {
          bucket.count = v;
        } else if (c == 1) {
          bucket.nonfinite_count = v;
        } else if (c == 2) {
          bucket.sum = BitsDouble(v);
        } else {
          OrdinalPoint& p = bucket.*kPoints[(c - 3) / kPointFields];
          switch ((c - 3) % kPointFields) {
            case 0: p.ordinal = (first + i) * LodPyramid::BucketSpan(k) + v; break;
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

// ---- format 2 ----

struct BlockEntry {
  uint64_t offset = 0;
  uint32_t length = 0;
};

// The footer of a format-2 object, checked against itself and the object's size.
struct Directory {
  uint64_t point_count = 0;
  bool steps_monotonic = true;
  uint32_t block_buckets = 0;
  std::vector<uint64_t> level_sizes;
  std::vector<std::vector<BlockEntry>> blocks;  // per level, per block
  uint64_t footer_offset = 0;
};

Status CheckConstants(uint32_t chunk, uint32_t fanout) {
  if (chunk != LodPyramid::kRawChunkPoints || fanout != LodPyramid::kFanout) {
    return Status::FailedPrecondition("LOD object was built with " + std::to_string(chunk) + " points per chunk and fanout " +
                                      std::to_string(fanout) + "; this build uses " +
                                      std::to_string(LodPyramid::kRawChunkPoints) + " and " +
                                      std::to_string(LodPyramid::kFanout) + ": rebuild it from the raw points");
  }
  return Status::Ok();
}

Status ParseDirectory(std::string_view footer, uint64_t footer_offset, Directory* dir) {
  ByteCursor c(footer);
  uint8_t monotonic = 0;
  uint32_t chunk = 0, fanout = 0, level_count = 0;
  std::string_view reserved;
  c.GetU64(&dir->point_count);
  c.GetU8(&monotonic);
  c.GetBytes(3, &reserved);
  c.GetU32(&chunk);
  c.GetU32(&fanout);
  c.GetU32(&level_count);
  c.GetU32(&dir->block_buckets);
  if (c.failed()) return Status::Corruption("LOD footer too short for its fixed fields");
  RUNTRACK_RETURN_IF_ERROR(CheckConstants(chunk, fanout));
  if (reserved != std::string_view("\0\0\0", 3) || monotonic > 1) return Status::Corruption("LOD footer flags are damaged");
  dir->steps_monotonic = monotonic != 0;
  const uint32_t bb = dir->block_buckets;
  if (bb == 0 || bb > kMaxLodBlockBuckets || (bb & (bb - 1)) != 0) {
    return Status::Corruption("LOD footer gives " + std::to_string(bb) + " buckets per block");
  }
  if (level_count > kMaxLodLevels || c.remaining() < uint64_t{level_count} * 4) {
    return Status::Corruption("LOD footer lists " + std::to_string(level_count) + " levels in " +
                              std::to_string(c.remaining()) + " bytes");
  }
  dir->level_sizes.resize(level_count);
  uint64_t block_total = 0;
  for (uint64_t& size : dir->level_sizes) {
    uint32_t n = 0;
    c.GetU32(&n);
    if (n == 0 || n > kMaxLodLevelBuckets) return Status::Corruption("LOD footer gives a level " + std::to_string(n) + " buckets");
    size = n;
    block_total += (size + bb - 1) / bb;
  }
  if (dir->point_count > uint64_t{kMaxLodLevelBuckets} * LodPyramid::kRawChunkPoints ||
      dir->level_sizes != LodLevelSizes(dir->point_count)) {
    return Status::Corruption("LOD footer's level sizes do not fit its point count " + std::to_string(dir->point_count));
  }
  if (c.remaining() != block_total * 12) {
    return Status::Corruption("LOD footer lists " + std::to_string(block_total) + " blocks in " +
                              std::to_string(c.remaining()) + " bytes");
  }
  uint64_t expected = kLodHeaderSize;
  dir->blocks.resize(level_count);
  for (size_t k = 0; k < level_count; ++k) {
    dir->blocks[k].resize((dir->level_sizes[k] + bb - 1) / bb);
    for (BlockEntry& e : dir->blocks[k]) {
      c.GetU64(&e.offset);
      c.GetU32(&e.length);
      if (e.offset != expected || e.length < kLodBlockHeaderSize || e.length > footer_offset - e.offset) {
        return Status::Corruption("LOD footer entries do not tile the object");
      }
      expected += e.length;
    }
  }
  if (expected != footer_offset) return Status::Corruption("LOD blocks do not end where the footer starts");
  dir->footer_offset = footer_offset;
  return Status::Ok();
}

// Checks and decodes block j of level k, given its bytes. `owner`, when given, holds those bytes
// (and outlives *out through it): a raw block is then used where it lies, without a copy.
Status DecodeBlock(std::string_view block, const Directory& dir, size_t k, uint64_t j, LodBlockData* out,
                   std::shared_ptr<const void> owner = nullptr) {
  // A level's only block is just "the level's block", as in format 1.
  const std::string where =
      "LOD level " + std::to_string(k) + " block" + (dir.blocks[k].size() > 1 ? " " + std::to_string(j) : "");
  const uint64_t first = j * dir.block_buckets;
  const uint64_t n = std::min<uint64_t>(dir.block_buckets, dir.level_sizes[k] - first);
  if (block.size() < kLodBlockHeaderSize) return Status::Corruption(where + " truncated");
  if (BlockCrc(block.data() + 4, block.size() - 4) != LoadLE<uint32_t>(block.data())) {
    return Status::Corruption(where + " fails its CRC-32C check");
  }
  const auto codec = static_cast<uint8_t>(block[20]);
  if (LoadLE<uint32_t>(block.data() + 4) != block.size() - kLodBlockHeaderSize || LoadLE<uint32_t>(block.data() + 8) != k ||
      LoadLE<uint32_t>(block.data() + 12) != first || LoadLE<uint32_t>(block.data() + 16) != n ||
      block.substr(21, 3) != std::string_view("\0\0\0", 3)) {
    return Status::Corruption(where + " header does not match the footer");
  }
  const std::string_view body = block.substr(kLodBlockHeaderSize);
  if (codec == static_cast<uint8_t>(LodCodec::kRaw)) {
    if (body.size() != n * kRawRecordSize) return Status::Corruption(where + " has the wrong size for its buckets");
    if (owner != nullptr && reinterpret_cast<uintptr_t>(body.data()) % alignof(LodBucket) == 0) {
      // The bytes are LodBuckets (layout asserted above); the buffer, from operator new, may hold
      // them (implicit object creation).
      out->buckets = std::launder(reinterpret_cast<const LodBucket*>(body.data()));
      out->count = n;
      out->storage = std::move(owner);
      return Status::Ok();
    }
    auto buckets = std::make_shared<std::vector<LodBucket>>(n);
    std::memcpy(static_cast<void*>(buckets->data()), body.data(), body.size());
    out->buckets = buckets->data();
    out->count = n;
    out->storage = std::move(buckets);
    return Status::Ok();
  }
  if (codec != static_cast<uint8_t>(LodCodec::kZstdPlanes)) {
    return Status::Corruption(where + " has unknown codec " + std::to_string(codec));
  }
  auto buckets = std::make_shared<std::vector<LodBucket>>();
  RUNTRACK_RETURN_IF_ERROR(DecodePlanes(body, where, k, first, n, buckets.get()));
  out->buckets = buckets->data();
  out->count = n;
  out->storage = std::move(buckets);
  return Status::Ok();
}

// The blocks of one format-2 object, fetched by byte range on demand. The coarse levels' bytes,
// read in one piece at open, are served from memory.
class LodObjectBlocks final : public LodBlockSource {
 public:
  LodObjectBlocks(std::shared_ptr<const ByteSource> source, Directory dir, uint64_t tail_offset, std::string tail)
      : source_(std::move(source)), dir_(std::move(dir)), tail_offset_(tail_offset), tail_(std::move(tail)) {}

  uint64_t block_buckets() const override { return dir_.block_buckets; }

  Status LoadBlock(size_t level, uint64_t block, LodBlockData* out) const override {
    if (level >= dir_.blocks.size() || block >= dir_.blocks[level].size()) {
      return Status::InvalidArgument("no LOD block " + std::to_string(block) + " of level " + std::to_string(level));
    }
    const BlockEntry& e = dir_.blocks[level][block];
    if (e.offset >= tail_offset_) {
      return DecodeBlock(std::string_view(tail_).substr(e.offset - tail_offset_, e.length), dir_, level, block, out);
    }
    if (auto whole = source_->View()) return DecodeBlock(whole->substr(e.offset, e.length), dir_, level, block, out);
    // Not zero-filled first (as std::string::resize would): the read overwrites every byte, and a
    // first chart reads 2.2 MB of level-1 blocks for 10^7 points (docs/PERFORMANCE.md).
    std::shared_ptr<char[]> bytes(new char[e.length]);
    RUNTRACK_RETURN_IF_ERROR(source_->ReadInto(e.offset, e.length, bytes.get()));
    const std::string_view view(bytes.get(), e.length);
    return DecodeBlock(view, dir_, level, block, out, std::move(bytes));
  }

 private:
  std::shared_ptr<const ByteSource> source_;
  Directory dir_;
  uint64_t tail_offset_;
  std::string tail_;
};

// ---- format 1: one zstd-planes block per level, 16-byte block headers, read whole ----

Result<LodPyramid> DecodeLodPyramidV1(const ByteSource& source) {
  std::string footer;
  uint64_t footer_offset = 0;
  RUNTRACK_RETURN_IF_ERROR(ReadObjectFooter(source, "LOD object", kLodHeaderSize, kLodFormatVersion1, kLodTrailerMagic,
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
  RUNTRACK_RETURN_IF_ERROR(CheckConstants(chunk, fanout));
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
  constexpr size_t kV1BlockHeaderSize = 16;
  std::vector<std::vector<LodBucket>> levels(level_count);
  {
    std::string body;  // with the header, which is checked although no data depends on it
    RUNTRACK_RETURN_IF_ERROR(source.ReadAt(0, footer_offset, &body));
    if (std::memcmp(body.data(), kLodMagic, 8) != 0 || LoadLE<uint32_t>(body.data() + 8) != kLodFormatVersion1 ||
        LoadLE<uint32_t>(body.data() + 12) != 0) {
      return Status::Corruption("LOD object header is damaged (magic, version or reserved field)");
    }
    for (size_t k = 0; k < level_count; ++k) {
      const std::string_view block(body.data() + entries[k].offset, entries[k].length);
      const std::string where = "LOD level " + std::to_string(k) + " block";
      if (block.size() < kV1BlockHeaderSize) return Status::Corruption(where + " truncated");
      if (util::Crc32c(0, block.data() + 4, block.size() - 4) != LoadLE<uint32_t>(block.data())) {
        return Status::Corruption(where + " fails its CRC-32C check");
      }
      if (LoadLE<uint32_t>(block.data() + 4) != block.size() - kV1BlockHeaderSize ||
          LoadLE<uint32_t>(block.data() + 8) != k || LoadLE<uint32_t>(block.data() + 12) != entries[k].buckets) {
        return Status::Corruption(where + " header does not match the footer");
      }
      RUNTRACK_RETURN_IF_ERROR(
          DecodePlanes(block.substr(kV1BlockHeaderSize), where, k, 0, entries[k].buckets, &levels[k]));
    }
  }
  RUNTRACK_ASSIGN_OR_RETURN(LodPyramid pyramid, LodPyramid::FromLevels(std::move(levels), monotonic != 0));
  if (pyramid.count() != point_count) {
    return Status::Corruption("LOD levels hold " + std::to_string(pyramid.count()) + " points, footer says " +
                              std::to_string(point_count));
  }
  return pyramid;
}

// Reads the trailer and footer of a format-2 object into *dir; *is_v1 when the object is format 1
// (the caller reads it with DecodeLodPyramidV1). Costs a format-2 object two reads.
Status ReadDirectory(const ByteSource& source, Directory* dir, bool* is_v1) {
  *is_v1 = false;
  std::string footer;
  uint64_t footer_offset = 0;
  Status s = ReadObjectFooter(source, "LOD object", kLodHeaderSize, kLodFormatVersion, kLodTrailerMagic, &footer,
                              &footer_offset);
  if (!s.ok()) {
    std::string trailer;
    if (source.size() >= kTrailerSize && source.ReadAt(source.size() - kTrailerSize, kTrailerSize, &trailer).ok() &&
        LoadLE<uint32_t>(trailer.data() + 16) == kLodFormatVersion1) {
      *is_v1 = true;
      return Status::Ok();
    }
    return s;
  }
  return ParseDirectory(footer, footer_offset, dir);
}

}  // namespace

std::string EncodeLodPyramid(const LodPyramid& pyramid, int zstd_level) {
  LodEncodeOptions options;
  options.zstd_level = zstd_level;
  return EncodeLodPyramid(pyramid, options);
}

std::string EncodeLodPyramid(const LodPyramid& pyramid, const LodEncodeOptions& options) {
  const uint32_t bb = options.block_buckets;
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
  PutU32(&footer, bb);
  for (size_t k = 0; k < pyramid.num_levels(); ++k) PutU32(&footer, static_cast<uint32_t>(pyramid.level(k).size()));
  for (size_t k = 0; k < pyramid.num_levels(); ++k) {
    const LodLevel level = pyramid.level(k);
    const LodCodec codec = k >= options.raw_from_level ? LodCodec::kRaw : LodCodec::kZstdPlanes;
    for (uint64_t first = 0; first < level.size(); first += bb) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(bb, level.size() - first));
      const uint64_t offset = out.size();
      out.append(kLodBlockHeaderSize, '\0');
      if (codec == LodCodec::kRaw) {
        AppendRaw(level, first, n, &out);
      } else {
        AppendPlanes(level, k, first, n, options.zstd_level, &out);
      }
      char* header = out.data() + offset;
      StoreLE<uint32_t>(header + 4, static_cast<uint32_t>(out.size() - offset - kLodBlockHeaderSize));
      StoreLE<uint32_t>(header + 8, static_cast<uint32_t>(k));
      StoreLE<uint32_t>(header + 12, static_cast<uint32_t>(first));
      StoreLE<uint32_t>(header + 16, static_cast<uint32_t>(n));
      header[20] = static_cast<char>(codec);
      StoreLE<uint32_t>(header, BlockCrc(header + 4, out.size() - offset - 4));
      PutU64(&footer, offset);
      PutU32(&footer, static_cast<uint32_t>(out.size() - offset));
    }
  }
  AppendFooterAndTrailer(footer, kLodFormatVersion, kLodTrailerMagic, &out);
  return out;
}

Result<LodPyramid> DecodeLodPyramid(const ByteSource& source) {
  Directory dir;
  bool is_v1 = false;
  RUNTRACK_RETURN_IF_ERROR(ReadDirectory(source, &dir, &is_v1));
  if (is_v1) return DecodeLodPyramidV1(source);
  std::string body;  // with the header, which is checked although no data depends on it
  RUNTRACK_RETURN_IF_ERROR(source.ReadAt(0, dir.footer_offset, &body));
  if (std::memcmp(body.data(), kLodMagic, 8) != 0 || LoadLE<uint32_t>(body.data() + 8) != kLodFormatVersion ||
      LoadLE<uint32_t>(body.data() + 12) != 0) {
    return Status::Corruption("LOD object header is damaged (magic, version or reserved field)");
  }
  std::vector<std::vector<LodBucket>> levels(dir.level_sizes.size());
  for (size_t k = 0; k < levels.size(); ++k) {
    levels[k].reserve(dir.level_sizes[k]);
    for (uint64_t j = 0; j < dir.blocks[k].size(); ++j) {
      const BlockEntry& e = dir.blocks[k][j];
      LodBlockData block;
      RUNTRACK_RETURN_IF_ERROR(DecodeBlock(std::string_view(body).substr(e.offset, e.length), dir, k, j, &block));
      levels[k].insert(levels[k].end(), block.buckets, block.buckets + block.count);
    }
  }
  RUNTRACK_ASSIGN_OR_RETURN(LodPyramid pyramid, LodPyramid::FromLevels(std::move(levels), dir.steps_monotonic));
  if (pyramid.count() != dir.point_count) {
    return Status::Corruption("LOD levels hold " + std::to_string(pyramid.count()) + " points, footer says " +
                              std::to_string(dir.point_count));
  }
  return pyramid;
}

Result<LodPyramid> OpenLodPyramid(std::shared_ptr<const ByteSource> source, LodPointReader fallback,
                                  uint64_t preload_bytes) {
  Directory dir;
  bool is_v1 = false;
  RUNTRACK_RETURN_IF_ERROR(ReadDirectory(*source, &dir, &is_v1));
  if (is_v1) return DecodeLodPyramidV1(*source);
  const size_t levels = dir.level_sizes.size();
  if (levels == 0) return LodPyramid();
  // The coarsest levels whose blocks fit preload_bytes (at least the top one), read in one piece:
  // levels are stored finest first, so they are the bytes just before the footer.
  size_t preload_from = levels - 1;
  while (preload_from > 0 && dir.footer_offset - dir.blocks[preload_from - 1].front().offset <= preload_bytes) {
    --preload_from;
  }
  const uint64_t tail_offset = dir.blocks[preload_from].front().offset;
  std::string tail;
  RUNTRACK_RETURN_IF_ERROR(source->ReadAt(tail_offset, dir.footer_offset - tail_offset, &tail));
  const uint64_t count = dir.point_count;
  const bool monotonic = dir.steps_monotonic;
  auto blocks = std::make_shared<LodObjectBlocks>(std::move(source), std::move(dir), tail_offset, std::move(tail));
  return LodPyramid::FromBlockSource(count, monotonic, std::move(blocks), preload_from, std::move(fallback));
}

Status WriteLodFile(const std::filesystem::path& path, const LodPyramid& pyramid, bool sync) {
  return util::WriteFileAtomic(path, EncodeLodPyramid(pyramid), sync);
}

}  // namespace runtrack::segments
