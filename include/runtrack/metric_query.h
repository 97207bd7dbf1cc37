// Chart and live-stream queries over the metrics of one run (Catalog::QueryMetrics,
// Catalog::ReadMetricSince).
//
// A chart asks for several metrics over an optional step range, each downsampled on its own values
// (or not at all), joined on step into one table. A live stream asks for the points of one metric
// logged since it last asked, in logging order, at a cost proportional to the new points.
//
// Thread safety: plain values; safe to use from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "runtrack/downsample.h"
#include "runtrack/metric_point.h"

namespace runtrack {

struct MetricQuery {
  std::vector<std::string> metrics;  // in column order; empty: every metric of the run, by name
  std::optional<int64_t> step_min;   // inclusive; unset = unbounded. step_min > step_max is InvalidArgument
  std::optional<int64_t> step_max;
  std::optional<size_t> downsample;  // target points per metric (>= 1); unset: every point in range
  DownsampleMethod method = DownsampleMethod::kLttb;  // used only with `downsample`
  XAxis x_axis = XAxis::kStep;                        // geometry of the downsampling only
  // Row cap for queries without `downsample` (with it, a non-zero cap is InvalidArgument: pages of
  // a downsampled answer would not concatenate to it). 0 = unlimited.
  uint64_t max_rows = 0;
  // With max_rows: false lets the query stop reading at the first step past the cap, so a page
  // costs O(rows returned) instead of O(points in range). total_steps is then unset and
  // points_in_range covers only what was read. (Pagers set it after their first page.)
  bool count_past_max_rows = true;
};

// One table for a chart: every row is a step chosen by at least one metric.
struct MetricTable {
  // columns: "step", then the returned metrics in query order (unknown names and repeats removed).
  // steps ascending and unique; values[r][m] is metric m at steps[r] (nullopt: no chosen point).
  MetricRows rows;
  // Per row, from the point that decides the row: among the metrics' points at that step, the one
  // logged last (largest wall time; on a tie the earlier column). Within one metric a repeated step
  // already resolved to its later-logged point, value and stage together.
  std::vector<double> wall_time;       // absolute, seconds since the Unix epoch
  std::vector<uint32_t> stage_index;   // index into `stages`
  std::vector<std::string> stage;      // stages[stage_index[r]]; "" = no stage
  std::vector<std::string> stages;     // the run's stage names; stages[0] = ""
  std::vector<std::string> missing_metrics;  // asked for but not logged (yet) by the run
  uint64_t points_in_range = 0;  // logged points in range over the returned metrics (repeats counted)
  // Distinct steps in range over the returned metrics. Set when the query is not downsampled or
  // no metric lost a point to downsampling; otherwise unset, because counting it would cost a read
  // of every point in range, which a downsampled query exists to avoid.
  std::optional<uint64_t> total_steps;
  // Some metric returned fewer points than it logged in range (superseded repeats of a step count
  // too). Never set without `downsample`.
  bool downsampled = false;
  // More rows than max_rows were in range: the first max_rows are returned and next_step is the
  // first step not returned; asking again with step_min = next_step continues exactly there.
  bool truncated = false;
  std::optional<int64_t> next_step;
};

// Progress of QueryMetrics: (metrics read, metrics to read), first (0, n), then after each metric.
// Called while the query holds the catalog's read lock: it must be quick and must not call
// Refresh() or a deletion on the same catalog (that would deadlock).
using MetricReadProgress = std::function<void(uint64_t read, uint64_t total)>;

// Where a live reader of one series stands: the number of points (in logging order) it has seen.
// A default cursor is the beginning of the series. Positions stay valid across catalog reopenings
// and rebuilds, since the catalog re-derives the same series from the same journal.
struct MetricCursor {
  uint64_t position = 0;
  friend bool operator==(const MetricCursor&, const MetricCursor&) = default;
};

struct MetricChunk {
  std::vector<MetricPoint> points;        // logging order; repeated and backward steps as logged
  std::vector<std::string> stages = {""};  // the run's stage names; MetricPoint::stage indexes it
  MetricCursor cursor;                    // after the last point returned: pass it to the next call
};

}  // namespace runtrack
