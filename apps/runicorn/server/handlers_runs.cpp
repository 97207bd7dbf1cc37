// v1 runs, recycle bin and project hierarchy (runs_api.md, API_INDEX.md "Projects API").
#include <set>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "server/errors.h"
#include "server/handlers.h"
#include "server/json_codec.h"
#include "server/params.h"

namespace runicorn::server {
namespace bj = boost::json;

namespace {

// Runicorn caps v1 batch operations at 100 ids.
constexpr size_t kMaxBatch = 100;

bj::array RunList(const AppContext& ctx, const runtrack::RunPage& page) {
  bj::array out;
  out.reserve(page.runs.size());
  for (const auto& r : page.runs) out.push_back(json::RunListItem(r, ctx.root));
  return out;
}

// Parses {"run_ids": [...]}: every id validated up front, so one bad id rejects the request
// before anything changes (Runicorn answers 400 "Invalid run_id format").
runtrack::Result<std::vector<std::string>> RunIdsFromBody(const Request& req, std::string_view field,
                                                          size_t max) {
  RUNTRACK_ASSIGN_OR_RETURN(bj::object body, ParseJsonObject(req.body));
  auto ids = GetStringList(body, field, max);
  if (!ids.ok()) {
    if (body.if_contains(field) && body.at(field).is_array() && body.at(field).as_array().size() > max)
      return runtrack::Status::InvalidArgument(fmt::format("Cannot delete more than {} runs at once", max));
    return ids.status();
  }
  for (const auto& id : *ids) RUNTRACK_RETURN_IF_ERROR(CheckRunIdParam(id));
  return ids;
}

// Applies `op` to every id and reports per-id results in Runicorn's shape.
template <typename Op>
std::pair<int, bj::object> ApplyEach(const std::vector<std::string>& ids, Op op) {
  bj::object results;
  int ok = 0;
  for (const auto& id : ids) {
    runtrack::Status s = op(id);
    if (s.ok()) {
      ++ok;
      results[id] = bj::object{{"success", true}};
    } else {
      results[id] = bj::object{{"success", false}, {"error", s.message()}};
    }
  }
  return {ok, std::move(results)};
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
  RUNICORN_ASSIGN_OR_RESPOND(runtrack::RunPage page, ctx.catalog->ListRuns(q));
  return Response::Json(RunList(ctx, page));
}

Response HandleGetRun(const AppContext& ctx, const Request& req) {
  const std::string& id = req.Param("run_id");
  RUNICORN_RETURN_IF_ERROR(CheckRunIdParam(id));
  auto detail = ctx.catalog->GetRun(id);
  if (!detail.ok() && detail.status().code() == runtrack::StatusCode::kNotFound)
    return Response::Error(404, "Run not found");
  RUNICORN_RETURN_IF_ERROR(detail.status());
  return Response::Json(json::RunDetail(*detail, ctx.root));
}

Response HandleSoftDelete(const AppContext& ctx, const Request& req) {
  RUNICORN_ASSIGN_OR_RESPOND(auto ids, RunIdsFromBody(req, "run_ids", kMaxBatch));
  auto [ok, results] = ApplyEach(ids, [&](const std::string& id) { return ctx.catalog->SoftDelete(id); });
  return Response::Json(bj::object{{"deleted_count", ok},
                                   {"results", std::move(results)},
                                   {"message", fmt::format("Soft deleted {} of {} runs", ok, ids.size())}});
}

Response HandleRecycleBin(const AppContext& ctx, const Request&) {
  runtrack::RunQuery q;
  q.deleted_only = true;
  RUNICORN_ASSIGN_OR_RESPOND(runtrack::RunPage page, ctx.catalog->ListRuns(q));
  bj::array out;
  for (const auto& r : page.runs) out.push_back(json::DeletedRun(r, ctx.root));
  return Response::Json(bj::object{{"deleted_runs", std::move(out)}});
}

Response HandleRestore(const AppContext& ctx, const Request& req) {
  RUNICORN_ASSIGN_OR_RESPOND(auto ids, RunIdsFromBody(req, "run_ids", kMaxBatch));
  auto [ok, results] = ApplyEach(ids, [&](const std::string& id) { return ctx.catalog->Restore(id); });
  return Response::Json(bj::object{{"restored_count", ok},
                                   {"results", std::move(results)},
                                   {"message", fmt::format("Restored {} of {} runs", ok, ids.size())}});
}

Response HandleEmptyRecycleBin(const AppContext& ctx, const Request& req) {
  RUNICORN_ASSIGN_OR_RESPOND(bj::object body, ParseJsonObject(req.body));
  const bj::value* confirm = body.if_contains("confirm");
  if (confirm == nullptr || !confirm->is_bool() || !confirm->get_bool())
    return Response::Error(400, "Must set confirm=true to permanently delete");
  runtrack::RunQuery q;
  q.deleted_only = true;
  RUNICORN_ASSIGN_OR_RESPOND(runtrack::RunPage page, ctx.catalog->ListRuns(q));
  int deleted = 0;
  bj::object failed;
  for (const auto& r : page.runs) {
    runtrack::Status s = ctx.catalog->PermanentDelete(r.id);
    if (s.ok()) {
      ++deleted;
    } else {
      failed[r.id] = s.message();  // e.g. a run still writing: never removed under its writer
    }
  }
  return Response::Json(bj::object{{"permanently_deleted", deleted},
                                   {"failed", std::move(failed)},
                                   {"message", fmt::format("Permanently deleted {} runs", deleted)}});
}

Response HandleProjects(const AppContext& ctx, const Request&) {
  RUNICORN_ASSIGN_OR_RESPOND(runtrack::RunPage page, ctx.catalog->ListRuns(runtrack::RunQuery{}));
  std::set<std::string> projects;
  for (const auto& r : page.runs) projects.insert(r.project);
  bj::array out;
  for (const auto& p : projects) out.emplace_back(p);
  return Response::Json(bj::object{{"projects", std::move(out)}});
}

Response HandleProjectNames(const AppContext& ctx, const Request& req) {
  runtrack::RunQuery q;
  q.project = req.Param("project");
  RUNICORN_ASSIGN_OR_RESPOND(runtrack::RunPage page, ctx.catalog->ListRuns(q));
  std::set<std::string> names;
  for (const auto& r : page.runs) names.insert(r.name);
  bj::array out;
  for (const auto& n : names) out.emplace_back(n);
  return Response::Json(bj::object{{"names", std::move(out)}});
}

Response HandleProjectNameRuns(const AppContext& ctx, const Request& req) {
  runtrack::RunQuery q;
  q.project = req.Param("project");
  q.name = req.Param("name");
  RUNICORN_ASSIGN_OR_RESPOND(runtrack::RunPage page, ctx.catalog->ListRuns(q));
  return Response::Json(RunList(ctx, page));
}

}  // namespace runicorn::server
