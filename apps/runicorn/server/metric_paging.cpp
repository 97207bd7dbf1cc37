#include "server/metric_paging.h"

#include <string>

#include "server/params.h"

namespace runicorn::server {

runtrack::Status ApplyRowBound(const QueryParams& params, service::MetricTableQuery* query) {
  constexpr auto kMax = static_cast<int64_t>(service::MetricService::kMaxRowsPerResponse);
  RUNTRACK_ASSIGN_OR_RETURN(auto max_rows, GetInt(params, "max_rows", 1, kMax));
  if (query->downsample) {
    // A downsampled table is already bounded by its target, and its pages would not concatenate.
    if (max_rows) return runtrack::Status::InvalidArgument("Invalid query parameter 'max_rows': not allowed with downsample");
    return runtrack::Status::Ok();
  }
  query->max_rows = static_cast<uint64_t>(max_rows.value_or(kMax));
  return runtrack::Status::Ok();
}

void AddMetricTableHeaders(const service::MetricTable& table, Response* response) {
  response->AddHeader("X-Row-Count", std::to_string(table.rows.steps.size()));
  if (table.total_steps) response->AddHeader("X-Total-Count", std::to_string(*table.total_steps));
  if (!table.rows.steps.empty()) response->AddHeader("X-Last-Step", std::to_string(table.rows.steps.back()));
}

}  // namespace runicorn::server
