// GET /api/runs/{id}/metrics_step and /metrics (metrics_api.md, docs/API.md).
//
// Both answer as Runicorn does: one row per step with every column (null where a metric has no
// point), "time" the absolute wall time. /metrics?time=relative keeps our relative-time view.
// Both take our optional chart parameters (metric_params.h); without downsample at most
// MetricService::kMaxRowsPerResponse rows are sent, then "truncated"/"next_step" page on.
#include "encode/api_json.h"
#include "server/errors.h"
#include "server/handlers.h"
#include "server/metric_params.h"
#include "server/metric_paging.h"
#include "server/read_forwarding.h"

namespace runicorn::server {

namespace {

Response TableResponse(std::string body, const service::MetricTable& table) {
  Response resp = Response::Text(std::move(body), "application/json");
  AddMetricTableHeaders(table, &resp);
  return resp;
}

}  // namespace

Response HandleMetricsStep(const AppContext& ctx, const Request& req) {
  RUNICORN_FORWARD_READ_TO_OWNER(ctx, req);  // a live run of another replica: its owner answers
  RUNICORN_ASSIGN_PARAM_OR_422(service::MetricTableQuery q, ParseMetricTableQuery(req.query));
  if (auto s = ApplyRowBound(req.query, &q); !s.ok()) return Response::Error(422, s.message());
  RUNICORN_ASSIGN_OR_RESPOND(auto table, ctx.services->metrics.QueryTable(req.Param("run_id"), q));
  return TableResponse(encode::MetricsStep(q, table), table);
}

Response HandleMetrics(const AppContext& ctx, const Request& req) {
  RUNICORN_FORWARD_READ_TO_OWNER(ctx, req);  // a live run of another replica: its owner answers
  RUNICORN_ASSIGN_PARAM_OR_422(service::MetricTableQuery q, ParseMetricTableQuery(req.query));
  if (auto s = ApplyRowBound(req.query, &q); !s.ok()) return Response::Error(422, s.message());
  const std::string* time = req.query.Get("time");
  if (time != nullptr && *time != "absolute" && *time != "relative")
    return Response::Error(422, "Invalid query parameter 'time': expected absolute or relative");
  const bool relative = time != nullptr && *time == "relative";
  // The relative-time view downsamples on relative time unless the caller chose an axis.
  if (relative && !req.query.Has("x_axis")) q.x_axis = runtrack::XAxis::kRelativeTime;
  RUNICORN_ASSIGN_OR_RESPOND(auto table, ctx.services->metrics.QueryTable(req.Param("run_id"), q));
  return TableResponse(relative ? encode::MetricsRelativeTime(q, table) : encode::MetricsStep(q, table), table);
}

}  // namespace runicorn::server
