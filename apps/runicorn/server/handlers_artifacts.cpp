// /api/artifacts (artifacts_api.md) plus what Runicorn's docs list as "planned": alias set/move and
// removal, restore of a soft-deleted version and file download.
//
// Names are checked with ValidateArtifactName and file paths with ValidateArtifactPath before the
// artifact store sees them, so nothing from a request can name a file outside the store.
#include <boost/json.hpp>
#include <fmt/format.h>

#include "runtrack/artifacts.h"
#include "server/errors.h"
#include "server/handlers.h"
#include "server/json_codec.h"
#include "server/params.h"

namespace runicorn::server {
namespace bj = boost::json;
using runtrack::Result;
using runtrack::Status;

namespace {

Status CheckName(const std::string& name) {
  Status s = runtrack::ValidateArtifactName(name);
  if (!s.ok()) return Status::InvalidArgument(fmt::format("Invalid artifact name: {}", s.message()));
  return Status::Ok();
}

Result<int> VersionParam(const Request& req) {
  auto v = ParseInt64(req.Param("version"));
  if (!v.ok() || *v < 1 || *v > 1000000000) return Status::InvalidArgument("Invalid version: expected v<N> with N >= 1");
  return static_cast<int>(*v);
}

// The optional ?type= hint: 422 when it is no artifact type, 404 when the artifact has another.
Result<std::optional<runtrack::ArtifactType>> TypeHint(const Request& req) {
  const std::string* t = req.query.Get("type");
  if (t == nullptr || t->empty()) return std::optional<runtrack::ArtifactType>();
  auto type = runtrack::ParseArtifactType(*t);
  if (!type.ok()) return type.status();
  return std::optional<runtrack::ArtifactType>(*type);
}

// Name + version (+ type hint) of a version route, validated; fills `error` on failure.
struct VersionRef {
  std::string name;
  int version = 0;
  std::optional<runtrack::ArtifactType> type;
};
std::optional<VersionRef> ParseVersionRef(const Request& req, Response* error) {
  VersionRef ref;
  ref.name = req.Param("name");
  if (Status s = CheckName(ref.name); !s.ok()) {
    *error = ErrorResponse(s);
    return std::nullopt;
  }
  auto v = VersionParam(req);
  if (!v.ok()) {
    *error = Response::Error(400, v.status().message());
    return std::nullopt;
  }
  ref.version = *v;
  auto type = TypeHint(req);
  if (!type.ok()) {
    *error = Response::Error(422, fmt::format("Invalid query parameter 'type': {}", type.status().message()));
    return std::nullopt;
  }
  ref.type = *type;
  return ref;
}

Response NotFoundWithType(const VersionRef& ref) {
  return Response::Error(404, fmt::format("Artifact not found: {} of type {}", ref.name,
                                          runtrack::ArtifactTypeName(*ref.type)));
}

}  // namespace

Response HandleListArtifacts(const AppContext& ctx, const Request& req) {
  auto type = TypeHint(req);
  if (!type.ok()) return Response::Error(422, fmt::format("Invalid query parameter 'type': {}", type.status().message()));
  RUNICORN_ASSIGN_OR_RESPOND(auto list, ctx.artifacts->ListArtifacts(*type));
  bj::array out;
  for (const auto& a : list) out.push_back(json::ArtifactSummary(a));
  return Response::Json(out);
}

Response HandleArtifactStats(const AppContext& ctx, const Request&) {
  RUNICORN_ASSIGN_OR_RESPOND(auto stats, ctx.artifacts->Stats());
  return Response::Json(json::ArtifactStats(stats));
}

Response HandleArtifactVersions(const AppContext& ctx, const Request& req) {
  const std::string& name = req.Param("name");
  RUNICORN_RETURN_IF_ERROR(CheckName(name));
  auto type = TypeHint(req);
  if (!type.ok()) return Response::Error(422, fmt::format("Invalid query parameter 'type': {}", type.status().message()));
  RUNICORN_ASSIGN_PARAM_OR_422(auto include_deleted, GetBool(req.query, "include_deleted"));
  RUNICORN_ASSIGN_OR_RESPOND(auto versions, ctx.artifacts->ListVersions(name, include_deleted.value_or(false)));
  bj::array out;
  for (const auto& v : versions) {
    if (*type && v.type != **type) return Response::Error(404, fmt::format("Artifact not found: {}", name));
    out.push_back(json::ArtifactVersion(v));
  }
  return Response::Json(out);
}

Response HandleArtifactVersion(const AppContext& ctx, const Request& req) {
  Response error;
  auto ref = ParseVersionRef(req, &error);
  if (!ref) return error;
  RUNICORN_ASSIGN_OR_RESPOND(auto info, ctx.artifacts->GetVersion(ref->name, ref->version));
  if (ref->type && info.type != *ref->type) return NotFoundWithType(*ref);
  return Response::Json(json::ArtifactVersion(info));
}

Response HandleArtifactFiles(const AppContext& ctx, const Request& req) {
  Response error;
  auto ref = ParseVersionRef(req, &error);
  if (!ref) return error;
  if (ref->type) {
    RUNICORN_ASSIGN_OR_RESPOND(auto info, ctx.artifacts->GetVersion(ref->name, ref->version));
    if (info.type != *ref->type) return NotFoundWithType(*ref);
  }
  RUNICORN_ASSIGN_OR_RESPOND(auto files, ctx.artifacts->ListFiles(ref->name, ref->version));
  return Response::Json(json::ArtifactFiles(files));
}

Response HandleArtifactDownload(const AppContext& ctx, const Request& req) {
  Response error;
  auto ref = ParseVersionRef(req, &error);
  if (!ref) return error;
  const std::string* path = req.query.Get("path");
  if (path == nullptr || path->empty()) return Response::Error(422, "Missing query parameter 'path'");
  if (Status s = runtrack::ValidateArtifactPath(*path); !s.ok())
    return Response::Error(400, fmt::format("Invalid file path: {}", s.message()));
  // Use() with no run id records no lineage: a download from the viewer is not a run using it.
  RUNICORN_ASSIGN_OR_RESPOND(auto handle, ctx.artifacts->Use(fmt::format("{}:v{}", ref->name, ref->version), ""));
  if (ref->type && handle.info().type != *ref->type) return NotFoundWithType(*ref);
  RUNICORN_ASSIGN_OR_RESPOND(std::string bytes, handle.ReadFile(*path));
  std::string base = path->substr(path->rfind('/') + 1);
  std::string safe;
  for (char c : base) safe.push_back(c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20 ? '_' : c);
  Response r = Response::Text(std::move(bytes), "application/octet-stream");
  r.AddHeader("Content-Disposition", fmt::format("attachment; filename=\"{}\"", safe));
  return r;
}

Response HandleArtifactLineage(const AppContext& ctx, const Request& req) {
  Response error;
  auto ref = ParseVersionRef(req, &error);
  if (!ref) return error;
  RUNICORN_ASSIGN_PARAM_OR_422(auto depth, GetInt(req.query, "max_depth", 0, 10));
  if (ref->type) {
    RUNICORN_ASSIGN_OR_RESPOND(auto info, ctx.artifacts->GetVersion(ref->name, ref->version));
    if (info.type != *ref->type) return NotFoundWithType(*ref);
  }
  RUNICORN_ASSIGN_OR_RESPOND(auto graph, ctx.artifacts->Lineage(ref->name, ref->version, static_cast<int>(depth.value_or(3))));
  bj::array nodes;
  for (const auto& n : graph.nodes) {
    bj::object meta;
    if (n.node_type == "artifact") {
      meta = bj::object{{"type", n.artifact_type}, {"size", n.size_bytes}, {"status", n.status}};
    } else if (auto run = ctx.catalog->GetRun(n.node_id); run.ok()) {
      meta = bj::object{{"project", run->run.project},
                        {"name", run->run.name},
                        {"status", runtrack::RunStatusName(run->run.status)}};
    }
    nodes.push_back(bj::object{{"node_type", n.node_type},
                               {"node_id", n.node_id},
                               {"label", n.label},
                               {"depth", n.depth},
                               {"direction", n.direction},
                               {"metadata", std::move(meta)}});
  }
  bj::array edges;
  for (const auto& e : graph.edges)
    edges.push_back(bj::object{{"source", e.source}, {"target", e.target}, {"edge_type", e.edge_type}});
  return Response::Json(bj::object{{"root_artifact", graph.root_artifact},
                                   {"nodes", std::move(nodes)},
                                   {"edges", std::move(edges)},
                                   {"max_depth", depth.value_or(3)}});
}

Response HandleDeleteArtifactVersion(const AppContext& ctx, const Request& req) {
  Response error;
  auto ref = ParseVersionRef(req, &error);
  if (!ref) return error;
  RUNICORN_ASSIGN_PARAM_OR_422(auto permanent, GetBool(req.query, "permanent"));
  if (ref->type) {
    RUNICORN_ASSIGN_OR_RESPOND(auto info, ctx.artifacts->GetVersion(ref->name, ref->version));
    if (info.type != *ref->type) return NotFoundWithType(*ref);
  }
  bool perm = permanent.value_or(false);
  RUNICORN_RETURN_IF_ERROR(ctx.artifacts->Delete(ref->name, ref->version,
                                                 perm ? runtrack::DeleteMode::kPermanent : runtrack::DeleteMode::kSoft));
  return Response::Json(bj::object{
      {"success", true},
      {"permanent", perm},
      {"message", fmt::format("{} {}:v{} locally", perm ? "Permanently deleted" : "Soft deleted", ref->name, ref->version)}});
}

Response HandleRestoreArtifactVersion(const AppContext& ctx, const Request& req) {
  Response error;
  auto ref = ParseVersionRef(req, &error);
  if (!ref) return error;
  RUNICORN_RETURN_IF_ERROR(ctx.artifacts->Restore(ref->name, ref->version));
  return Response::Json(bj::object{{"success", true}, {"message", fmt::format("Restored {}:v{}", ref->name, ref->version)}});
}

Response HandleArtifactAliases(const AppContext& ctx, const Request& req) {
  const std::string& name = req.Param("name");
  RUNICORN_RETURN_IF_ERROR(CheckName(name));
  RUNICORN_ASSIGN_OR_RESPOND(auto aliases, ctx.artifacts->Aliases(name));
  bj::object out;
  for (const auto& [alias, v] : aliases) out[alias] = v;
  return Response::Json(bj::object{{"name", name}, {"aliases", std::move(out)}});
}

Response HandleSetArtifactAlias(const AppContext& ctx, const Request& req) {
  const std::string& name = req.Param("name");
  const std::string& alias = req.Param("alias");
  RUNICORN_RETURN_IF_ERROR(CheckName(name));
  if (Status s = runtrack::ValidateAliasName(alias); !s.ok())
    return Response::Error(400, fmt::format("Invalid alias: {}", s.message()));
  RUNICORN_ASSIGN_OR_RESPOND(bj::object body, ParseJsonObject(req.body));
  const bj::value* v = body.if_contains("version");
  if (v == nullptr || !v->is_int64() || v->get_int64() < 1 || v->get_int64() > 1000000000)
    return Response::Error(400, "version is required and must be an integer >= 1");
  int version = static_cast<int>(v->get_int64());
  RUNICORN_RETURN_IF_ERROR(ctx.artifacts->SetAlias(name, alias, version));
  RUNICORN_ASSIGN_OR_RESPOND(auto aliases, ctx.artifacts->Aliases(name));
  bj::object out;
  for (const auto& [a, ver] : aliases) out[a] = ver;
  return Response::Json(bj::object{{"success", true},
                                   {"name", name},
                                   {"alias", alias},
                                   {"version", version},
                                   {"aliases", std::move(out)}});
}

Response HandleDeleteArtifactAlias(const AppContext& ctx, const Request& req) {
  const std::string& name = req.Param("name");
  const std::string& alias = req.Param("alias");
  RUNICORN_RETURN_IF_ERROR(CheckName(name));
  if (Status s = runtrack::ValidateAliasName(alias); !s.ok())
    return Response::Error(400, fmt::format("Invalid alias: {}", s.message()));
  RUNICORN_RETURN_IF_ERROR(ctx.artifacts->RemoveAlias(name, alias));
  return Response::Json(bj::object{{"success", true}, {"name", name}, {"alias", alias}});
}

}  // namespace runicorn::server
