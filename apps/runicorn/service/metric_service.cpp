#include "server/metric_table.h"

#include <algorithm>

#include <fmt/format.h>

#include "server/params.h"

namespace runicorn::server {
using runtrack::Result;
using runtrack::Status;

Result<MetricTableQuery> ParseMetricTableQuery(const QueryParams& q) {
  MetricTableQuery out;
  // Runicorn's UI asks for up to a few thousand points; 1,000,000 keeps a typo from allocating
  // without bound while still allowing "everything" on long runs.
  RUNTRACK_ASSIGN_OR_RETURN(auto ds, GetInt(q, "downsample", 1, 1000000));
  if (ds) out.downsample = static_cast<size_t>(*ds);
  if (const std::string* m = q.Get("method")) {
    auto method = runtrack::ParseDownsampleMethod(*m);
    if (!method.ok())
      return Status::InvalidArgument(fmt::format("Invalid query parameter 'method': {}", method.status().message()));
    out.method = *method;
  }
  if (const std::string* x = q.Get("x_axis")) {
    auto axis = runtrack::ParseXAxis(*x);
    if (!axis.ok())
      return Status::InvalidArgument(fmt::format("Invalid query parameter 'x_axis': {}", axis.status().message()));
    out.x_axis = *axis;
  }
  out.metrics = GetList(q, "metrics");
  if (out.metrics.empty()) out.metrics = GetList(q, "metric_names");  // v2's spelling
  if (const std::string* r = q.Get("step_range")) {
    RUNTRACK_ASSIGN_OR_RETURN(auto range, ParseStepRange(*r, "step_range"));
    out.step_min = range.first;
    out.step_max = range.second;
  }
  return out;
}

Result<MetricTable> QueryMetricTable(const runtrack::Catalog& catalog, const std::string& run_id,
                                     const MetricTableQuery& query, const MetricReadProgress& progress) {
  RUNTRACK_ASSIGN_OR_RETURN(runtrack::RunDetail detail, catalog.GetRun(run_id));
  MetricTable table;
  std::vector<std::string> names;
  if (query.metrics.empty()) {
    for (const auto& m : detail.metrics) names.push_back(m.name);
  } else {
    for (const std::string& name : query.metrics) {
      bool known = std::any_of(detail.metrics.begin(), detail.metrics.end(),
                               [&](const runtrack::MetricInfo& m) { return m.name == name; });
      if (!known) {
        table.missing_metrics.push_back(name);
      } else if (std::find(names.begin(), names.end(), name) == names.end()) {
        names.push_back(name);
      }
    }
  }

  runtrack::DownsampleOptions options;
  options.step_min = query.step_min;
  options.step_max = query.step_max;
  options.x_axis = query.x_axis;
  if (query.downsample) {
    options.target_points = *query.downsample;
    options.method = query.method;
  } else {
    options.method = runtrack::DownsampleMethod::kNone;
    options.target_points = 1;
  }

  std::vector<std::pair<std::string, runtrack::DownsampleResult>> results;
  results.reserve(names.size());
  if (progress) progress(0, names.size());
  for (const std::string& name : names) {
    auto r = catalog.DownsampleMetric(run_id, name, options);
    if (!r.ok()) {
      // A metric listed a moment ago cannot vanish unless the run was deleted meanwhile.
      return r.status();
    }
    table.points_in_range += r->points_in_range;
    if (r->points.size() < r->points_in_range) table.downsampled = true;
    results.emplace_back(name, std::move(*r));
    if (progress) progress(results.size(), names.size());
  }
  table.rows = runtrack::BuildMetricRows(results);

  // Per-row wall time and stage, from the first metric (in column order) with a point at the row's
  // step; one forward merge per metric since rows and results are both step-ordered.
  const size_t n = table.rows.steps.size();
  std::vector<char> filled(n, 0);
  table.wall_time.assign(n, 0.0);
  table.stage.assign(n, std::string());
  for (const auto& [name, result] : results) {
    size_t r = 0;
    for (const runtrack::MetricPoint& p : result.points) {
      while (r < n && table.rows.steps[r] < p.step) ++r;
      if (r == n) break;
      if (table.rows.steps[r] == p.step && !filled[r]) {
        filled[r] = 1;
        table.wall_time[r] = p.wall_time;
        if (p.stage < detail.stages.size()) table.stage[r] = detail.stages[p.stage];
      }
    }
  }
  return table;
}

}  // namespace runicorn::server
