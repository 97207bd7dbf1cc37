#include "service/metric_service.h"

#include "runtrack/validation.h"

namespace runicorn::service {

runtrack::Result<MetricTable> MetricService::QueryTable(const std::string& run_id, const MetricTableQuery& query,
                                                        const MetricReadProgress& progress) const {
  // A malformed id names no run: the same 404 as an unknown one, without reaching storage.
  if (!runtrack::ValidateRunId(run_id).ok()) return runtrack::Status::NotFound("Run not found");
  auto table = metrics_.QueryMetrics(run_id, query, progress);
  if (!table.ok() && table.status().code() == runtrack::StatusCode::kNotFound)
    return runtrack::Status::NotFound("Run not found");
  return table;
}

}  // namespace runicorn::service
