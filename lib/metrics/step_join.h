// JoinOnStep: the one join of several step-ordered series into rows, used by chart queries
// (Catalog::QueryMetrics) and by BuildMetricRows.
//
// Thread safety: a pure function.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "runtrack/metric_point.h"

namespace runtrack {

struct StepJoin {
  std::vector<int64_t> steps;  // ascending, unique; the first max_rows of the union of all steps
  // values[r][m]: series m at steps[r]; nullopt when series m has no point at that step.
  std::vector<std::vector<std::optional<double>>> values;
  // The point that decides row r's wall time and stage: of the points at that step, the one logged
  // last (largest wall time; on a tie the earlier series). A series repeating a step within itself
  // contributes its later point (input order), value and stage together.
  std::vector<MetricPoint> row_points;
  uint64_t total_steps = 0;  // distinct steps over all series, before the max_rows cap
  std::optional<int64_t> next_step;  // the first step the cap left out
};

// `series[m]` must be ordered by step (a repeated step is allowed; its later point wins).
// max_rows = 0 keeps every row. Cost O(P * M) for P input points in M series (one merge each).
StepJoin JoinOnStep(std::span<const std::span<const MetricPoint>> series, uint64_t max_rows = 0);

}  // namespace runtrack
