// Sealed segment object: the compressed points of one metric series (or of a contiguous slice of
// its arrival order), immutable once written, meant to be a local file or an object in S3. Byte
// layout in docs/FORMATS-segments.md:
//
//   object  := header block* footer trailer
//   header  := "RTSEGMT\0" u32 format_version u32 reserved           (16 bytes)
//   footer  := series name, stage dictionary, one index entry per block (crc in the trailer)
//   trailer := u64 footer_offset u32 footer_length u32 footer_crc32c
//              u32 format_version u32 reserved "RTSEGEND"              (32 bytes, at the end)
//
// A reader needs no listing or side file: it fetches the trailer (last 32 bytes), then the footer,
// then only the byte ranges of the blocks that overlap the ordinals or steps it wants.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace runtrack::segments {

inline constexpr char kSegmentMagic[8] = {'R', 'T', 'S', 'E', 'G', 'M', 'T', '\0'};
inline constexpr char kSegmentTrailerMagic[8] = {'R', 'T', 'S', 'E', 'G', 'E', 'N', 'D'};
inline constexpr uint32_t kSegmentFormatVersion = 1;
inline constexpr size_t kSegmentHeaderSize = 16;
inline constexpr size_t kIndexEntrySize = 40;
// Bounds a reader enforces before allocating anything a footer asks for.
inline constexpr size_t kMaxSeriesNameBytes = 4096;
inline constexpr uint32_t kMaxStages = 1u << 20;

// Where one block sits and what it covers, as listed in the footer.
struct BlockIndexEntry {
  uint64_t offset = 0;         // of the block's header, from the start of the object
  uint32_t length = 0;         // header + body bytes
  uint32_t count = 0;          // points
  uint64_t first_ordinal = 0;  // arrival ordinal of the block's first point
  int64_t step_min = 0;        // smallest and largest step in the block (whatever their order)
  int64_t step_max = 0;
};

// Everything the footer says about the segment.
struct SegmentInfo {
  std::string series_name;
  std::vector<std::string> stages;  // the dictionary that points' `stage` fields index
  uint64_t first_ordinal = 0;       // ordinal of the segment's first point within the series
  uint64_t point_count = 0;
  bool steps_nondecreasing = true;  // every step >= the one logged before it, within the segment
  std::vector<BlockIndexEntry> blocks;
};

}  // namespace runtrack::segments
