// The task runner's routes (Pyruns' /api/workspace, /api/generator, /api/tasks): parse, call
// ctx.services->tasks, encode (encode/task_json.h). Every one is registered with
// needs_token_always (routes.cpp): they run commands on this machine.
#include <boost/json.hpp>

#include "encode/task_json.h"
#include "server/errors.h"
#include "server/handlers.h"
#include "server/params.h"

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

Result<std::map<std::string, std::string>> StrMap(const json::object& o, std::string_view key) {
  std::map<std::string, std::string> out;
  const auto* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return out;
  if (!v->is_object()) return Status::InvalidArgument(std::string(key) + " must be an object of strings");
  for (const auto& kv : v->as_object()) {
    if (!kv.value().is_string()) return Status::InvalidArgument(std::string(key) + " must be an object of strings");
    out[std::string(kv.key())] = std::string(kv.value().as_string());
  }
  return out;
}

Response WithTask(service::TaskService* svc, const std::string& name) {
  RUNICORN_ASSIGN_OR_RESPOND(auto d, svc->Show(name));
  return Response::Json(json::object{{"ok", true}, {"task", encode::TaskDetail(d)}});
}

Result<service::GeneratorRequest> GeneratorBody(const Request& req) {
  RUNTRACK_ASSIGN_OR_RETURN(json::object o, ParseStrictJsonObject(req.body, {"mode", "yaml_text", "shell_text", "name_prefix",
                                                        "append_timestamp", "template_value", "env"}));
  service::GeneratorRequest r;
  RUNTRACK_ASSIGN_OR_RETURN(r.mode, GetString(o, "mode"));
  RUNTRACK_ASSIGN_OR_RETURN(r.yaml_text, GetString(o, "yaml_text"));
  RUNTRACK_ASSIGN_OR_RETURN(r.shell_text, GetString(o, "shell_text"));
  RUNTRACK_ASSIGN_OR_RETURN(r.name_prefix, GetString(o, "name_prefix"));
  RUNTRACK_ASSIGN_OR_RETURN(std::string template_value, GetString(o, "template_value"));
  if (!template_value.empty())
    return Status::InvalidArgument("template_value is not supported; send the template's text as yaml_text");
  if (const auto* a = o.if_contains("append_timestamp")) {
    if (!a->is_bool()) return Status::InvalidArgument("append_timestamp must be true or false");
    r.append_timestamp = a->as_bool();
  }
  RUNTRACK_ASSIGN_OR_RETURN(r.env, StrMap(o, "env"));
  return r;
}

}  // namespace

Response HandleGetWorkspace(const AppContext& ctx, const Request&) {
  RUNICORN_ASSIGN_OR_RESPOND(auto* svc, Tasks(ctx));
  RUNICORN_ASSIGN_OR_RESPOND(auto ws, svc->Current());
  return Response::Json(encode::Workspace(ws));
}

Response HandleShellWorkspace(const AppContext& ctx, const Request& req) {
  RUNICORN_ASSIGN_OR_RESPOND(auto* svc, Tasks(ctx));
  RUNICORN_ASSIGN_OR_RESPOND(auto body, ParseStrictJsonObject(req.body, {}));
  RUNICORN_ASSIGN_OR_RESPOND(auto ws, svc->InitShell());
  return Response::Json(encode::Workspace(ws));
}

Response HandleWorkspaceRunRoot(const AppContext& ctx, const Request& req) {
  RUNICORN_ASSIGN_OR_RESPOND(auto* svc, Tasks(ctx));
  RUNICORN_ASSIGN_OR_RESPOND(auto body, ParseStrictJsonObject(req.body, {"path"}));
  RUNICORN_ASSIGN_OR_RESPOND(std::string path, GetString(body, "path", true));
  RUNICORN_ASSIGN_OR_RESPOND(auto ws, svc->UseWorkspace(path));
  return Response::Json(encode::Workspace(ws));
}

