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

  // Rows one API response carries without downsampling (docs/API.md): about 28 MB of JSON at 10
  // metrics, so one request cannot hold hundreds of MB on an I/O thread. Larger tables are paged
  // (MetricQuery::max_rows / next_step). Exports are not bounded by it.
  static constexpr uint64_t kMaxRowsPerResponse = 100'000;

  // NotFound "Run not found" for an id that names no run, malformed or not (a malformed id is
  // rejected before any storage access); InvalidArgument for a malformed query.
  runtrack::Result<MetricTable> QueryTable(const std::string& run_id, const MetricTableQuery& query,
                                           const MetricReadProgress& progress = {}) const;

 private:
  const MetricReader& metrics_;
};

}  // namespace runicorn::service
