// Use cases on metric points: the query behind every chart and export (several metrics of one run
// over an optional step range, each downsampled on its own values, joined on step, answered from
// one snapshot by the catalog: runtrack::Catalog::QueryMetrics), and the incremental reads behind
// live streams (follow.h).
#pragma once

#include <string>

#include "runtrack/metric_query.h"
#include "runtrack/status.h"
#include "service/storage.h"

namespace runicorn::service {

using MetricTableQuery = runtrack::MetricQuery;
using MetricTable = runtrack::MetricTable;
using runtrack::MetricReadProgress;

class MetricService {
 public:
  explicit MetricService(const MetricReader& metrics) : metrics_(metrics) {}

  // NotFound for a run that does not exist; InvalidArgument for a malformed id or query.
  runtrack::Result<MetricTable> QueryTable(const std::string& run_id, const MetricTableQuery& query,
                                           const MetricReadProgress& progress = {}) const;

 private:
  const MetricReader& metrics_;
};

}  // namespace runicorn::service
