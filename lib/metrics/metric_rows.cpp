// The row view joins independently downsampled metrics on step (Runicorn's columns/rows shape).
#include <algorithm>

#include "runtrack/downsample.h"

namespace runtrack {

MetricRows BuildMetricRows(const std::vector<std::pair<std::string, DownsampleResult>>& metrics) {
  MetricRows rows;
  rows.columns.reserve(metrics.size() + 1);
  rows.columns.push_back("step");
  for (const auto& [name, result] : metrics) {
    rows.columns.push_back(name);
    for (const MetricPoint& p : result.points) rows.steps.push_back(p.step);
  }
  std::sort(rows.steps.begin(), rows.steps.end());
  rows.steps.erase(std::unique(rows.steps.begin(), rows.steps.end()), rows.steps.end());

  rows.values.assign(rows.steps.size(), std::vector<std::optional<double>>(metrics.size()));
  for (size_t m = 0; m < metrics.size(); ++m) {
    // Results are step-ordered, so one forward merge places every point; should a result repeat a
    // step anyway, the later point wins, matching the read-by-step rule.
    size_t r = 0;
    for (const MetricPoint& p : metrics[m].second.points) {
      if (r >= rows.steps.size() || rows.steps[r] > p.step) {
        r = static_cast<size_t>(std::lower_bound(rows.steps.begin(), rows.steps.end(), p.step) -
                                rows.steps.begin());
      }
      while (rows.steps[r] < p.step) ++r;
      rows.values[r][m] = p.value;
    }
  }
  return rows;
}

}  // namespace runtrack
