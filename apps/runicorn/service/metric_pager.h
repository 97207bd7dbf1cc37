// The exact (never downsampled) table of a query, one page of rows at a time: what exports read,
// so an export of any size holds one page in memory, whatever the run's length.
//
// Each page is its own catalog snapshot (MetricQuery::max_rows / next_step): a live run may gain
// rows past the current page meanwhile, and later pages include them; rows already returned never
// change, because steps are only appended. The first page fixes the columns: later pages ask for
// exactly its metrics, so every page has the same columns even if the run logs a new metric.
//
// Thread safety: one pager per export, used from one thread at a time.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "service/metric_service.h"

namespace runicorn::service {

class MetricPager {
 public:
  // About 1-3 MB of CSV or JSON per page at 10 metrics: large enough that per-page costs vanish,
  // small enough to bound a connection's memory.
  static constexpr uint64_t kDefaultPageRows = 10'000;

  // `query.downsample` is ignored (an export is exact); step_min / step_max bound the export.
  MetricPager(const MetricService& metrics, std::string run_id, MetricTableQuery query,
              uint64_t page_rows = kDefaultPageRows);

  // The next page, or nullopt after the last one. The first call always returns a page (maybe
  // without rows), and its total_steps counts every row of the export (it reads the whole range
  // once; later pages read only their own rows). Errors as MetricService::QueryTable.
  runtrack::Result<std::optional<MetricTable>> Next(const MetricReadProgress& progress = {});

  // Rows of the whole export as counted by the first page (0 before it).
  uint64_t total_rows() const { return total_rows_; }

 private:
  const MetricService& metrics_;
  std::string run_id_;
  MetricTableQuery query_;
  bool started_ = false;
  bool finished_ = false;
  uint64_t total_rows_ = 0;
};

}  // namespace runicorn::service
