// Points as the catalog stores them: per series, chunks of kChunkPoints fixed-size records.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "runtrack/metric_point.h"

namespace runtrack::catalog {

inline constexpr uint32_t kChunkPoints = 1024;
inline constexpr size_t kStoredPointSize = 28;  // i64 step, f64 wall_time, f64 value, u32 stage

inline void AppendStoredPoint(std::string* out, const MetricPoint& p) {
  char buf[kStoredPointSize];
  std::memcpy(buf, &p.step, 8);
  std::memcpy(buf + 8, &p.wall_time, 8);
  std::memcpy(buf + 16, &p.value, 8);
  std::memcpy(buf + 24, &p.stage, 4);
  out->append(buf, sizeof buf);
}

inline std::string EncodeChunk(const std::vector<MetricPoint>& points) {
  std::string out;
  out.reserve(points.size() * kStoredPointSize);
  for (const MetricPoint& p : points) AppendStoredPoint(&out, p);
  return out;
}

// Appends the points of an encoded chunk to `out`; a trailing partial record is ignored.
inline void DecodeChunk(std::string_view data, std::vector<MetricPoint>* out) {
  size_t n = data.size() / kStoredPointSize;
  out->reserve(out->size() + n);
  for (size_t i = 0; i < n; ++i) {
    const char* b = data.data() + i * kStoredPointSize;
    MetricPoint p;
    std::memcpy(&p.step, b, 8);
    std::memcpy(&p.wall_time, b + 8, 8);
    std::memcpy(&p.value, b + 16, 8);
    std::memcpy(&p.stage, b + 24, 4);
    out->push_back(p);
  }
}

}  // namespace runtrack::catalog
