#include "metrics/step_join.h"

#include <algorithm>

namespace runtrack {

StepJoin JoinOnStep(std::span<const std::span<const MetricPoint>> series, uint64_t max_rows) {
  StepJoin join;
  // Union of the steps by one linear merge per series (inputs are sorted): cheaper than sorting.
  std::vector<int64_t> merged;
  for (const auto& points : series) {
    merged.clear();
    merged.reserve(join.steps.size() + points.size());
    auto push = [&](int64_t step) {
      if (merged.empty() || merged.back() != step) merged.push_back(step);
    };
    size_t i = 0, j = 0;
    while (i < join.steps.size() && j < points.size()) {
      if (join.steps[i] <= points[j].step) {
        push(join.steps[i++]);
      } else {
        push(points[j++].step);
      }
    }
    while (i < join.steps.size()) push(join.steps[i++]);
    while (j < points.size()) push(points[j++].step);
    join.steps.swap(merged);
  }
  join.total_steps = join.steps.size();
  if (max_rows != 0 && join.steps.size() > max_rows) {
    join.next_step = join.steps[max_rows];
    join.steps.resize(max_rows);
  }
  join.steps.shrink_to_fit();

  const size_t rows = join.steps.size();
  join.values.assign(rows, std::vector<std::optional<double>>(series.size()));
  join.row_points.assign(rows, MetricPoint{});
  std::vector<size_t> decided_by(rows, SIZE_MAX);  // series whose point decides the row so far
  for (size_t m = 0; m < series.size(); ++m) {
    // Both sides are step-ordered, so one forward merge places every point.
    size_t r = 0;
    for (const MetricPoint& p : series[m]) {
      while (r < rows && join.steps[r] < p.step) ++r;
      if (r == rows) break;  // beyond the row cap
      join.values[r][m] = p.value;
      const bool later = decided_by[r] == SIZE_MAX || decided_by[r] == m ||
                         p.wall_time > join.row_points[r].wall_time;
      if (later) {
        join.row_points[r] = p;
        decided_by[r] = m;
      }
    }
  }
  return join;
}

}  // namespace runtrack
