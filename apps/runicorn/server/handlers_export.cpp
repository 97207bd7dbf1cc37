// GET /api/export/{id}/csv and /api/export/{id}/json: every point of every metric (or those asked
// for with metrics= / step_range=), plus the run's metadata for JSON.
#include <cmath>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "server/errors.h"
#include "server/handlers.h"
#include "server/json_codec.h"
#include "server/metric_table.h"

namespace runicorn::server {
namespace bj = boost::json;

namespace {

// CSV fields: metric names may contain commas or quotes.
std::string CsvField(std::string_view s) {
  if (s.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(s);
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

runtrack::Result<MetricTable> ExportTable(const AppContext& ctx, const std::string& id, const Request& req,
                                          const MetricReadProgress& progress, Response* error) {
  auto q = ParseMetricTableQuery(req.query);
  if (!q.ok()) {
    *error = Response::Error(422, q.status().message());
    return q.status();
  }
  q->downsample.reset();  // an export is exact
  return QueryMetricTable(*ctx.catalog, id, *q, progress);
}

}  // namespace

Response HandleExportCsv(const AppContext& ctx, const Request& req) { return ExportCsv(ctx, req, {}); }

Response HandleExportJson(const AppContext& ctx, const Request& req) { return ExportJson(ctx, req, {}); }

Response ExportCsv(const AppContext& ctx, const Request& req, const MetricReadProgress& progress) {
  const std::string& id = req.Param("run_id");
  RUNICORN_RETURN_IF_ERROR(CheckRunIdParam(id));
  Response error;
  auto table = ExportTable(ctx, id, req, progress, &error);
  if (!table.ok()) return error.status != 200 ? error : ErrorResponse(table.status());
  const auto& rows = table->rows;
  std::string csv = "global_step,time";
  for (size_t i = 1; i < rows.columns.size(); ++i) csv += "," + CsvField(rows.columns[i]);
  csv += ",stage\n";
  for (size_t r = 0; r < rows.steps.size(); ++r) {
    fmt::format_to(std::back_inserter(csv), "{},{}", rows.steps[r], table->wall_time[r]);
    for (const auto& v : rows.values[r]) {
      csv += ',';
      // Non-finite values are written as nan / inf / -inf, which pandas and numpy read back.
      if (v) fmt::format_to(std::back_inserter(csv), "{}", *v);
    }
    csv += "," + CsvField(table->stage[r]) + "\n";
  }
  Response resp = Response::Text(std::move(csv), "text/csv; charset=utf-8");
  resp.AddHeader("Content-Disposition", fmt::format("attachment; filename=\"{}_metrics.csv\"", id));
  return resp;
}

Response ExportJson(const AppContext& ctx, const Request& req, const MetricReadProgress& progress) {
  const std::string& id = req.Param("run_id");
  RUNICORN_RETURN_IF_ERROR(CheckRunIdParam(id));
  RUNICORN_ASSIGN_OR_RESPOND(runtrack::RunDetail detail, ctx.catalog->GetRun(id));
  Response error;
  auto table = ExportTable(ctx, id, req, progress, &error);
  if (!table.ok()) return error.status != 200 ? error : ErrorResponse(table.status());
  bool any_stage = false;
  for (const auto& s : table->stage) any_stage |= !s.empty();
  bj::object metrics = json::MetricRowsTable(table->rows, "global_step", any_stage ? &table->stage : nullptr);
  Response resp = Response::Json(bj::object{{"format_version", 1},
                                            {"exported_at", NowSeconds()},
                                            {"run", json::RunDetail(detail, ctx.root)},
                                            {"metrics", std::move(metrics)}});
  resp.AddHeader("Content-Disposition", fmt::format("attachment; filename=\"{}.json\"", id));
  return resp;
}

}  // namespace runicorn::server
