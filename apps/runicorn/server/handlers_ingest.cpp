// PUT /api/ingest/{run_id}/{stream}?offset=N: journal shipping's receiving end (docs/REMOTE.md).
// The body is a zstd frame of raw journal records (application/octet-stream, the one route the
// middleware lets through without JSON: see Route::raw_body).
#include <boost/json.hpp>

#include "server/errors.h"
#include "server/handlers.h"
#include "server/ingest_forwarding.h"
#include "runtrack/remote.h"

namespace runicorn::server {

Response HandleIngest(const AppContext& ctx, const Request& req) {
  const std::string* offset = req.query.Get("offset");
  if (offset == nullptr) return Response::Error(400, "Missing query parameter 'offset'");
  // Replicas: a run another replica owns is appended there, never here (ingest_forwarding.h).
  if (ctx.ingest_forwarding)
    if (auto routed = ctx.ingest_forwarding->Route(req, req.Param("run_id"))) return std::move(*routed);
  auto ack = ctx.services->ingest.Ingest(req.Param("run_id"), req.Param("stream"), *offset, req.body);
  if (!ack.ok()) return ErrorResponse(ack.status());
  if (ack->gap) {
    boost::json::object body{{"detail", "offset is past the end of the server's copy; resend from expected_offset"},
                             {"expected_offset", ack->offset}};
    return Response::Json(body, 409);
  }
  return Response::Json(boost::json::object{{"durable_offset", ack->offset}});
}

// GET /api/ingest/{run_id}/state?stream=S (docs/REMOTE.md "Sealed confirmation"): routed like an
// ingest, so a replica that takes a dead owner's run over answers from its own (empty) copy and the
// writer resends. 404 carries durable_offset 0, which tells it from a server without this route.
Response HandleIngestState(const AppContext& ctx, const Request& req) {
  const std::string* stream_param = req.query.Get("stream");
  const std::string stream = stream_param != nullptr ? *stream_param : std::string(runtrack::kDefaultJournalStream);
  if (ctx.ingest_forwarding)
    if (auto routed = ctx.ingest_forwarding->Route(req, req.Param("run_id"))) return std::move(*routed);
  auto state = ctx.services->ingest.State(req.Param("run_id"), stream);
  if (!state.ok()) {
    if (state.status().code() != runtrack::StatusCode::kNotFound) return ErrorResponse(state.status());
    return Response::Json(boost::json::object{{"detail", state.status().message()}, {"durable_offset", 0}}, 404);
  }
  boost::json::object body{{"durable_offset", state->durable_offset}, {"seal_required", state->seal_required}};
  if (state->seal_required) {
    body["final"] = state->seal.final;
    body["sealed"] = state->seal.sealed;
  }
  return Response::Json(body);
}

}  // namespace runicorn::server
