// PUT /api/ingest/{run_id}/{stream}?offset=N: journal shipping's receiving end (docs/REMOTE.md).
// The body is a zstd frame of raw journal records (application/octet-stream, the one route the
// middleware lets through without JSON: see Route::raw_body).
#include <boost/json.hpp>

#include "server/errors.h"
#include "server/handlers.h"
#include "server/ingest_forwarding.h"

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

}  // namespace runicorn::server
