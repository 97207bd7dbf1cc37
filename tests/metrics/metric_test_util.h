// Helpers shared by the metrics tests: an in-memory raw point store and a reference LTTB.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include "metrics/downsample.h"
#include "metrics/lod_pyramid.h"
#include "runtrack/metric_point.h"

namespace runtrack::testing {

// A series kept as a plain vector plus its pyramid, the way a storage layer would pair them.
struct MemorySeries {
  std::vector<MetricPoint> raw;
  LodPyramid pyramid;

  void Append(const std::vector<MetricPoint>& pts) {
    raw.insert(raw.end(), pts.begin(), pts.end());
    pyramid.Append(pts);
  }
  RawPointReader Reader() const {
    return [this](uint64_t b, uint64_t e, std::vector<MetricPoint>* out) {
      out->assign(raw.begin() + static_cast<std::ptrdiff_t>(b), raw.begin() + static_cast<std::ptrdiff_t>(e));
      return Status::Ok();
    };
  }
  Result<DownsampleResult> Query(const DownsampleOptions& opt) const {
    return Downsample(pyramid, Reader(), opt);
  }
};

inline MetricPoint Pt(int64_t step, double value, double wall = -1.0) {
  return MetricPoint{step, wall < 0 ? 1000.0 + static_cast<double>(step) : wall, value, 0};
}

// Textbook LTTB as published (Steinarsson 2013, reference JavaScript), written out separately
// from the library's so the two can be compared point for point.
inline std::vector<MetricPoint> ReferenceLttb(const std::vector<MetricPoint>& data, size_t threshold) {
  if (threshold >= data.size() || threshold == 0) return data;
  std::vector<MetricPoint> sampled;
  double every = static_cast<double>(data.size() - 2) / static_cast<double>(threshold - 2);
  size_t a = 0;
  sampled.push_back(data[a]);
  for (size_t i = 0; i < threshold - 2; i++) {
    size_t avg_range_start = static_cast<size_t>(std::floor((i + 1) * every)) + 1;
    size_t avg_range_end = static_cast<size_t>(std::floor((i + 2) * every)) + 1;
    avg_range_end = avg_range_end < data.size() ? avg_range_end : data.size();
    double avg_range_length = static_cast<double>(avg_range_end - avg_range_start);
    double avg_x = 0, avg_y = 0;
    for (; avg_range_start < avg_range_end; avg_range_start++) {
      avg_x += static_cast<double>(data[avg_range_start].step);
      avg_y += data[avg_range_start].value;
    }
    avg_x /= avg_range_length;
    avg_y /= avg_range_length;
    size_t range_offs = static_cast<size_t>(std::floor(i * every)) + 1;
    size_t range_to = static_cast<size_t>(std::floor((i + 1) * every)) + 1;
    double point_a_x = static_cast<double>(data[a].step), point_a_y = data[a].value;
    double max_area = -1;
    size_t next_a = range_offs;
    for (; range_offs < range_to; range_offs++) {
      double area = std::fabs((point_a_x - avg_x) * (data[range_offs].value - point_a_y) -
                              (point_a_x - static_cast<double>(data[range_offs].step)) * (avg_y - point_a_y)) *
                    0.5;
      if (area > max_area) {
        max_area = area;
        next_a = range_offs;
      }
    }
    sampled.push_back(data[next_a]);
    a = next_a;
  }
  sampled.push_back(data.back());
  return sampled;
}

inline bool SamePoint(const MetricPoint& a, const MetricPoint& b) {
  auto same = [](double x, double y) { return x == y || (std::isnan(x) && std::isnan(y)); };
  return a.step == b.step && same(a.wall_time, b.wall_time) && same(a.value, b.value) && a.stage == b.stage;
}

}  // namespace runtrack::testing
