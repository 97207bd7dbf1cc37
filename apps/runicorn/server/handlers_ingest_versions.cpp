// A writer's version deletes and restores (docs/REMOTE.md "Deleting and restoring a version"):
//   PUT /api/ingest/artifacts/{name}/v{version}/state  {"state": "deleted" | "ready" | "purged"}
// Ingest scope and JSON body, like the alias routes. It goes through the served store's artifact
// repository, so with `viewer --catalog` the team catalog (PostgreSQL) gets it.
#include <boost/json.hpp>

#include "server/errors.h"
#include "server/handlers.h"
#include "server/params.h"

namespace runicorn::server {
namespace bj = boost::json;

Response HandleIngestVersionState(const AppContext& ctx, const Request& req) {
  RUNICORN_ASSIGN_OR_RESPOND(bj::object body, ParseStrictJsonObject(req.body, {"state"}));
  const bj::value* state = body.if_contains("state");
  if (state == nullptr || !state->is_string())
    return Response::Error(400, "state is required: \"ready\", \"deleted\" or \"purged\"");
  const std::string& name = req.Param("name");
  RUNICORN_ASSIGN_OR_RESPOND(auto ack, ctx.services->artifact_ingest.SetVersionState(
                                           ctx.services->artifacts, name, req.Param("version"),
                                           std::string_view(state->as_string())));
  return Response::Json(
      bj::object{{"name", name}, {"version", ack.version}, {"state", ack.state}, {"changed", ack.changed}});
}

}  // namespace runicorn::server
