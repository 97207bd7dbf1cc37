// /api/v2/experiments (v2_api.md): server-side filters, sort, pagination.
//
// Unlike Runicorn's v2 (DESIGN.md bug list): `tags` is applied, best_metric_min/max filter the page
// as well as `total` (both come from the one catalog query), and order_by is checked against a
// whitelist before anything runs (422 otherwise).
#include <chrono>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "encode/api_json.h"
#include "runtrack/json_codec.h"
#include "server/errors.h"
#include "server/handlers.h"
#include "server/metric_params.h"
#include "server/metric_paging.h"
#include "server/params.h"

namespace runicorn::server {
namespace bj = boost::json;
namespace json = runtrack::json;

namespace {

double MillisSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

Response Invalid(std::string_view name, const runtrack::Status& s) {
  return Response::Error(422, fmt::format("Invalid query parameter '{}': {}", name, s.message()));
}

// One experiment item: our fields plus Runicorn v0.5's created_time, logs, metrics and
// metrics_step. Runicorn gives file paths in the last three; we have no per-run text files, so
// they name the API resources serving the same data, as GET /api/runs/{id} does (docs/API.md).
bj::object ExperimentItem(const runtrack::RunSummary& r, const runtrack::StoreLayout& layout) {
  bj::object o = json::Experiment(r, layout);
  const std::string base = "/api/runs/" + r.id;
  o["created_time"] = json::Number(r.created_at);
  o["logs"] = base + "/logs/ws";
  o["metrics"] = base + "/metrics";
  o["metrics_step"] = base + "/metrics_step";
  return o;
}

}  // namespace

Response HandleV2ListExperiments(const AppContext& ctx, const Request& req) {
  auto start = std::chrono::steady_clock::now();
  const QueryParams& qp = req.query;
  runtrack::RunQuery q;
  if (const auto* v = qp.Get("project")) q.project = *v;
  if (const auto* v = qp.Get("name")) q.name = *v;
  if (const auto* v = qp.Get("search")) q.search = *v;
  for (const auto& s : GetList(qp, "status")) {
    auto st = runtrack::ParseRunStatus(s);
    if (!st.ok()) return Invalid("status", st.status());
    q.statuses.push_back(*st);
  }
  q.tags = GetList(qp, "tags");
  RUNICORN_ASSIGN_PARAM_OR_422(q.created_after, GetDouble(qp, "created_after"));
  RUNICORN_ASSIGN_PARAM_OR_422(q.created_before, GetDouble(qp, "created_before"));
  RUNICORN_ASSIGN_PARAM_OR_422(q.best_metric_min, GetDouble(qp, "best_metric_min"));
  RUNICORN_ASSIGN_PARAM_OR_422(q.best_metric_max, GetDouble(qp, "best_metric_max"));
  RUNICORN_ASSIGN_PARAM_OR_422(auto include_deleted, GetBool(qp, "include_deleted"));
  q.include_deleted = include_deleted.value_or(false);
  RUNICORN_ASSIGN_PARAM_OR_422(auto page, GetInt(qp, "page", 1, 1000000000));
  RUNICORN_ASSIGN_PARAM_OR_422(auto per_page, GetInt(qp, "per_page", 1, 1000));
  RUNICORN_ASSIGN_PARAM_OR_422(auto order_desc, GetBool(qp, "order_desc"));
  const int64_t page_no = page.value_or(1), page_size = per_page.value_or(50);
  q.sort_by = "created_at";
  if (const auto* v = qp.Get("order_by")) {
    static constexpr std::string_view kOrderBy[] = {"created_at", "updated_at", "best_metric_value", "status"};
    if (std::find(std::begin(kOrderBy), std::end(kOrderBy), *v) == std::end(kOrderBy))
      return Response::Error(422, "Invalid query parameter 'order_by': expected one of created_at, updated_at, "
                                  "best_metric_value, status");
    q.sort_by = *v;
  }
  q.descending = order_desc.value_or(true);
  auto result = ctx.services->runs.ListPage({q, page_no, page_size});
  if (!result.ok()) {
    // Contradictory ranges (min > max, after > before) are a parameter problem.
    if (result.status().code() == runtrack::StatusCode::kInvalidArgument)
      return Response::Error(422, result.status().message());
    return ErrorResponse(result.status());
  }
  bj::array experiments;
  experiments.reserve(result->runs.size());
  for (const auto& r : result->runs) experiments.push_back(ExperimentItem(r, ctx.services->layout));
  const uint64_t total = result->total;
  const uint64_t offset = static_cast<uint64_t>(page_no - 1) * static_cast<uint64_t>(page_size);
  return Response::Json(bj::object{{"experiments", std::move(experiments)},
                                   {"total", total},
                                   {"page", page_no},
                                   {"per_page", page_size},
                                   {"has_next", offset + static_cast<uint64_t>(page_size) < total},
                                   {"has_prev", page_no > 1},
                                   {"query_time_ms", MillisSince(start)}});
}

Response HandleV2GetExperiment(const AppContext& ctx, const Request& req) {
  const std::string& id = req.Param("exp_id");
  auto detail = ctx.services->runs.Get(id);
  if (!detail.ok() && detail.status().code() == runtrack::StatusCode::kNotFound)
    return Response::Error(404, fmt::format("Experiment {} not found", id));
  RUNICORN_RETURN_IF_ERROR(detail.status());
  bj::object exp = ExperimentItem(detail->run, ctx.services->layout);
  exp["config"] = json::Sanitized(detail->config);
  exp["summary"] = json::Sanitized(detail->summary);
  uint64_t points = 0;
  bj::array names;
  for (const auto& m : detail->metrics) {
    points += m.count;
    names.emplace_back(m.name);
  }
  RUNICORN_ASSIGN_OR_RESPOND(uint64_t file_count, ctx.services->runs.CountFiles(id));
  bj::value step_range = nullptr;
  if (detail->min_step) step_range = bj::object{{"min", *detail->min_step}, {"max", *detail->max_step}};
  return Response::Json(bj::object{
      {"experiment", std::move(exp)},
      {"metrics_summary",
       bj::object{{"total_data_points", points}, {"available_metrics", std::move(names)}, {"step_range", step_range}}},
      {"environment_available", false},
      {"file_count", file_count}});
}

Response HandleV2MetricsFast(const AppContext& ctx, const Request& req) {
  auto start = std::chrono::steady_clock::now();
  const std::string& id = req.Param("exp_id");
  RUNICORN_ASSIGN_PARAM_OR_422(service::MetricTableQuery q, ParseMetricTableQuery(req.query));
  if (auto s = ApplyRowBound(req.query, &q); !s.ok()) return Response::Error(422, s.message());
  // A malformed id is a NotFound from the service too, before any storage access.
  auto table = ctx.services->metrics.QueryTable(id, q);
  if (!table.ok()) {
    if (table.status().code() == runtrack::StatusCode::kNotFound)
      return Response::Error(404, fmt::format("Experiment {} not found", id));
    return ErrorResponse(table.status());
  }
  Response resp = Response::Text(encode::MetricsFast(q, *table, MillisSince(start)), "application/json");
  AddMetricTableHeaders(*table, &resp);
  return resp;
}

Response HandleV2BatchDelete(const AppContext& ctx, const Request& req) {
  RUNICORN_ASSIGN_OR_RESPOND(bj::object body, ParseJsonObject(req.body));
  constexpr size_t kMax = service::RunService::kMaxBatchV2;
  const bj::value* ids_v = body.if_contains("exp_ids");
  if (ids_v != nullptr && ids_v->is_array() && ids_v->as_array().size() > kMax)
    return Response::Error(400, "Cannot delete more than 1000 experiments at once");
  RUNICORN_ASSIGN_OR_RESPOND(auto ids, GetStringList(body, "exp_ids", kMax));
  if (const bj::value* reason = body.if_contains("reason"); reason && !reason->is_string() && !reason->is_null())
    return Response::Error(400, "reason must be a string");
  RUNICORN_ASSIGN_OR_RESPOND(auto outcome, ctx.services->runs.SoftDelete(ids, kMax));
  bj::object results;
  for (const auto& [id, status] : outcome.results) results[id] = status.ok();
  const int failed = static_cast<int>(outcome.results.size()) - outcome.succeeded;
  return Response::Json(
      bj::object{{"deleted", outcome.succeeded}, {"failed", failed}, {"results", std::move(results)}});
}

}  // namespace runicorn::server
