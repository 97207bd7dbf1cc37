// The row view joins independently downsampled metrics on step (Runicorn's columns/rows shape).
#include <span>

#include "metrics/step_join.h"
#include "runtrack/downsample.h"

namespace runtrack {

MetricRows BuildMetricRows(const std::vector<std::pair<std::string, DownsampleResult>>& metrics) {
  MetricRows rows;
  rows.columns.reserve(metrics.size() + 1);
  rows.columns.push_back("step");
  std::vector<std::span<const MetricPoint>> series;
  series.reserve(metrics.size());
  for (const auto& [name, result] : metrics) {
    rows.columns.push_back(name);
    series.emplace_back(result.points);
  }
  StepJoin join = JoinOnStep(series);
  rows.steps = std::move(join.steps);
  rows.values = std::move(join.values);
  return rows;
}

}  // namespace runtrack
