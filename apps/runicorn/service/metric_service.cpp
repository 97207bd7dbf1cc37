#include "service/metric_service.h"

#include "runtrack/validation.h"

namespace runicorn::service {

runtrack::Result<MetricTable> MetricService::QueryTable(const std::string& run_id, const MetricTableQuery& query,
                                                        const MetricReadProgress& progress) const {
  RUNTRACK_RETURN_IF_ERROR(runtrack::ValidateRunId(run_id));
  return metrics_.QueryMetrics(run_id, query, progress);
}

}  // namespace runicorn::service
