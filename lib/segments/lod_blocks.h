// Persisted LOD blocks: a LodPyramid's levels serialised beside a series' segments, so the first
// chart after a restart reads a few blocks of this object instead of every raw point. Layout in
// docs/FORMATS-segments.md ("LOD object"):
//
//   object  := header block* footer trailer                (footer + trailer as in object_footer.h)
//   header  := "RTLODPY\0" u32 format_version (2) u32 reserved                        (16 bytes)
//   block   := u32 crc32c u32 body_length u32 level u32 first_bucket u32 bucket_count
//              u8 codec u8[3] reserved body                    (a run of one level's buckets)
//   footer  := u64 point_count u8 steps_monotonic u8[3] u32 raw_chunk_points u32 fanout
//              u32 level_count u32 block_buckets, per level { u32 bucket_count },
//              per block { u64 offset u32 length }            (levels finest first, as the blocks)
//
// Every bucket field is stored exactly (bit for bit), so a decoded pyramid's queries and later
// Append()s match the original's. Format 1 (one zstd block per level) is still read, whole.
//
// Thread safety: pure functions; a pyramid from OpenLodPyramid loads blocks under its own lock.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "metrics/lod_pyramid.h"
#include "runtrack/status.h"
#include "segments/byte_source.h"

namespace runtrack::segments {

inline constexpr char kLodMagic[8] = {'R', 'T', 'L', 'O', 'D', 'P', 'Y', '\0'};
inline constexpr char kLodTrailerMagic[8] = {'R', 'T', 'L', 'O', 'D', 'E', 'N', 'D'};
inline constexpr uint32_t kLodFormatVersion = 2;
inline constexpr uint32_t kLodFormatVersion1 = 1;  // still read (DecodeLodPyramid, OpenLodPyramid)
inline constexpr size_t kLodHeaderSize = 16;
inline constexpr size_t kLodBlockHeaderSize = 24;
// Bounds a reader enforces before allocating: 2^22 level-0 buckets is 2^29 (537 M) points.
inline constexpr uint32_t kMaxLodLevelBuckets = 1u << 22;
inline constexpr uint32_t kMaxLodLevels = 16;
inline constexpr uint32_t kMaxLodBlockBuckets = 1u << 16;

// How a block's buckets are stored.
enum class LodCodec : uint8_t {
  // 28 columns (u64), delta/XOR against the previous bucket, split into byte planes, one zstd
  // frame: 25-60 B per bucket, decoded at ~0.6 GB/s.
  kZstdPlanes = 0,
  // 224-byte little-endian records, the in-memory LodBucket: 7x larger, decoded by one memcpy.
  kRaw = 1,
};

struct LodEncodeOptions {
  int zstd_level = 3;
  // Buckets per block (a power of two): the unit a lazy reader fetches and decodes. 512 level-0
  // buckets are 64 Ki points, ~115 KB decoded: what a query's ragged edge costs at most per level.
  uint32_t block_buckets = 512;
  // Levels >= this are stored kRaw, the finer ones kZstdPlanes. Level 1 is what a 1000-point chart
  // of a 10^6..10^7-point series reads whole, so storing it raw makes the first chart after a
  // restart cost about what a warm one does (docs/PERFORMANCE.md); levels >= 1 hold 1/7 of the
  // buckets, so this adds ~0.2 B/point. kMaxLodLevels: everything compressed.
  size_t raw_from_level = 1;
};

std::string EncodeLodPyramid(const LodPyramid& pyramid, int zstd_level = 3);
std::string EncodeLodPyramid(const LodPyramid& pyramid, const LodEncodeOptions& options);

// Reads and checks every block: an in-memory pyramid. Corruption for truncated or damaged bytes
// (CRC, structure); FailedPrecondition for a pyramid built with a different kRawChunkPoints or
// kFanout.
Result<LodPyramid> DecodeLodPyramid(const ByteSource& source);

// A lazily loaded pyramid (LodPyramid::FromBlockSource): reads the trailer, the footer and the
// coarsest levels whose blocks fit `preload_bytes` (always the top level) now, every other block
// on first use, through `source` (kept). A block that turns out damaged later is rebuilt from
// `fallback`'s raw points. Errors as DecodeLodPyramid's for what is read now. A format-1 object
// is decoded whole.
inline constexpr uint64_t kLodPreloadBytes = 16 << 10;
Result<LodPyramid> OpenLodPyramid(std::shared_ptr<const ByteSource> source, LodPointReader fallback,
                                  uint64_t preload_bytes = kLodPreloadBytes);

// EncodeLodPyramid, then util::WriteFileAtomic (readers see the old object or the new one).
Status WriteLodFile(const std::filesystem::path& path, const LodPyramid& pyramid, bool sync = true);

}  // namespace runtrack::segments
