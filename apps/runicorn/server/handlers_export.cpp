// GET /api/export/{id}/csv and /api/export/{id}/json: every point of every metric (or those asked
// for with metrics= / step_range=), plus the run's metadata for JSON.
#include <fmt/format.h>

#include "encode/api_json.h"
#include "server/errors.h"
#include "server/handlers.h"
#include "server/metric_params.h"

namespace runicorn::server {

namespace {

// The exact (never downsampled) table an export writes.
runtrack::Result<service::MetricTable> ExportTable(const AppContext& ctx, const Request& req, Response* error) {
  auto q = ParseMetricTableQuery(req.query);
  if (!q.ok()) {
    *error = Response::Error(422, q.status().message());
    return q.status();
  }
  q->downsample.reset();
  return ctx.services->metrics.QueryTable(req.Param("run_id"), *q);
}

}  // namespace

Response HandleExportCsv(const AppContext& ctx, const Request& req) {
  Response error;
  auto table = ExportTable(ctx, req, &error);
  if (!table.ok()) return error.status != 200 ? error : ErrorResponse(table.status());
  Response resp = Response::Text(encode::ExportCsv(*table), "text/csv; charset=utf-8");
  resp.AddHeader("Content-Disposition", fmt::format("attachment; filename=\"{}_metrics.csv\"", req.Param("run_id")));
  return resp;
}

Response HandleExportJson(const AppContext& ctx, const Request& req) {
  const std::string& id = req.Param("run_id");
  Response error;
  auto table = ExportTable(ctx, req, &error);
  if (!table.ok()) return error.status != 200 ? error : ErrorResponse(table.status());
  RUNICORN_ASSIGN_OR_RESPOND(runtrack::RunDetail detail, ctx.services->runs.Get(id));
  Response resp =
      Response::Text(encode::ExportJson(detail, *table, ctx.services->layout, NowSeconds()), "application/json");
  resp.AddHeader("Content-Disposition", fmt::format("attachment; filename=\"{}.json\"", id));
  return resp;
}

}  // namespace runicorn::server
