// Persisted LOD blocks: a LodPyramid's levels serialised beside a series' segments, so the first
// chart after a restart reads this small object instead of every raw point. Layout in
// docs/FORMATS-segments.md:
//
//   object  := header level_block* footer trailer       (footer + trailer as in object_footer.h)
//   header  := "RTLODPY\0" u32 format_version u32 reserved                          (16 bytes)
//   level_block := u32 crc32c u32 body_length u32 level u32 bucket_count body (zstd frame)
//   footer  := u64 point_count u8 steps_monotonic u8[3] u32 raw_chunk_points u32 fanout
//              u32 level_count, per level { u64 offset u32 length u32 bucket_count }
//
// Every bucket field is stored exactly (bit for bit), so DecodeLodPyramid gives a pyramid whose
// queries and later Append()s match the original's. The footer records the pyramid's chunk size
// and fanout; an object written with other constants is refused (FailedPrecondition), and the
// caller rebuilds from raw points.
//
// Thread safety: pure functions.
#pragma once

#include <filesystem>
#include <string>

#include "metrics/lod_pyramid.h"
#include "runtrack/status.h"
#include "segments/byte_source.h"

namespace runtrack::segments {

inline constexpr char kLodMagic[8] = {'R', 'T', 'L', 'O', 'D', 'P', 'Y', '\0'};
inline constexpr char kLodTrailerMagic[8] = {'R', 'T', 'L', 'O', 'D', 'E', 'N', 'D'};
inline constexpr uint32_t kLodFormatVersion = 1;
inline constexpr size_t kLodHeaderSize = 16;
inline constexpr size_t kLodLevelHeaderSize = 16;
// Bounds a reader enforces before allocating: 2^22 level-0 buckets is 2^29 (537 M) points.
inline constexpr uint32_t kMaxLodLevelBuckets = 1u << 22;
inline constexpr uint32_t kMaxLodLevels = 16;

std::string EncodeLodPyramid(const LodPyramid& pyramid, int zstd_level = 3);

// Corruption for truncated or damaged bytes (CRC, structure); FailedPrecondition for a pyramid
// built with a different kRawChunkPoints or kFanout.
Result<LodPyramid> DecodeLodPyramid(const ByteSource& source);

// EncodeLodPyramid, then util::WriteFileAtomic (readers see the old object or the new one).
Status WriteLodFile(const std::filesystem::path& path, const LodPyramid& pyramid, bool sync = true);

}  // namespace runtrack::segments
