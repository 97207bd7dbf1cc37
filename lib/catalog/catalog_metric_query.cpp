// Catalog::QueryMetrics: several metrics of one run joined on step, from one ingest pass.
//
// Consistency: an ingest pass commits its points, extends the pyramids and publishes the run
// record under lod_mu held exclusively. The query holds lod_mu shared from reading the record to
// the last metric's points, so the record, the metric list and every series it reads belong to the
// same pass. Pyramids missing for a series are built first under the exclusive lock, then the
// query starts over under the shared one (a pyramid is only ever dropped with its run).
#include <algorithm>
#include <cstdint>
#include <mutex>
#include <shared_mutex>
#include <span>

#include <fmt/format.h>

#include "catalog/catalog_impl.h"
#include "metrics/downsample.h"
#include "metrics/step_join.h"
#include "metrics/streamed_step_join.h"
#include "runtrack/validation.h"

namespace runtrack {
using catalog::RunRecord;
using catalog::SeriesState;

namespace {

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

// The run's series named by the query, in column order; names the run lacks go to *missing.
std::vector<const SeriesState*> ResolveSeries(const RunRecord& record, const MetricQuery& query,
                                              std::vector<std::string>* missing) {
  std::vector<const SeriesState*> out;
  if (query.metrics.empty()) {
    for (const auto& [id, s] : record.series)
      if (catalog::StreamOrdinalOf(id) == 0 || record.FindSeries(s.name) == &s)
        out.push_back(&s);  // one column per name (a multi-process run's streams: REMOTE.md)
    std::sort(out.begin(), out.end(), [](const SeriesState* a, const SeriesState* b) { return a->name < b->name; });
    return out;
  }
  for (const std::string& name : query.metrics) {
    const SeriesState* s = record.FindSeries(name);
    if (s == nullptr) {
      if (std::find(missing->begin(), missing->end(), name) == missing->end()) missing->push_back(name);
    } else if (std::find(out.begin(), out.end(), s) == out.end()) {
      out.push_back(s);
    }
  }
  return out;
}

// Rows, per-row wall time and stage, totals and the paging position, from the join.
void FillTable(const RunRecord& record, const std::vector<const SeriesState*>& series, StepJoin join,
               const MetricQuery& query, MetricTable* table) {
  const bool stopped_early = join.next_step && !query.count_past_max_rows;
  if ((!query.downsample || !table->downsampled) && !stopped_early) table->total_steps = join.total_steps;
  table->truncated = join.next_step.has_value();
  table->next_step = join.next_step;
  table->stages = StageNames(record);
  table->rows.columns.reserve(series.size() + 1);
  table->rows.columns.push_back("step");
  for (const SeriesState* s : series) table->rows.columns.push_back(s->name);
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

// The series of one snapshot with their pyramids; every reader reads that series' stored points.
struct SnapshotSeries {
  const SeriesState* state;
  const LodPyramid* pyramid;
  RawPointReader read;
};

// Every point in range, merged while it is read, so memory is O(rows returned), not O(points).
Result<StepJoin> JoinAllPoints(const std::vector<SnapshotSeries>& series, const MetricQuery& query,
                               MetricTable* table) {
  std::vector<StoredSeries> stored;
  stored.reserve(series.size());
  for (const SnapshotSeries& s : series) stored.push_back({s.pyramid, s.read});
  RUNTRACK_ASSIGN_OR_RETURN(StreamedStepJoin streamed,
                            JoinOnStepStreamed(stored, query.step_min.value_or(INT64_MIN),
                                               query.step_max.value_or(INT64_MAX), query.max_rows,
                                               query.count_past_max_rows));
  table->points_in_range = streamed.points_in_range;
  return std::move(streamed.join);
}

// Each series downsampled on its own (or, for series whose steps go backwards, sorted), then joined.
Result<StepJoin> JoinDownsampled(const std::vector<SnapshotSeries>& series, const MetricQuery& query,
                                 const MetricReadProgress& progress, MetricTable* table) {
  const DownsampleOptions options = OptionsFor(query);
  std::vector<DownsampleResult> results;
  results.reserve(series.size());
  for (const SnapshotSeries& s : series) {
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

Result<MetricTable> Catalog::QueryMetrics(std::string_view run_id, const MetricQuery& query,
                                          const MetricReadProgress& progress) const {
  RUNTRACK_RETURN_IF_ERROR(ValidateRunId(run_id));
  RUNTRACK_RETURN_IF_ERROR(CheckMetricQuery(query));
  const std::string id(run_id);

  // Each attempt either answers or builds the pyramids it lacked; a second attempt finds them all
  // unless the run was deleted and re-indexed in between, hence the small bound.
  for (int attempt = 0; attempt < 4; ++attempt) {
    std::vector<uint32_t> unbuilt;
    {
      std::shared_lock lod(impl_->lod_mu);
      std::shared_ptr<const RunRecord> record = impl_->Find(run_id);
      if (!record) return Status::NotFound(fmt::format("run {} not found", run_id));
      MetricTable table;
      std::vector<SnapshotSeries> series;
      for (const SeriesState* s : ResolveSeries(*record, query, &table.missing_metrics)) {
        auto it = impl_->pyramids.find({id, s->id});
        if (it == impl_->pyramids.end()) {
          impl_->pyramid_misses.fetch_add(1, std::memory_order_relaxed);
          unbuilt.push_back(s->id);
          continue;
        }
        impl_->pyramid_hits.fetch_add(1, std::memory_order_relaxed);
        if (it->second->count() != s->count)
          return Status::Internal(fmt::format("pyramid of {}/{} covers {} points, the record {}", id, s->name,
                                              it->second->count(), s->count));
        impl_->TouchPyramid({id, s->id});  // LRU: this pyramid was used
        const uint32_t series_id = s->id;
        series.push_back({s, it->second.get(), [this, &id, series_id](uint64_t b, uint64_t e,
                                                                      std::vector<MetricPoint>* out) {
                            return impl_->ReadOrdinals(id, series_id, b, e, out);
                          }});
      }
      if (unbuilt.empty()) {
        if (progress) progress(0, series.size());
        const bool monotonic = std::all_of(series.begin(), series.end(),
                                           [](const SnapshotSeries& s) { return s.pyramid->steps_monotonic(); });
        Result<StepJoin> join = !query.downsample && monotonic ? JoinAllPoints(series, query, &table)
                                                               : JoinDownsampled(series, query, progress, &table);
        if (!join.ok()) return join.status();
        if (progress && !query.downsample && monotonic) progress(series.size(), series.size());
        std::vector<const SeriesState*> states;
        for (const SnapshotSeries& s : series) states.push_back(s.state);
        FillTable(*record, states, std::move(join).value(), query, &table);
        return table;
      }
    }
    std::unique_lock lod(impl_->lod_mu);
    for (uint32_t series_id : unbuilt) {
      Status s = impl_->BuildPyramid(id, series_id);
      if (s.code() == StatusCode::kNotFound) break;  // deleted meanwhile: the next attempt reports it
      RUNTRACK_RETURN_IF_ERROR(s);
    }
  }
  return Status::Internal(fmt::format("pyramids of run {} kept vanishing while querying it", run_id));
}

}  // namespace runtrack
