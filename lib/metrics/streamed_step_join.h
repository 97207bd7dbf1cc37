// JoinOnStepStreamed: the join of step_join.h over stored series, reading their points in batches
// instead of holding them all, for row-capped queries without downsampling.
//
// It gives exactly what reading every series' points in range (one point per step, the later-
// logged winning) and calling JoinOnStep would, but its memory is O(max_rows * series + batch),
// whatever the number of points in range; time stays O(points in range). It needs series whose
// steps never go backwards (LodPyramid::steps_monotonic()), so step order is arrival order.
//
// Thread safety: none of its own; the caller keeps the pyramids and stored points unchanged.
#pragma once

#include <cstdint>
#include <span>

#include "metrics/downsample.h"
#include "metrics/lod_pyramid.h"
#include "metrics/step_join.h"
#include "runtrack/status.h"

namespace runtrack {

struct StoredSeries {
  const LodPyramid* pyramid = nullptr;  // must be steps_monotonic()
  RawPointReader read;
};

struct StreamedStepJoin {
  StepJoin join;
  uint64_t points_in_range = 0;  // over all series, repeated steps counted
};

// Rows for steps in [step_min, step_max]; max_rows = 0 keeps every row. With `count_past_max_rows`
// false the join stops at the first step past max_rows (join.next_step is still set) and
// total_steps / points_in_range count only what was read. InvalidArgument for a series that is
// not monotonic; errors of the readers are passed through.
Result<StreamedStepJoin> JoinOnStepStreamed(std::span<const StoredSeries> series, int64_t step_min,
                                            int64_t step_max, uint64_t max_rows,
                                            bool count_past_max_rows = true);

}  // namespace runtrack