Response HandleGeneratorPreview(const AppContext& ctx, const Request& req) {
  RUNICORN_ASSIGN_OR_RESPOND(auto* svc, Tasks(ctx));
  RUNICORN_ASSIGN_OR_RESPOND(auto r, GeneratorBody(req));
  RUNICORN_ASSIGN_OR_RESPOND(auto p, svc->Preview(r));
  return Response::Json(encode::GeneratorPreview(p));
}

Response HandleGeneratorCreate(const AppContext& ctx, const Request& req) {
  RUNICORN_ASSIGN_OR_RESPOND(auto* svc, Tasks(ctx));
  RUNICORN_ASSIGN_OR_RESPOND(auto r, GeneratorBody(req));
  RUNICORN_ASSIGN_OR_RESPOND(auto created, svc->Create(r));
  return Response::Json(encode::GeneratorResult(created));
}

Response HandleListTasks(const AppContext& ctx, const Request& req) {
  RUNICORN_ASSIGN_OR_RESPOND(auto* svc, Tasks(ctx));
  runtrack::TaskListQuery q;
  if (const std::string* s = req.query.Get("status"); s && *s != "All" && !s->empty()) {
    RUNICORN_ASSIGN_PARAM_OR_422(q.status, runtrack::ParseTaskStatus(*s));
  }
  RUNICORN_ASSIGN_PARAM_OR_422(auto offset, GetInt(req.query, "offset", 0, int64_t{1} << 40));
  RUNICORN_ASSIGN_PARAM_OR_422(auto limit, GetInt(req.query, "limit", 1, 10000));
  RUNICORN_ASSIGN_PARAM_OR_422(auto refresh, GetBool(req.query, "refresh"));
  q.offset = static_cast<size_t>(offset.value_or(0));
  q.limit = static_cast<size_t>(limit.value_or(50));
  q.rescan = refresh.value_or(false);
  RUNICORN_ASSIGN_OR_RESPOND(auto page, svc->List(q));
  return Response::Json(encode::TaskPage(page, q.limit));
}

Response HandleGetTask(const AppContext& ctx, const Request& req) {
  RUNICORN_ASSIGN_OR_RESPOND(auto* svc, Tasks(ctx));
  RUNICORN_ASSIGN_OR_RESPOND(auto d, svc->Show(req.Param("name")));
  return Response::Json(encode::TaskDetail(d));
}

Response HandleRunTask(const AppContext& ctx, const Request& req) {
  RUNICORN_ASSIGN_OR_RESPOND(auto* svc, Tasks(ctx));
  RUNICORN_ASSIGN_OR_RESPOND(auto body, ParseStrictJsonObject(req.body, {}));
  // Pyruns' "run now": at once, outside the batch pool (its slots stay free for batch runs).
  if (Status why = svc->RunNow(req.Param("name")); !why.ok()) {
    // Pyruns answers a task it cannot start with 400 (already active or unloadable); a missing
    // task is 404 and an unreachable shared queue 503, as their codes say.
    const bool as_is = why.code() == runtrack::StatusCode::kNotFound || why.code() == runtrack::StatusCode::kBusy ||
                       why.code() == runtrack::StatusCode::kInvalidArgument;
    return ErrorResponse(as_is ? why : Status::InvalidArgument(why.message()));
  }
  return WithTask(svc, req.Param("name"));
}

Response HandleBatchRunTasks(const AppContext& ctx, const Request& req) {
  RUNICORN_ASSIGN_OR_RESPOND(auto* svc, Tasks(ctx));
  RUNICORN_ASSIGN_OR_RESPOND(auto body, ParseStrictJsonObject(req.body, {"task_names", "max_workers"}));
  RUNICORN_ASSIGN_OR_RESPOND(auto names, GetStringList(body, "task_names", 10000));
  int workers = 1;
  if (const auto* w = body.if_contains("max_workers"); w && !w->is_null()) {
    if (!w->is_int64() || w->as_int64() < 1 || w->as_int64() > 32)
      return Response::Error(400, "max_workers must be an integer in [1, 32]");
    workers = static_cast<int>(w->as_int64());
  }
  RUNICORN_ASSIGN_OR_RESPOND(auto report, svc->Run(names, workers));
  if (report.queued.empty()) return Response::Error(400, "no task could be started: " +
                                                         (report.skipped.empty() ? std::string("none given")
                                                                                 : report.skipped.front().second.message()));
  return Response::Json(encode::RunReport(report));
}

