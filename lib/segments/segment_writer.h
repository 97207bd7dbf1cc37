// Seals points into a segment object (format in segment_format.h / docs/FORMATS-segments.md).
// The bytes are built in memory: a segment holds one series' indexed points, which the caller
// already has in memory, and an object store upload wants the whole body anyway.
//
// Thread safety: pure functions.
#pragma once

#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "runtrack/metric_point.h"
#include "runtrack/status.h"
#include "segments/value_column.h"

namespace runtrack::segments {

struct SegmentWriterOptions {
  // Points per block: the unit of a range read. A multiple of LodPyramid::kRawChunkPoints (128)
  // keeps every raw chunk a pyramid query asks for inside one block. 1..65536. 4096 (about 20 KB
  // for a training curve, one range GET) measured 0.13 B/point smaller than 1024 and decodes as
  // fast; a query's two ragged edges then decode at most 2 x 4096 points (~0.1 ms).
  uint32_t block_points = 4096;
  // Value codec of every block; unset (the default) picks per block whichever is smaller. Neither
  // codec wins everywhere: Gorilla is smaller on float32-valued curves, XOR + byte planes + zstd
  // on float64 noise (measurements in docs/FORMATS-segments.md).
  std::optional<ValueCodec> value_codec;
  int zstd_level = 3;
  // Ordinal of points[0] within its series, for a series stored as several segments.
  uint64_t first_ordinal = 0;
};

// The points of one series in arrival order, with the stage names their `stage` fields index.
struct SegmentContent {
  std::string_view series_name;
  std::span<const std::string> stages;
  std::span<const MetricPoint> points;
};

// InvalidArgument for a name longer than 4096 bytes, more than 2^20 stages, a point whose stage
// is not an index into `stages`, block_points outside 1..65536, or an ordinal range that would
// overflow. An empty series is valid (a segment with no blocks).
Result<std::string> EncodeSegment(const SegmentContent& content, const SegmentWriterOptions& options = {});

// EncodeSegment, then util::WriteFileAtomic: readers see no file or the whole sealed segment,
// and with `sync` it survives a crash once this returns.
Status WriteSegmentFile(const std::filesystem::path& path, const SegmentContent& content,
                        const SegmentWriterOptions& options = {}, bool sync = true);

}  // namespace runtrack::segments
