// Runicorn v0.5.3 routes its UI calls that had no counterpart here (docs/API.md "Runicorn
// compatibility"): run artifacts, artifact training metrics and history, system and GPU telemetry,
// status re-check, UI preferences, environment capture, progress, analytics overview and cache
// statistics. Transport only: parse, call ctx.services, encode (encode/compat_json.h).
#include <boost/json.hpp>
#include <fmt/format.h>

#include "encode/compat_json.h"
#include "runtrack/artifacts.h"
#include "server/errors.h"
#include "server/handlers.h"
#include "server/params.h"

namespace runicorn::server {
namespace bj = boost::json;
using runtrack::Result;
using runtrack::Status;

namespace {

service::CacheStats CacheOf(const AppContext& ctx) {
  return ctx.services->maintenance ? ctx.services->maintenance->Cache() : service::CacheStats{};
}

Status CheckArtifactName(const std::string& name) {
  if (Status s = runtrack::ValidateArtifactName(name); !s.ok())
    return Status::InvalidArgument(fmt::format("Invalid artifact name: {}", s.message()));
  return Status::Ok();
}

// A required query parameter (FastAPI answers a missing one with 422).
Result<std::string> RequiredQuery(const Request& req, std::string_view name) {
  const std::string* v = req.query.Get(name);
  if (v == nullptr || v->empty())
    return Status::InvalidArgument(fmt::format("Missing query parameter '{}'", name));
  return *v;
}

// body[field] as a non-empty string, else InvalidArgument naming it.
Result<std::string> RequiredString(const bj::object& body, std::string_view field) {
  const bj::value* v = body.if_contains(field);
  if (v == nullptr || !v->is_string() || v->as_string().empty())
    return Status::InvalidArgument(fmt::format("{} is required and must be a non-empty string", field));
  return std::string(v->as_string());
}

Result<std::optional<int64_t>> OptionalInt(const bj::object& body, std::string_view field) {
  const bj::value* v = body.if_contains(field);
  if (v == nullptr || v->is_null()) return std::optional<int64_t>();
  if (!v->is_int64()) return Status::InvalidArgument(fmt::format("{} must be an integer", field));
  return std::optional<int64_t>(v->as_int64());
}

}  // namespace

Response HandleRunArtifacts(const AppContext& ctx, const Request& req) {
  RUNICORN_ASSIGN_OR_RESPOND(auto artifacts, ctx.services->insights.Artifacts(req.Param("run_id")));
  return Response::Json(encode::RunArtifacts(artifacts));
}

Response HandleRunProgress(const AppContext& ctx, const Request& req) {
  RUNICORN_ASSIGN_OR_RESPOND(auto run, ctx.services->insights.Progress(req.Param("run_id")));
  return Response::Json(encode::Progress(run));
}

Response HandleEnvironment(const AppContext& ctx, const Request& req) {
  RUNICORN_ASSIGN_OR_RESPOND(auto env, ctx.services->insights.Environment(req.Param("run_id")));
  return Response::Json(encode::Environment(env));
}

Response HandleArtifactTrainingMetrics(const AppContext& ctx, const Request& req) {
  const std::string& name = req.Param("name");
  if (Status s = CheckArtifactName(name); !s.ok()) return Response::Error(400, s.message());
  RUNICORN_ASSIGN_PARAM_OR_422(auto type, GetArtifactType(req.query));
  std::optional<int> version;
  if (const std::string* v = req.query.Get("version"); v != nullptr && !v->empty()) {
    RUNICORN_ASSIGN_PARAM_OR_422(version, service::ParseVersion(*v));
  }
  RUNICORN_ASSIGN_OR_RESPOND(auto run, ctx.services->insights.TrainingMetrics(name, version, type));
  return Response::Json(encode::TrainingMetrics(run));
}

Response HandleArtifactPerformanceHistory(const AppContext& ctx, const Request& req) {
  const std::string& name = req.Param("name");
  if (Status s = CheckArtifactName(name); !s.ok()) return Response::Error(400, s.message());
  RUNICORN_ASSIGN_PARAM_OR_422(auto type, GetArtifactType(req.query));
  std::optional<std::string> metric;
  if (const std::string* m = req.query.Get("metric_name"); m != nullptr && !m->empty()) metric = *m;
  RUNICORN_ASSIGN_OR_RESPOND(auto history, ctx.services->insights.PerformanceHistory(name, type));
  return Response::Json(encode::PerformanceHistory(history, metric));
}

Response HandleSystemMonitor(const AppContext& ctx, const Request&) {
  RUNICORN_ASSIGN_OR_RESPOND(auto snapshot, ctx.services->system.Monitor());
  return Response::Json(encode::SystemMonitor(snapshot));
}

Response HandleGpuTelemetry(const AppContext& ctx, const Request&) {
  return Response::Json(encode::GpuTelemetry(ctx.services->system.Gpus()));
}

Response HandleStatusCheck(const AppContext& ctx, const Request&) {
  RUNICORN_ASSIGN_OR_RESPOND(auto check, ctx.services->insights.CheckStatus(ctx.services->maintenance.get()));
  return Response::Json(encode::StatusCheck(check));
}

Response HandleAnalyticsOverview(const AppContext& ctx, const Request&) {
  RUNICORN_ASSIGN_OR_RESPOND(auto overview, ctx.services->insights.Overview());
  return Response::Json(encode::AnalyticsOverview(overview, CacheOf(ctx), NowSeconds()));
}

Response HandleMetricsCacheStats(const AppContext& ctx, const Request&) {
  return Response::Json(encode::CacheStats(CacheOf(ctx)));
}

Response HandleGetColumnWidths(const AppContext& ctx, const Request& req) {
  RUNICORN_ASSIGN_PARAM_OR_422(auto table, RequiredQuery(req, "table"));
  RUNICORN_ASSIGN_PARAM_OR_422(auto size, RequiredQuery(req, "size"));
  RUNICORN_ASSIGN_PARAM_OR_422(auto widths, ctx.services->preferences.GetColumnWidths(table, size));
  return Response::Json(encode::ColumnWidths(widths));
}

Response HandleSaveColumnWidths(const AppContext& ctx, const Request& req) {
  RUNICORN_ASSIGN_OR_RESPOND(bj::object body, ParseJsonObject(req.body));
  service::ColumnWidthsUpdate update;
  RUNICORN_ASSIGN_OR_RESPOND(update.widths.table, RequiredString(body, "table"));
  RUNICORN_ASSIGN_OR_RESPOND(update.widths.size, RequiredString(body, "size"));
  const bj::value* widths = body.if_contains("widths");
  if (widths == nullptr || !widths->is_object())
    return Response::Error(400, "widths is required and must be an object of column: integer");
  for (const auto& [column, width] : widths->as_object()) {
    if (!width.is_int64())
      return Response::Error(400, fmt::format("width of column '{}' must be an integer", std::string(column)));
    update.widths.widths[std::string(column)] = width.as_int64();
  }
  RUNICORN_ASSIGN_OR_RESPOND(update.window_width, OptionalInt(body, "window_width"));
  RUNICORN_ASSIGN_OR_RESPOND(update.window_height, OptionalInt(body, "window_height"));
  RUNICORN_RETURN_IF_ERROR(ctx.services->preferences.SaveColumnWidths(update));
  return Response::Json(encode::PreferenceChanged("Column widths saved"));
}

// DELETE and POST .../reset: Runicorn has both; without ?size= every size of the table goes.
Response HandleDeleteColumnWidths(const AppContext& ctx, const Request& req) {
  RUNICORN_ASSIGN_PARAM_OR_422(auto table, RequiredQuery(req, "table"));
  std::optional<std::string> size;
  if (const std::string* s = req.query.Get("size"); s != nullptr && !s->empty()) size = *s;
  RUNICORN_ASSIGN_PARAM_OR_422(int removed, ctx.services->preferences.DeleteColumnWidths(table, size));
  return Response::Json(encode::PreferenceChanged(fmt::format("Column widths reset ({} removed)", removed)));
}

Response HandleDismissedAlerts(const AppContext& ctx, const Request&) {
  return Response::Json(encode::DismissedAlerts(ctx.services->preferences.DismissedAlerts()));
}

Response HandleDismissAlert(const AppContext& ctx, const Request& req) {
  RUNICORN_ASSIGN_OR_RESPOND(bj::object body, ParseJsonObject(req.body));
  RUNICORN_ASSIGN_OR_RESPOND(auto id, RequiredString(body, "alert_id"));
  RUNICORN_RETURN_IF_ERROR(ctx.services->preferences.DismissAlert(id));
  return Response::Json(encode::PreferenceChanged(fmt::format("Alert {} dismissed", id)));
}

Response HandleUndismissAlert(const AppContext& ctx, const Request& req) {
  RUNICORN_ASSIGN_OR_RESPOND(bj::object body, ParseJsonObject(req.body));
  RUNICORN_ASSIGN_OR_RESPOND(auto id, RequiredString(body, "alert_id"));
  RUNICORN_RETURN_IF_ERROR(ctx.services->preferences.UndismissAlert(id));
  return Response::Json(encode::PreferenceChanged(fmt::format("Alert {} restored", id)));
}

Response HandleClearDismissedAlerts(const AppContext& ctx, const Request&) {
  RUNICORN_RETURN_IF_ERROR(ctx.services->preferences.ClearDismissedAlerts());
  return Response::Json(encode::PreferenceChanged("Dismissed alerts cleared"));
}

}  // namespace runicorn::server