Response HandleCancelTask(const AppContext& ctx, const Request& req) {
  RUNICORN_ASSIGN_OR_RESPOND(auto* svc, Tasks(ctx));
  RUNICORN_ASSIGN_OR_RESPOND(auto body, ParseStrictJsonObject(req.body, {}));
  auto outcome = svc->Cancel(req.Param("name"));
  if (!outcome.ok()) {
    // Pyruns: 400 unless queued or running.
    if (outcome.status().code() == runtrack::StatusCode::kFailedPrecondition)
      return Response::Error(400, outcome.status().message());
    return ErrorResponse(outcome.status());
  }
  return WithTask(svc, req.Param("name"));
}

Response HandleTaskLogs(const AppContext& ctx, const Request& req) {
  RUNICORN_ASSIGN_OR_RESPOND(auto* svc, Tasks(ctx));
  runtrack::TaskLogQuery q;
  if (const std::string* f = req.query.Get("log_file_name")) q.log_file_name = *f;
  if (const std::string* id = req.query.Get("log_identity")) q.log_identity = *id;
  RUNICORN_ASSIGN_PARAM_OR_422(auto offset, GetInt(req.query, "offset", 0, int64_t{1} << 50));
  RUNICORN_ASSIGN_PARAM_OR_422(auto chunk, GetInt(req.query, "chunk_size", 1, 4 << 20));
  RUNICORN_ASSIGN_PARAM_OR_422(auto tail, GetInt(req.query, "tail_bytes", 1, 4 << 20));
  if (offset) q.offset = static_cast<uint64_t>(*offset);
  q.max_bytes = static_cast<size_t>(offset ? chunk.value_or(50000) : tail.value_or(50000));
  RUNICORN_ASSIGN_OR_RESPOND(auto c, svc->ReadLog(req.Param("name"), q));
  return Response::Json(encode::TaskLog(req.Param("name"), c));
}

Response HandlePinTask(const AppContext& ctx, const Request& req) {
  RUNICORN_ASSIGN_OR_RESPOND(auto* svc, Tasks(ctx));
  RUNICORN_ASSIGN_OR_RESPOND(auto body, ParseStrictJsonObject(req.body, {"pinned"}));
  std::optional<bool> pinned;
  if (const auto* p = body.if_contains("pinned"); p && !p->is_null()) {
    if (!p->is_bool()) return Response::Error(400, "pinned must be true, false or null (toggle)");
    pinned = p->as_bool();
  }
  RUNICORN_ASSIGN_OR_RESPOND(bool now, svc->Pin(req.Param("name"), pinned));
  (void)now;
  return WithTask(svc, req.Param("name"));
}

Response HandleTaskNotes(const AppContext& ctx, const Request& req) {
  RUNICORN_ASSIGN_OR_RESPOND(auto* svc, Tasks(ctx));
  RUNICORN_ASSIGN_OR_RESPOND(auto body, ParseStrictJsonObject(req.body, {"notes", "expected_notes"}));
  RUNICORN_ASSIGN_OR_RESPOND(std::string notes, GetString(body, "notes", true));
  RUNICORN_ASSIGN_OR_RESPOND(std::string expected, GetString(body, "expected_notes"));
  RUNICORN_RETURN_IF_ERROR(svc->UpdateNotes(req.Param("name"), notes, expected));
  return WithTask(svc, req.Param("name"));
}

