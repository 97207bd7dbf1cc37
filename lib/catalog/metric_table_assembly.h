// The part of a chart query that does not depend on where a run's series are kept: checking the
// query, joining the series' points (streamed or downsampled) and filling the MetricTable. Shared
// by Catalog::QueryMetrics (series in this store's catalog) and SealedRunReader (a run known only
// by its sealed objects, runtrack/sealed_run.h), so both give bit-identical tables for the same
// points.
//
// Thread safety: pure functions; the caller keeps the pyramids and points unchanged meanwhile.
#pragma once

#include <string_view>
#include <vector>

#include "metrics/downsample.h"
#include "metrics/lod_pyramid.h"
#include "runtrack/metric_query.h"
#include "runtrack/status.h"

namespace runtrack::catalog {

// InvalidArgument for step_min > step_max, downsample = 0, or max_rows with downsample.
Status CheckMetricQuery(const MetricQuery& query);

// One series of the table, in column order.
struct TableSeries {
  std::string_view name;
  const LodPyramid* pyramid;  // covers exactly the series' points
  RawPointReader read;        // its points by ordinal
};

// Fills table->rows, wall_time, stage(s), points_in_range, total_steps, downsampled, truncated and
// next_step; missing_metrics is left as the caller set it. `stages`: the run's stage names ("" at
// 0). Errors of the readers are passed through.
Status AssembleMetricTable(const std::vector<TableSeries>& series, std::vector<std::string> stages,
                           const MetricQuery& query, const MetricReadProgress& progress, MetricTable* table);

}  // namespace runtrack::catalog
