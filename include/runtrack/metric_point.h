// One logged value of one metric series, as stored and as returned by queries.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace runtrack {

struct MetricPoint {
  int64_t step = 0;        // training step given by the caller (or auto-incremented)
  double wall_time = 0.0;  // seconds since the Unix epoch when the point was logged
  double value = 0.0;      // stored exactly as given, NaN and +/-Inf included
  uint32_t stage = 0;      // index into MetricSeries::stages; 0 is "no stage"
};

// The points of one (run, metric) pair plus the stage names their `stage` fields index.
struct MetricSeries {
  std::string name;
  std::vector<std::string> stages = {""};  // stages[0] is always "" (no stage)
  std::vector<MetricPoint> points;
};

}  // namespace runtrack
