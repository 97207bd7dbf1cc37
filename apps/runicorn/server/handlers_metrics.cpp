// GET /api/runs/{id}/metrics (time-based) and /metrics_step (step-based), metrics_api.md.
//
// Both take our optional chart parameters: downsample=N (target points per metric; without it
// every point is returned, as Runicorn does), method=lttb|m4|minmax|none, metrics=a,b and
// step_range=lo,hi (or lo:hi).
#include <algorithm>
#include <limits>

#include <boost/json.hpp>

#include "server/errors.h"
#include "server/handlers.h"
#include "server/json_codec.h"
#include "server/metric_table.h"

namespace runicorn::server {
namespace bj = boost::json;

namespace {

Response RunNotFoundOr(const runtrack::Status& s) {
  if (s.code() == runtrack::StatusCode::kNotFound) return Response::Error(404, s.message());
  return ErrorResponse(s);
}

void AddQueryFacts(const MetricTableQuery& q, const MetricTable& t, bj::object& o) {
  o["total_points"] = t.points_in_range;
  o["sampled"] = t.downsampled;
  o["downsample"] = q.downsample ? bj::value(*q.downsample) : bj::value(nullptr);
  o["method"] = q.downsample ? runtrack::DownsampleMethodName(q.method) : std::string_view("none");
  o["missing_metrics"] = json::Strings(t.missing_metrics);
}

}  // namespace

Response HandleMetricsStep(const AppContext& ctx, const Request& req) {
  const std::string& id = req.Param("run_id");
  RUNICORN_RETURN_IF_ERROR(CheckRunIdParam(id));
  RUNICORN_ASSIGN_PARAM_OR_422(MetricTableQuery q, ParseMetricTableQuery(req.query));
  auto table = QueryMetricTable(*ctx.catalog, id, q);
  if (!table.ok()) return RunNotFoundOr(table.status());
  bool any_stage = std::any_of(table->stage.begin(), table->stage.end(), [](const std::string& s) { return !s.empty(); });
  bj::object o = json::MetricRowsTable(table->rows, "global_step", any_stage ? &table->stage : nullptr);
  AddQueryFacts(q, *table, o);
  return Response::Json(o);
}

Response HandleMetrics(const AppContext& ctx, const Request& req) {
  const std::string& id = req.Param("run_id");
  RUNICORN_RETURN_IF_ERROR(CheckRunIdParam(id));
  RUNICORN_ASSIGN_PARAM_OR_422(MetricTableQuery q, ParseMetricTableQuery(req.query));
  // Time-based charts: downsampling geometry on relative time unless the caller chose an axis.
  if (!req.query.Has("x_axis")) q.x_axis = runtrack::XAxis::kRelativeTime;
  auto table = QueryMetricTable(*ctx.catalog, id, q);
  if (!table.ok()) return RunNotFoundOr(table.status());
  double t0 = std::numeric_limits<double>::infinity();
  for (double t : table->wall_time) t0 = std::min(t0, t);

  const auto& rows = table->rows;
  bj::array columns;
  columns.emplace_back("time");
  for (size_t i = 1; i < rows.columns.size(); ++i) columns.emplace_back(rows.columns[i]);
  bj::array out;
  out.reserve(rows.steps.size());
  for (size_t r = 0; r < rows.steps.size(); ++r) {
    bj::object row;
    row["time"] = json::Number(table->wall_time[r] - t0);
    row["global_step"] = rows.steps[r];
    for (size_t m = 0; m < rows.values[r].size(); ++m)
      if (rows.values[r][m]) row[rows.columns[m + 1]] = json::Number(*rows.values[r][m]);
    out.push_back(std::move(row));
  }
  bj::object o{{"columns", std::move(columns)}, {"rows", std::move(out)}};
  AddQueryFacts(q, *table, o);
  return Response::Json(o);
}

}  // namespace runicorn::server
