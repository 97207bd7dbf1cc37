#include "service/metric_pager.h"

#include <algorithm>

namespace runicorn::service {

MetricPager::MetricPager(const MetricService& metrics, std::string run_id, MetricTableQuery query, uint64_t page_rows)
    : metrics_(metrics), run_id_(std::move(run_id)), query_(std::move(query)) {
  query_.downsample.reset();
  query_.max_rows = std::max<uint64_t>(page_rows, 1);
  query_.count_past_max_rows = true;  // the first page counts the export's rows
}

runtrack::Result<std::optional<MetricTable>> MetricPager::Next(const MetricReadProgress& progress) {
  if (finished_) return std::optional<MetricTable>();
  RUNTRACK_ASSIGN_OR_RETURN(MetricTable page, metrics_.QueryTable(run_id_, query_, progress));
  if (!started_) {
    started_ = true;
    total_rows_ = page.total_steps.value_or(page.rows.steps.size());
    // Later pages: the first page's metrics only, and no counting past the page.
    query_.metrics.assign(page.rows.columns.begin() + 1, page.rows.columns.end());
    query_.count_past_max_rows = false;
  }
  if (page.next_step) query_.step_min = *page.next_step;
  else finished_ = true;
  return std::optional<MetricTable>(std::move(page));
}

}  // namespace runicorn::service
