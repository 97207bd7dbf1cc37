// A multi-process run's stream views (docs/REMOTE.md "Streams"):
//   GET /api/runs/{run_id}/streams                          the run's streams
//   GET /api/runs/{run_id}/stream-points?metric=M[&stream=S] one metric, merged by (step, stream)
//                                                           or one stream (rank) alone
#include "encode/stream_json.h"
#include "server/errors.h"
#include "server/handlers.h"
#include "server/read_forwarding.h"

namespace runicorn::server {

Response HandleRunStreams(const AppContext& ctx, const Request& req) {
  RUNICORN_FORWARD_READ_TO_OWNER(ctx, req);  // a live run of another replica: its owner answers
  const std::string run_id = req.Param("run_id");
  auto streams = ctx.services->stream_views.ListStreams(run_id);
  if (!streams.ok()) return ErrorResponse(streams.status());
  return Response::Json(encode::StreamListJson(run_id, *streams));
}

Response HandleStreamPoints(const AppContext& ctx, const Request& req) {
  RUNICORN_FORWARD_READ_TO_OWNER(ctx, req);  // a live run of another replica: its owner answers
  const std::string run_id = req.Param("run_id");
  const std::string* metric = req.query.Get("metric");
  if (metric == nullptr) return Response::Error(400, "Missing query parameter 'metric'");
  std::optional<std::string> stream;
  if (const std::string* s = req.query.Get("stream")) stream = *s;
  auto view = ctx.services->stream_views.Points(run_id, *metric, stream);
  if (!view.ok()) return ErrorResponse(view.status());
  return Response::Json(encode::StreamPointsJson(run_id, *view));
}

}  // namespace runicorn::server
