// /api/health and /api/config.
#include <boost/json.hpp>

#include "encode/api_json.h"
#include "encode/compat_json.h"
#include "server/errors.h"
#include "server/handlers.h"
#include "server/params.h"

namespace runicorn::server {
namespace bj = boost::json;

Response HandleHealth(const AppContext& ctx, const Request&) {
  // "ok", as Runicorn's server says (its client's "healthy" check is a known bug, DESIGN.md);
  // "degraded" while ingestion fails (the viewer still serves what it has indexed), with the
  // reason. A start-up index in progress is not degraded: "index" shows its progress.
  const service::IngestHealthSnapshot h = ctx.storage->ingest_health().Get();
  const bool degraded = h.state == "degraded";
  bj::object index{{"state", h.state},
                   {"runs_indexed", h.runs_indexed},
                   {"runs_total", h.runs_total},
                   {"ingest_errors", h.ingest_errors},
                   {"failed_passes", h.failed_passes},
                   {"catalog_reopens", h.catalog_reopens}};
  if (degraded) {
    index["degraded_since"] = h.degraded_since;
    index["retry_ms"] = h.retry_ms;
  }
  bj::object body{{"status", degraded ? "degraded" : "ok"},
                  {"version", ctx.version},
                  {"storage", ctx.root.string()},
                  {"timestamp", NowSeconds()},
                  {"index_generation", ctx.index_generation.load()},
                  {"index", std::move(index)}};
  if (degraded) body["reason"] = h.reason;
  // Runicorn's metrics cache; ours is the catalog's LOD pyramids (docs/API.md).
  body["cache"] = encode::HealthCache(ctx.services->maintenance ? ctx.services->maintenance->Cache()
                                                                : service::CacheStats{});
  return Response::Json(std::move(body));
}

Response HandleGetConfig(const AppContext& ctx, const Request&) {
  return Response::Json(encode::Config(ctx.services->config.Get()));
}

// Runicorn switches the viewer's storage root live; we save it for the next start instead
// (ConfigService::SetUserRootDir says why), and "storage" stays the root actually served.
Response HandleSetUserRootDir(const AppContext& ctx, const Request& req) {
  RUNICORN_ASSIGN_OR_RESPOND(bj::object body, ParseJsonObject(req.body));
  const bj::value* path = body.if_contains("path");
  if (path == nullptr || !path->is_string() || path->as_string().empty())
    return Response::Error(400, "path is required and must be a non-empty string");
  RUNICORN_ASSIGN_OR_RESPOND(auto change, ctx.services->config.SetUserRootDir(std::string(path->as_string())));
  return Response::Json(encode::UserRootSaved(change, ctx.root.string()));
}

}  // namespace runicorn::server
