#include "catalog/metric_table_assembly.h"

#include <algorithm>
#include <cstdint>
#include <span>

#include <fmt/format.h>

#include "metrics/step_join.h"
#include "metrics/streamed_step_join.h"

namespace runtrack::catalog {

namespace {

DownsampleOptions OptionsFor(const MetricQuery& query) {
  DownsampleOptions options;
  options.step_min = query.step_min;
  options.step_max = query.step_max;
  options.x_axis = query.x_axis;
  if (query.downsample) {
    options.target_points = *query.downsample;
    options.method = query.method;
  } else {
    options.method = DownsampleMethod::kNone;
    options.target_points = 1;  // unused by kNone, but must be valid
  }
  return options;
}

// Rows, per-row wall time and stage, totals and the paging position, from the join.
void FillTable(const std::vector<TableSeries>& series, std::vector<std::string> stages, StepJoin join,
               const MetricQuery& query, MetricTable* table) {
  const bool stopped_early = join.next_step && !query.count_past_max_rows;
  if ((!query.downsample || !table->downsampled) && !stopped_early) table->total_steps = join.total_steps;
  table->truncated = join.next_step.has_value();
  table->next_step = join.next_step;
  table->stages = std::move(stages);
  table->rows.columns.reserve(series.size() + 1);
  table->rows.columns.push_back("step");
  for (const TableSeries& s : series) table->rows.columns.emplace_back(s.name);
  const size_t rows = join.steps.size();
  table->wall_time.reserve(rows);
  table->stage_index.reserve(rows);
  table->stage.reserve(rows);
  for (const MetricPoint& p : join.row_points) {
    table->wall_time.push_back(p.wall_time);
    const uint32_t stage = p.stage < table->stages.size() ? p.stage : 0;  // unknown id: no stage
    table->stage_index.push_back(stage);
    table->stage.push_back(table->stages[stage]);
  }
  table->rows.steps = std::move(join.steps);
  table->rows.values = std::move(join.values);
}

// Every point in range, merged while it is read, so memory is O(rows returned), not O(points).
Result<StepJoin> JoinAllPoints(const std::vector<TableSeries>& series, const MetricQuery& query,
                               MetricTable* table) {
  std::vector<StoredSeries> stored;
  stored.reserve(series.size());
  for (const TableSeries& s : series) stored.push_back({s.pyramid, s.read});
  RUNTRACK_ASSIGN_OR_RETURN(StreamedStepJoin streamed,
                            JoinOnStepStreamed(stored, query.step_min.value_or(INT64_MIN),
                                               query.step_max.value_or(INT64_MAX), query.max_rows,
                                               query.count_past_max_rows));
  table->points_in_range = streamed.points_in_range;
  return std::move(streamed.join);
}

// Each series downsampled on its own (or, for series whose steps go backwards, sorted), then joined.
Result<StepJoin> JoinDownsampled(const std::vector<TableSeries>& series, const MetricQuery& query,
                                 const MetricReadProgress& progress, MetricTable* table) {
  const DownsampleOptions options = OptionsFor(query);
  std::vector<DownsampleResult> results;
  results.reserve(series.size());
  for (const TableSeries& s : series) {
    RUNTRACK_ASSIGN_OR_RETURN(DownsampleResult r, Downsample(*s.pyramid, s.read, options));
    table->points_in_range += r.points_in_range;
    if (query.downsample && r.points.size() < r.points_in_range) table->downsampled = true;
    results.push_back(std::move(r));
    if (progress) progress(results.size(), series.size());
  }
  std::vector<std::span<const MetricPoint>> inputs;
  inputs.reserve(results.size());
  for (const DownsampleResult& r : results) inputs.emplace_back(r.points);
  return JoinOnStep(inputs, query.max_rows);
}

}  // namespace

Status CheckMetricQuery(const MetricQuery& query) {
  if (query.step_min && query.step_max && *query.step_min > *query.step_max)
    return Status::InvalidArgument(
        fmt::format("step_min {} is greater than step_max {}", *query.step_min, *query.step_max));
  if (query.downsample && *query.downsample == 0)
    return Status::InvalidArgument("downsample must be at least 1 point");
  if (query.downsample && query.max_rows != 0)
    return Status::InvalidArgument("max_rows applies only to queries without downsample");
  return Status::Ok();
}

Status AssembleMetricTable(const std::vector<TableSeries>& series, std::vector<std::string> stages,
                           const MetricQuery& query, const MetricReadProgress& progress, MetricTable* table) {
  if (progress) progress(0, series.size());
  const bool monotonic =
      std::all_of(series.begin(), series.end(), [](const TableSeries& s) { return s.pyramid->steps_monotonic(); });
  Result<StepJoin> join = !query.downsample && monotonic ? JoinAllPoints(series, query, table)
                                                         : JoinDownsampled(series, query, progress, table);
  if (!join.ok()) return join.status();
  if (progress && !query.downsample && monotonic) progress(series.size(), series.size());
  FillTable(series, std::move(stages), std::move(join).value(), query, table);
  return Status::Ok();
}

}  // namespace runtrack::catalog
