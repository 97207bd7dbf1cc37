// Runicorn v0.6's path hierarchy, path export and storage statistics (docs/API.md "Runicorn v0.6
// paths"). Transport only: parse, call ctx.services->paths (and ->archives for the zip), encode
// (encode/compat_v06_json.h).

#include <boost/json.hpp>
#include <fmt/format.h>

#include "encode/compat_v06_json.h"
#include "server/bodies.h"
#include "server/errors.h"
#include "server/handlers.h"
#include "server/params.h"

namespace runicorn::server {
namespace bj = boost::json;
using runtrack::Result;
using runtrack::Status;

namespace {

// ?path=&exact= (a bad path is 400, as the v0.6 viewer answers a ValueError).
Result<service::PathSelection> SelectionFromQuery(const Request& req) {
  service::PathSelection sel;
  const std::string* path = req.query.Get("path");
  RUNTRACK_ASSIGN_OR_RETURN(sel.path, service::PathService::NormalizePath(path ? *path : ""));
  RUNTRACK_ASSIGN_OR_RETURN(auto exact, GetBool(req.query, "exact"));
  sel.exact = exact.value_or(false);
  return sel;
}

}  // namespace

Response HandleListPaths(const AppContext& ctx, const Request& req) {
  RUNICORN_ASSIGN_PARAM_OR_422(auto include_stats, GetBool(req.query, "include_stats"));
  RUNICORN_ASSIGN_OR_RESPOND(auto listing, ctx.services->paths.List());
  return Response::Json(encode::PathListing(listing, include_stats.value_or(false)));
}

Response HandlePathTree(const AppContext& ctx, const Request&) {
  RUNICORN_ASSIGN_OR_RESPOND(auto listing, ctx.services->paths.List());
  return Response::Json(bj::object{{"tree", encode::PathTree(listing.paths)}});
}

Response HandlePathRuns(const AppContext& ctx, const Request& req) {
  RUNICORN_ASSIGN_OR_RESPOND(auto sel, SelectionFromQuery(req));
  RUNICORN_ASSIGN_OR_RESPOND(auto runs, ctx.services->paths.Runs(sel));
  return Response::Json(encode::PathRuns(runs, ctx.services->layout));
}

Response HandlePathSoftDelete(const AppContext& ctx, const Request& req) {
  RUNICORN_ASSIGN_OR_RESPOND(bj::object body, ParseJsonObject(req.body));
  const bj::value* path = body.if_contains("path");
  if (path == nullptr || !path->is_string()) return Response::Error(400, "path is required and must be a string");
  const bj::value* exact = body.if_contains("exact");
  if (exact != nullptr && !exact->is_bool() && !exact->is_null()) return Response::Error(400, "exact must be a boolean");
  service::PathSelection sel;
  RUNICORN_ASSIGN_OR_RESPOND(sel.path, service::PathService::NormalizePath(path->as_string()));
  sel.exact = exact != nullptr && exact->is_bool() && exact->as_bool();
  RUNICORN_ASSIGN_OR_RESPOND(auto result, ctx.services->paths.SoftDelete(sel));
  return Response::Json(encode::PathSoftDeleted(sel.path, result));
}

Response HandlePathExport(const AppContext& ctx, const Request& req) {
  RUNICORN_ASSIGN_OR_RESPOND(auto sel, SelectionFromQuery(req));
  const std::string* format = req.query.Get("format");
  const std::string fmt_name = format == nullptr || format->empty() ? "json" : *format;
  if (fmt_name != "json" && fmt_name != "zip")
    return Response::Error(400, fmt::format("Unsupported format '{}': use json or zip", fmt_name));
  RUNICORN_ASSIGN_OR_RESPOND(auto runs, ctx.services->paths.Export(sel));
  bj::object index = encode::PathExport(sel, runs);
  if (fmt_name == "json") return Response::Json(index);
  if (runs.empty()) return Response::Error(404, "No runs found under this path");
  std::vector<std::string> paths;
  for (const auto& d : runs) paths.push_back(service::PathService::PathOf(d.run));
  RUNICORN_ASSIGN_OR_RESPOND(auto zip, ctx.services->archives.ExportZip(runs, paths, bj::serialize(index)));
  auto body = FileBody::OpenTemporary(zip.file, zip.size);
  if (!body.ok()) return ErrorResponse(body.status());
  Response resp = Response::Stream(*body, "application/zip");
  resp.AddHeader("Content-Disposition", fmt::format("attachment; filename=\"{}\"", encode::PathExportFileName(sel.path)));
  return resp;
}

Response HandleStorageStats(const AppContext& ctx, const Request&) {
  RUNICORN_ASSIGN_OR_RESPOND(auto usage, ctx.services->paths.Storage());
  return Response::Json(encode::StorageStats(usage));
}

}  // namespace runicorn::server