Response HandleTaskEnv(const AppContext& ctx, const Request& req) {
  RUNICORN_ASSIGN_OR_RESPOND(auto* svc, Tasks(ctx));
  RUNICORN_ASSIGN_OR_RESPOND(auto body, ParseStrictJsonObject(req.body, {"env", "expected_env"}));
  if (!body.contains("env")) return Response::Error(400, "env is required");
  RUNICORN_ASSIGN_OR_RESPOND(auto env, StrMap(body, "env"));
  RUNICORN_ASSIGN_OR_RESPOND(auto expected, StrMap(body, "expected_env"));
  RUNICORN_RETURN_IF_ERROR(svc->UpdateEnv(req.Param("name"), env, expected));
  return WithTask(svc, req.Param("name"));
}

Response HandleRenameTask(const AppContext& ctx, const Request& req) {
  RUNICORN_ASSIGN_OR_RESPOND(auto* svc, Tasks(ctx));
  RUNICORN_ASSIGN_OR_RESPOND(auto body, ParseStrictJsonObject(req.body, {"new_name"}));
  RUNICORN_ASSIGN_OR_RESPOND(std::string new_name, GetString(body, "new_name", true));
  RUNICORN_RETURN_IF_ERROR(svc->Rename(req.Param("name"), new_name));
  return WithTask(svc, new_name);
}

Response HandleBatchDeleteTasks(const AppContext& ctx, const Request& req) {
  RUNICORN_ASSIGN_OR_RESPOND(auto* svc, Tasks(ctx));
  RUNICORN_ASSIGN_OR_RESPOND(auto body, ParseStrictJsonObject(req.body, {"task_names"}));
  RUNICORN_ASSIGN_OR_RESPOND(auto names, GetStringList(body, "task_names", 10000));
  RUNICORN_ASSIGN_OR_RESPOND(auto report, svc->Trash(names));
  return Response::Json(encode::TrashReport(report));
}

Response HandleReorderTasks(const AppContext& ctx, const Request& req) {
  RUNICORN_ASSIGN_OR_RESPOND(auto* svc, Tasks(ctx));
  RUNICORN_ASSIGN_OR_RESPOND(auto body, ParseStrictJsonObject(req.body, {"items"}));
  const auto* items = body.if_contains("items");
  if (items == nullptr || !items->is_array()) return Response::Error(400, "items must be a list of {name, pinned?}");
  std::vector<runtrack::TaskOrderItem> order;
  order.reserve(items->as_array().size());
  for (const auto& v : items->as_array()) {
    if (!v.is_object()) return Response::Error(400, "items must be a list of {name, pinned?}");
    for (const auto& kv : v.as_object())
      if (kv.key() != "name" && kv.key() != "pinned")
        return Response::Error(400, "unknown field '" + std::string(kv.key()) + "' in items");
    runtrack::TaskOrderItem item;
    RUNICORN_ASSIGN_OR_RESPOND(item.name, GetString(v.as_object(), "name", true));
    if (const auto* p = v.as_object().if_contains("pinned"); p && !p->is_null()) {
      if (!p->is_bool()) return Response::Error(400, "pinned must be true, false or null");
      item.pinned = p->as_bool();
    }
    order.push_back(std::move(item));
  }
  RUNICORN_ASSIGN_OR_RESPOND(auto tasks, svc->Reorder(order));
  return Response::Json(encode::ReorderResult(tasks));
}

Response HandleExportTasksCsv(const AppContext& ctx, const Request& req) {
  RUNICORN_ASSIGN_OR_RESPOND(auto* svc, Tasks(ctx));
  RUNICORN_ASSIGN_OR_RESPOND(auto body, ParseStrictJsonObject(req.body, {"task_names"}));
  std::vector<std::string> names;
  if (body.contains("task_names")) {
    RUNICORN_ASSIGN_OR_RESPOND(names, GetStringList(body, "task_names", 10000));
  }
  RUNICORN_ASSIGN_OR_RESPOND(std::string csv, svc->ExportCsv(names));
  Response r = Response::Text(std::move(csv), "text/csv; charset=utf-8");
  r.AddHeader("Content-Disposition", "attachment; filename=\"tasks.csv\"");
  return r;
}

}  // namespace runicorn::server
