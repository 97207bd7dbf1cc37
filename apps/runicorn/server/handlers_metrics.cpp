// GET /api/runs/{id}/metrics (time-based) and /metrics_step (step-based), metrics_api.md.
//
// Both take our optional chart parameters (metric_params.h); without downsample every point is
// returned, as Runicorn does.
#include "encode/api_json.h"
#include "server/errors.h"
#include "server/handlers.h"
#include "server/metric_params.h"

namespace runicorn::server {

Response HandleMetricsStep(const AppContext& ctx, const Request& req) {
  RUNICORN_ASSIGN_PARAM_OR_422(service::MetricTableQuery q, ParseMetricTableQuery(req.query));
  RUNICORN_ASSIGN_OR_RESPOND(auto table, ctx.services->metrics.QueryTable(req.Param("run_id"), q));
  return Response::Json(encode::MetricsStep(q, table));
}

Response HandleMetrics(const AppContext& ctx, const Request& req) {
  RUNICORN_ASSIGN_PARAM_OR_422(service::MetricTableQuery q, ParseMetricTableQuery(req.query));
  // Time-based charts: downsampling geometry on relative time unless the caller chose an axis.
  if (!req.query.Has("x_axis")) q.x_axis = runtrack::XAxis::kRelativeTime;
  RUNICORN_ASSIGN_OR_RESPOND(auto table, ctx.services->metrics.QueryTable(req.Param("run_id"), q));
  return Response::Json(encode::MetricsTime(q, table));
}

}  // namespace runicorn::server
