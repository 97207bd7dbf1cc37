// Downsample(): answers one metric query from a series' LodPyramid plus its raw points.
//
// Path taken (reported in DownsampleResult::level_used):
// - Raw (-1): the range holds <= 8*N points, no pyramid level has >= 4*N buckets in the range, the
//   method is kNone, or the steps are not monotonic. Raw points are read by ordinal, filtered to
//   the step range, ordered by step (stable) and a repeated step keeps its later-logged value;
//   LTTB on them is the textbook algorithm, point for point.
// - Pyramid (k >= 0): the coarsest level k with >= 4*N buckets overlapping the range. The range is
//   covered by level-k buckets plus finer buckets and raw points at its two ragged edges (at most
//   two raw chunks are read), so the cost is O(N * kFanout), independent of the series length.
//   LTTB runs on each bucket's min and max points plus the range's first and last points; M4 and
//   MinMax fold whole buckets into pixel buckets (a bucket lands in the pixel of its first point).
//   Because buckets summarise every logged point, a value later superseded by a repeated step can
//   still be chosen there; the result keeps only the later point of any repeated step it chose.
//
// Cost of the non-monotonic case: the whole series is read (O(length)); series whose steps go
// backwards (e.g. a run resumed from an earlier checkpoint) are expected to be rare.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "metrics/lod_pyramid.h"
#include "runtrack/downsample.h"
#include "runtrack/metric_point.h"
#include "runtrack/status.h"

namespace runtrack {

// Fills *out with exactly the points of ordinals [begin_ordinal, end_ordinal), in arrival order.
// A storage layer implements it by reading the raw chunks (of LodPyramid::kRawChunkPoints) that
// cover the range. Returning a different number of points is reported as Corruption.
using RawPointReader =
    std::function<Status(uint64_t begin_ordinal, uint64_t end_ordinal, std::vector<MetricPoint>* out)>;

// InvalidArgument for target_points == 0, step_min > step_max, or an empty reader. Errors from the
// reader are passed through.
Result<DownsampleResult> Downsample(const LodPyramid& pyramid, const RawPointReader& read_raw,
                                    const DownsampleOptions& options);

}  // namespace runtrack
