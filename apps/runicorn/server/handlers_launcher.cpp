// Pyruns' launcher routes (/api/launcher/*, no native dialogs) and its GET /api/system/metrics:
// parse, call service::TaskLauncher / ReadTaskSystemMetrics, encode (encode/launcher_json.h).
// Registered with needs_token_always (routes.cpp), like every task route.
#include <boost/json.hpp>

#include "encode/launcher_json.h"
#include "encode/task_json.h"
#include "server/errors.h"
#include "server/handlers.h"
#include "server/params.h"
#include "service/task_launcher.h"
#include "service/task_system_metrics.h"

namespace runicorn::server {
namespace json = boost::json;
using runtrack::Result;
using runtrack::Status;

namespace {

Result<service::TaskService*> Tasks(const AppContext& ctx) {
  if (!ctx.services || !ctx.services->tasks)
    return Status::NotFound("this viewer serves no task workspace (start it with --tasks-root DIR)");
  return ctx.services->tasks.get();
}

std::string Query(const Request& req, const char* name) {
  const std::string* v = req.query.Get(name);
  return v ? *v : std::string();
}

// The body's string fields, every key one of `fields` (Pyruns' models forbid extra fields).
Result<std::map<std::string, std::string>> StringBody(const Request& req, std::initializer_list<std::string_view> fields) {
  std::map<std::string, std::string> out;
  if (req.body.empty()) return out;
  RUNTRACK_ASSIGN_OR_RETURN(json::object o, ParseJsonObject(req.body));
  for (const auto& kv : o) {
    bool known = false;
    for (auto f : fields) known = known || kv.key() == f;
    if (!known) return Status::InvalidArgument("unknown field '" + std::string(kv.key()) + "'");
    if (kv.value().is_null()) continue;
    if (!kv.value().is_string()) return Status::InvalidArgument(std::string(kv.key()) + " must be a string");
    out[std::string(kv.key())] = std::string(kv.value().as_string());
  }
  return out;
}

}  // namespace

Response HandleLauncherScripts(const AppContext& ctx, const Request&) {
  RUNICORN_ASSIGN_OR_RESPOND(auto* svc, Tasks(ctx));
  RUNICORN_ASSIGN_OR_RESPOND(auto scripts, service::TaskLauncher(*svc).Scripts());
  return Response::Json(encode::LauncherScripts(scripts));
}

Response HandleLauncherConfigs(const AppContext& ctx, const Request& req) {
  RUNICORN_ASSIGN_OR_RESPOND(auto* svc, Tasks(ctx));
  RUNICORN_ASSIGN_OR_RESPOND(auto configs, service::TaskLauncher(*svc).Configs(Query(req, "script")));
  return Response::Json(encode::LauncherConfigs(configs));
}

Response HandleLauncherWorkspaces(const AppContext& ctx, const Request& req) {
  RUNICORN_ASSIGN_OR_RESPOND(auto* svc, Tasks(ctx));
  RUNICORN_ASSIGN_OR_RESPOND(auto items,
                             service::TaskLauncher(*svc).Workspaces(Query(req, "script"), Query(req, "config")));
  return Response::Json(encode::LauncherWorkspaces(items));
}

Response HandleLauncherValidatePath(const AppContext& ctx, const Request& req) {
  RUNICORN_ASSIGN_OR_RESPOND(auto* svc, Tasks(ctx));
  RUNICORN_ASSIGN_PARAM_OR_422(auto check, service::TaskLauncher(*svc).ValidatePath(Query(req, "kind"), Query(req, "path")));
  return Response::Json(encode::LauncherPathCheck(check));
}

Response HandleLauncherOpen(const AppContext& ctx, const Request& req) {
  RUNICORN_ASSIGN_OR_RESPOND(auto* svc, Tasks(ctx));
  RUNICORN_ASSIGN_OR_RESPOND(auto body, StringBody(req, {"script_path", "config_path"}));
  RUNICORN_ASSIGN_OR_RESPOND(auto ws, service::TaskLauncher(*svc).Open(body["script_path"], body["config_path"]));
  return Response::Json(encode::Workspace(ws));
}

Response HandleLauncherOpenShellRoot(const AppContext& ctx, const Request& req) {
  RUNICORN_ASSIGN_OR_RESPOND(auto* svc, Tasks(ctx));
  RUNICORN_ASSIGN_OR_RESPOND(auto body, StringBody(req, {"path"}));
  RUNICORN_ASSIGN_OR_RESPOND(auto ws, service::TaskLauncher(*svc).OpenShellRoot(body["path"]));
  return Response::Json(encode::Workspace(ws));
}

Response HandleLauncherNativeDialog(const AppContext&, const Request&) {
  // Pyruns answers 400 without a DISPLAY; a browser-driven server never opens dialogs.
  return Response::Error(400, "native file dialogs are not available; choose from /api/launcher/scripts and "
                              "/api/launcher/configs or check a typed path with /api/launcher/validate-path");
}

Response HandleTaskSystemMetrics(const AppContext& ctx, const Request& req) {
  RUNICORN_ASSIGN_PARAM_OR_422(auto processes, GetBool(req.query, "include_processes"));
  RUNICORN_ASSIGN_OR_RESPOND(auto metrics, service::ReadTaskSystemMetrics(ctx.services->system, processes.value_or(false)));
  return Response::Json(encode::TaskSystemMetrics(metrics));
}

}  // namespace runicorn::server
