// Downsampling options and results for metric queries, and the multi-metric row view.
//
// A chart asks for one or more metrics of a run over an optional step range, with a target number
// of points N. Each metric is downsampled on its own values (LTTB, M4 or MinMax) from its LOD
// pyramid, so the cost is O(N), not O(series length); the row view then joins the chosen steps.
//
// Guarantees every method keeps:
// - Points come back ordered by step; when a step was logged more than once, the later-logged value
//   is the one returned (the project's rule for reads by step).
// - NaN and +/-Inf are never merged into min/max, but they are never dropped silently either: the
//   methods surface at least one non-finite point for every pixel bucket that holds any.
// - A step range that misses the data gives an empty result, not an error.
//
// Thread safety: plain values and pure functions; safe from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "runtrack/metric_point.h"
#include "runtrack/status.h"

namespace runtrack {

enum class DownsampleMethod {
  kLttb,    // Largest-Triangle-Three-Buckets: at most N points, shape-preserving (default)
  kM4,      // per pixel bucket: first, last, min, max; N/4 pixel buckets
  kMinMax,  // per pixel bucket: min and max; N/2 pixel buckets
  kNone,    // every point in the range
};

// Which coordinate is the chart's x axis. It decides the geometry LTTB and the pixel buckets of
// M4/MinMax work on; points are still returned ordered by step.
enum class XAxis {
  kStep,
  kWallTime,      // seconds since the Unix epoch
  kRelativeTime,  // wall_time minus the wall_time of the series' first logged point
};

// "lttb", "m4", "minmax", "none" (exact, lower case). InvalidArgument names the valid values.
Result<DownsampleMethod> ParseDownsampleMethod(std::string_view text);
// "step", "wall_time" (alias "time"), "relative_time". InvalidArgument names the valid values.
Result<XAxis> ParseXAxis(std::string_view text);
std::string_view DownsampleMethodName(DownsampleMethod method);
std::string_view XAxisName(XAxis axis);

struct DownsampleOptions {
  // Inclusive step bounds; unset means unbounded. step_min > step_max is InvalidArgument.
  std::optional<int64_t> step_min;
  std::optional<int64_t> step_max;
  XAxis x_axis = XAxis::kStep;
  // Target point count N. 0 is InvalidArgument. When the range holds at most N points they are all
  // returned. LTTB with N = 1 returns the first point and N = 2 the first and last; M4 and MinMax
  // use at least one pixel bucket, so they may return up to 4 (resp. 2) points for tiny N.
  // Non-finite points surfaced per pixel bucket may add up to N points on top of the target.
  size_t target_points = 1000;
  DownsampleMethod method = DownsampleMethod::kLttb;
};

struct DownsampleResult {
  std::vector<MetricPoint> points;  // ordered by step, one point per step
  uint64_t points_in_range = 0;     // logged points with a step in range (repeated steps counted)
  int level_used = -1;              // LOD pyramid level the answer came from; -1 = raw points
};

// Runicorn's `columns`/`rows` view of several metrics: one row per step chosen by any metric.
struct MetricRows {
  std::vector<std::string> columns;  // "step" first, then the metric names in the order given
  std::vector<int64_t> steps;        // ascending, unique
  // values[r][m] is metric m (columns[m + 1]) at steps[r]; nullopt when that metric has no chosen
  // point at that step. NaN/Inf stay as they are (the wire layer maps them to null).
  std::vector<std::vector<std::optional<double>>> values;
};

// Joins per-metric results on step: the union of every metric's chosen steps, ascending. It is the
// same join Catalog::QueryMetrics uses; for a chart prefer that, which also reads every metric
// from one ingest pass and gives each row's wall time and stage.
MetricRows BuildMetricRows(const std::vector<std::pair<std::string, DownsampleResult>>& metrics);

}  // namespace runtrack
