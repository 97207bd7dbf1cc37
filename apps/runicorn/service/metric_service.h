// The query behind every chart endpoint (metrics, metrics_step, v2 metrics/fast, exports): several
// metrics of one run over an optional step range, each downsampled on its own values from its LOD
// pyramid (Catalog::DownsampleMetric, O(target) per metric), then joined on step.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "runtrack/catalog.h"
#include "runtrack/downsample.h"
#include "runtrack/status.h"
#include "server/http_types.h"

namespace runicorn::server {

struct MetricTableQuery {
  std::vector<std::string> metrics;       // empty: every metric of the run
  std::optional<int64_t> step_min, step_max;
  std::optional<size_t> downsample;       // unset: every point (method none)
  runtrack::DownsampleMethod method = runtrack::DownsampleMethod::kLttb;
  runtrack::XAxis x_axis = runtrack::XAxis::kStep;
  bool want_wall_time = false;            // fill MetricTable::wall_time
};

struct MetricTable {
  runtrack::MetricRows rows;
  std::vector<std::string> missing_metrics;  // asked for but not logged (yet) by the run
  std::vector<double> wall_time;             // per row: wall time of the first metric with a point
  std::vector<std::string> stage;            // per row: stage name of that point ("" = none)
  uint64_t points_in_range = 0;              // logged points in range over all returned metrics
  bool downsampled = false;                  // some metric returned fewer points than it has in range
};

// Parses downsample / method / x_axis / metrics (or metric_names) / step_range from `q` into a
// query; malformed values are InvalidArgument naming the parameter (answered with 422).
runtrack::Result<MetricTableQuery> ParseMetricTableQuery(const QueryParams& q);

// Progress of QueryMetricTable: (metrics read, metrics to read), first (0, n), then after each
// metric; `runicorn export` draws its bar from it.
using MetricReadProgress = std::function<void(uint64_t read, uint64_t total)>;

runtrack::Result<MetricTable> QueryMetricTable(const runtrack::Catalog& catalog, const std::string& run_id,
                                               const MetricTableQuery& query,
                                               const MetricReadProgress& progress = {});

}  // namespace runicorn::server
