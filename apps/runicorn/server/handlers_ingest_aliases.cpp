// A writer's user aliases of shipped artifacts (docs/REMOTE.md "Artifacts", "User aliases"):
//   PUT    /api/ingest/artifacts/{name}/aliases/{alias}  {"version": N}  -> points it at vN
//   DELETE /api/ingest/artifacts/{name}/aliases/{alias}?version=N        -> removes it if at vN
// Ingest scope, like the other ingest routes: a node's ingest token may move its aliases, not
// read the store.
#include <boost/json.hpp>

#include "server/errors.h"
#include "server/handlers.h"
#include "server/params.h"

namespace runicorn::server {
namespace bj = boost::json;

Response HandleIngestSetAlias(const AppContext& ctx, const Request& req) {
  RUNICORN_ASSIGN_OR_RESPOND(bj::object body, ParseStrictJsonObject(req.body, {"version"}));
  const bj::value* v = body.if_contains("version");
  if (v == nullptr || !v->is_int64())
    return Response::Error(400, "version is required and must be an integer >= 1");
  const std::string& name = req.Param("name");
  const std::string& alias = req.Param("alias");
  RUNICORN_ASSIGN_OR_RESPOND(bool changed, ctx.services->artifact_ingest.SetAlias(name, alias, v->get_int64()));
  return Response::Json(bj::object{{"name", name}, {"alias", alias}, {"version", v->get_int64()}, {"changed", changed}});
}

Response HandleIngestRemoveAlias(const AppContext& ctx, const Request& req) {
  const std::string& name = req.Param("name");
  const std::string& alias = req.Param("alias");
  RUNICORN_ASSIGN_OR_RESPOND(bool removed,
                             ctx.services->artifact_ingest.RemoveAlias(name, alias, req.query.Get("version")));
  return Response::Json(bj::object{{"name", name}, {"alias", alias}, {"removed", removed}});
}

}  // namespace runicorn::server
