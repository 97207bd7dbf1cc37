// v1 runs, recycle bin and project hierarchy (runs_api.md, API_INDEX.md "Projects API").
#include <boost/json.hpp>
#include <fmt/format.h>

#include "encode/api_json.h"
#include "runtrack/json_codec.h"
#include "server/errors.h"
#include "server/handlers.h"
#include "server/params.h"

namespace runicorn::server {
namespace bj = boost::json;

namespace {

// Parses {"run_ids": [...]}; the service validates every id before anything changes (Runicorn
// answers 400 "Invalid run_id format").
runtrack::Result<std::vector<std::string>> RunIdsFromBody(const Request& req) {
  RUNTRACK_ASSIGN_OR_RETURN(bj::object body, ParseJsonObject(req.body));
  return GetStringList(body, "run_ids", std::numeric_limits<size_t>::max());
}

}  // namespace

Response HandleListRuns(const AppContext& ctx, const Request& req) {
  // Runicorn's v1 list takes no parameters; project/name/status filters are a convenience the
  // hierarchy endpoints also use.
  runtrack::RunQuery q;
  if (const auto* p = req.query.Get("project")) q.project = *p;
  if (const auto* n = req.query.Get("name")) q.name = *n;
  for (const auto& s : GetList(req.query, "status")) {
    auto st = runtrack::ParseRunStatus(s);
    if (!st.ok()) return Response::Error(422, fmt::format("Invalid query parameter 'status': {}", st.status().message()));
    q.statuses.push_back(*st);
  }
  RUNICORN_ASSIGN_OR_RESPOND(runtrack::RunPage page, ctx.services->runs.List(q));
  return Response::Json(encode::RunList(page, ctx.services->layout));
}

Response HandleGetRun(const AppContext& ctx, const Request& req) {
  RUNICORN_ASSIGN_OR_RESPOND(auto detail, ctx.services->runs.Get(req.Param("run_id")));
  return Response::Json(runtrack::json::RunDetail(detail, ctx.services->layout));
}

Response HandleSoftDelete(const AppContext& ctx, const Request& req) {
  RUNICORN_ASSIGN_OR_RESPOND(auto ids, RunIdsFromBody(req));
  RUNICORN_ASSIGN_OR_RESPOND(auto outcome, ctx.services->runs.SoftDelete(ids));
  return Response::Json(encode::BatchResult(outcome, "deleted_count", "Soft deleted"));
}

Response HandleRecycleBin(const AppContext& ctx, const Request&) {
  RUNICORN_ASSIGN_OR_RESPOND(runtrack::RunPage page, ctx.services->runs.ListDeleted());
  return Response::Json(encode::RecycleBin(page, ctx.services->layout));
}

Response HandleRestore(const AppContext& ctx, const Request& req) {
  RUNICORN_ASSIGN_OR_RESPOND(auto ids, RunIdsFromBody(req));
  RUNICORN_ASSIGN_OR_RESPOND(auto outcome, ctx.services->runs.Restore(ids));
  return Response::Json(encode::BatchResult(outcome, "restored_count", "Restored"));
}

Response HandleEmptyRecycleBin(const AppContext& ctx, const Request& req) {
  RUNICORN_ASSIGN_OR_RESPOND(bj::object body, ParseJsonObject(req.body));
  const bj::value* confirm = body.if_contains("confirm");
  if (confirm == nullptr || !confirm->is_bool() || !confirm->get_bool())
    return Response::Error(400, "Must set confirm=true to permanently delete");
  RUNICORN_ASSIGN_OR_RESPOND(auto outcome, ctx.services->runs.EmptyRecycleBin());
  return Response::Json(encode::EmptyRecycleBin(outcome));
}

Response HandleProjects(const AppContext& ctx, const Request&) {
  RUNICORN_ASSIGN_OR_RESPOND(auto projects, ctx.services->runs.Projects());
  return Response::Json(encode::Projects(projects));
}

Response HandleProjectNames(const AppContext& ctx, const Request& req) {
  RUNICORN_ASSIGN_OR_RESPOND(auto names, ctx.services->runs.Names(req.Param("project")));
  return Response::Json(encode::Names(names));
}

Response HandleProjectNameRuns(const AppContext& ctx, const Request& req) {
  runtrack::RunQuery q;
  q.project = req.Param("project");
  q.name = req.Param("name");
  RUNICORN_ASSIGN_OR_RESPOND(runtrack::RunPage page, ctx.services->runs.List(q));
  return Response::Json(encode::RunList(page, ctx.services->layout));
}

}  // namespace runicorn::server
