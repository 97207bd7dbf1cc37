// /api/artifacts (artifacts_api.md) plus what Runicorn's docs list as "planned": alias set/move and
// removal, restore of a soft-deleted version and file download. ArtifactService validates names,
// versions, aliases and file paths before the artifact store sees them.
#include <boost/json.hpp>
#include <fmt/format.h>

#include "encode/api_json.h"
#include "runtrack/json_codec.h"
#include "server/errors.h"
#include "server/handlers.h"
#include "server/bodies.h"
#include "server/params.h"

namespace runicorn::server {
namespace bj = boost::json;
namespace json = runtrack::json;
using runtrack::Result;
using runtrack::Status;

namespace {

// Name + version (+ type hint) of a version route; fills `error` on failure.
std::optional<service::VersionRef> ParseVersionRef(const Request& req, Response* error) {
  service::VersionRef ref;
  ref.name = req.Param("name");
  if (Status s = runtrack::ValidateArtifactName(ref.name); !s.ok()) {
    *error = Response::Error(400, fmt::format("Invalid artifact name: {}", s.message()));
    return std::nullopt;
  }
  auto v = service::ParseVersion(req.Param("version"));
  if (!v.ok()) {
    *error = ErrorResponse(v.status());
    return std::nullopt;
  }
  ref.version = *v;
  auto type = GetArtifactType(req.query);
  if (!type.ok()) {
    *error = Response::Error(422, type.status().message());
    return std::nullopt;
  }
  ref.type = *type;
  return ref;
}

}  // namespace

Response HandleListArtifacts(const AppContext& ctx, const Request& req) {
  RUNICORN_ASSIGN_PARAM_OR_422(auto type, GetArtifactType(req.query));
  RUNICORN_ASSIGN_OR_RESPOND(auto list, ctx.services->artifacts.List(type));
  return Response::Json(encode::ArtifactList(list));
}

Response HandleArtifactStats(const AppContext& ctx, const Request&) {
  RUNICORN_ASSIGN_OR_RESPOND(auto stats, ctx.services->artifacts.Stats());
  return Response::Json(json::ArtifactStats(stats));
}

Response HandleArtifactVersions(const AppContext& ctx, const Request& req) {
  const std::string& name = req.Param("name");
  if (Status s = runtrack::ValidateArtifactName(name); !s.ok())
    return Response::Error(400, fmt::format("Invalid artifact name: {}", s.message()));
  RUNICORN_ASSIGN_PARAM_OR_422(auto type, GetArtifactType(req.query));
  RUNICORN_ASSIGN_PARAM_OR_422(auto include_deleted, GetBool(req.query, "include_deleted"));
  RUNICORN_ASSIGN_OR_RESPOND(auto versions,
                             ctx.services->artifacts.Versions(name, type, include_deleted.value_or(false)));
  return Response::Json(encode::ArtifactVersions(versions));
}

Response HandleArtifactVersion(const AppContext& ctx, const Request& req) {
  Response error;
  auto ref = ParseVersionRef(req, &error);
  if (!ref) return error;
  RUNICORN_ASSIGN_OR_RESPOND(auto info, ctx.services->artifacts.Version(*ref));
  return Response::Json(json::ArtifactVersion(info));
}

Response HandleArtifactFiles(const AppContext& ctx, const Request& req) {
  Response error;
  auto ref = ParseVersionRef(req, &error);
  if (!ref) return error;
  RUNICORN_ASSIGN_OR_RESPOND(auto files, ctx.services->artifacts.Files(*ref));
  RUNICORN_ASSIGN_OR_RESPOND(auto info, ctx.services->artifacts.Version(*ref));
  bj::object body = json::ArtifactFiles(files);
  // Runicorn's modified_at is the source file's mtime when it was logged; our manifests keep no
  // mtimes, so each file carries the time its version was published (docs/API.md).
  for (auto& f : body["files"].as_array()) f.as_object()["modified_at"] = json::Number(info.created_at);
  return Response::Json(body);
}

Response HandleArtifactDownload(const AppContext& ctx, const Request& req) {
  Response error;
  auto ref = ParseVersionRef(req, &error);
  if (!ref) return error;
  const std::string* path = req.query.Get("path");
  if (path == nullptr || path->empty()) return Response::Error(422, "Missing query parameter 'path'");
  RUNICORN_ASSIGN_OR_RESPOND(auto download, ctx.services->artifacts.OpenFile(*ref, *path));
  Response r = Response::Stream(std::make_shared<ArtifactBody>(std::move(download.reader)), "application/octet-stream");
  r.AddHeader("Content-Disposition", fmt::format("attachment; filename=\"{}\"", download.filename));
  return r;
}

Response HandleArtifactLineage(const AppContext& ctx, const Request& req) {
  Response error;
  auto ref = ParseVersionRef(req, &error);
  if (!ref) return error;
  RUNICORN_ASSIGN_PARAM_OR_422(auto depth, GetInt(req.query, "max_depth", 0, 10));
  const int max_depth = static_cast<int>(depth.value_or(3));
  RUNICORN_ASSIGN_OR_RESPOND(auto view, ctx.services->artifacts.Lineage(*ref, max_depth));
  return Response::Json(encode::Lineage(view, max_depth));
}

Response HandleDeleteArtifactVersion(const AppContext& ctx, const Request& req) {
  Response error;
  auto ref = ParseVersionRef(req, &error);
  if (!ref) return error;
  RUNICORN_ASSIGN_PARAM_OR_422(auto permanent, GetBool(req.query, "permanent"));
  const bool perm = permanent.value_or(false);
  RUNICORN_RETURN_IF_ERROR(ctx.services->artifacts.Delete(*ref, perm));
  return Response::Json(encode::ArtifactDeleted(*ref, perm));
}

Response HandleRestoreArtifactVersion(const AppContext& ctx, const Request& req) {
  Response error;
  auto ref = ParseVersionRef(req, &error);
  if (!ref) return error;
  RUNICORN_RETURN_IF_ERROR(ctx.services->artifacts.Restore(*ref));
  return Response::Json(encode::ArtifactRestored(*ref));
}

Response HandleArtifactAliases(const AppContext& ctx, const Request& req) {
  const std::string& name = req.Param("name");
  RUNICORN_ASSIGN_OR_RESPOND(auto aliases, ctx.services->artifacts.Aliases(name));
  return Response::Json(json::ArtifactAliases(name, aliases));
}

Response HandleSetArtifactAlias(const AppContext& ctx, const Request& req) {
  const std::string& name = req.Param("name");
  const std::string& alias = req.Param("alias");
  if (Status s = runtrack::ValidateArtifactName(name); !s.ok())
    return Response::Error(400, fmt::format("Invalid artifact name: {}", s.message()));
  if (Status s = runtrack::ValidateAliasName(alias); !s.ok())
    return Response::Error(400, fmt::format("Invalid alias: {}", s.message()));
  RUNICORN_ASSIGN_OR_RESPOND(bj::object body, ParseJsonObject(req.body));
  const bj::value* v = body.if_contains("version");
  if (v == nullptr || !v->is_int64() || v->get_int64() < 1 || v->get_int64() > 1000000000)
    return Response::Error(400, "version is required and must be an integer >= 1");
  const int version = static_cast<int>(v->get_int64());
  RUNICORN_ASSIGN_OR_RESPOND(auto aliases, ctx.services->artifacts.SetAlias(name, alias, version));
  return Response::Json(encode::AliasSet(name, alias, version, aliases));
}

Response HandleDeleteArtifactAlias(const AppContext& ctx, const Request& req) {
  const std::string& name = req.Param("name");
  const std::string& alias = req.Param("alias");
  RUNICORN_RETURN_IF_ERROR(ctx.services->artifacts.RemoveAlias(name, alias));
  return Response::Json(encode::AliasRemoved(name, alias));
}

}  // namespace runicorn::server
