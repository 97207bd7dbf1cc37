// Helpers shared by the segment tests: bit-exact point comparison and adversarial series.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "runtrack/metric_point.h"

namespace runtrack::testing {

inline uint64_t Bits(double d) {
  uint64_t u;
  std::memcpy(&u, &d, 8);
  return u;
}
inline double FromBits(uint64_t u) {
  double d;
  std::memcpy(&d, &u, 8);
  return d;
}

// Same step and stage, and wall time and value with the same 64-bit patterns (NaN payloads, -0.0).
inline bool BitIdentical(const MetricPoint& a, const MetricPoint& b) {
  return a.step == b.step && Bits(a.wall_time) == Bits(b.wall_time) && Bits(a.value) == Bits(b.value) &&
         a.stage == b.stage;
}

// Index of the first difference, or -1 when both hold the same points bit for bit.
inline long FirstDifference(const std::vector<MetricPoint>& a, const std::vector<MetricPoint>& b) {
  const size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    if (!BitIdentical(a[i], b[i])) return static_cast<long>(i);
  }
  return a.size() == b.size() ? -1 : static_cast<long>(n);
}

// Values no codec may normalise: NaNs with payloads and signs, -0.0, infinities, denormals,
// extremes.
inline std::vector<double> AdversarialValues() {
  return {FromBits(0x7FF8000000000001ull), FromBits(0xFFF8DEADBEEF0000ull), FromBits(0x7FF0000000000001ull),  // sNaN
          std::numeric_limits<double>::quiet_NaN(), -0.0, 0.0, std::numeric_limits<double>::infinity(),
          -std::numeric_limits<double>::infinity(), std::numeric_limits<double>::denorm_min(),
          -std::numeric_limits<double>::denorm_min(), FromBits(0x000FFFFFFFFFFFFFull), std::numeric_limits<double>::max(),
          std::numeric_limits<double>::lowest(), std::numeric_limits<double>::min(), 1.0, -1.0, 3.141592653589793};
}

// A series that exercises every codec path: adversarial values and wall times, huge step jumps
// both ways, negative and repeated steps, stage changes.
inline std::vector<MetricPoint> AdversarialSeries(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  const std::vector<double> special = AdversarialValues();
  std::vector<MetricPoint> pts(n);
  int64_t step = -5;
  for (size_t i = 0; i < n; ++i) {
    switch (rng() % 8) {
      case 0: step = static_cast<int64_t>(rng()); break;  // anywhere in int64
      case 1: step = std::numeric_limits<int64_t>::min() + static_cast<int64_t>(rng() % 3); break;
      case 2: step = std::numeric_limits<int64_t>::max() - static_cast<int64_t>(rng() % 3); break;
      case 3: break;  // repeated step
      case 4: step -= static_cast<int64_t>(rng() % 1000); break;  // backwards
      default: step += 1;
    }
    pts[i].step = step;
    pts[i].value = rng() % 3 == 0 ? special[rng() % special.size()] : FromBits(rng());
    pts[i].wall_time = rng() % 5 == 0 ? special[rng() % special.size()] : 1.7e9 + static_cast<double>(i) * 1e-3;
    pts[i].stage = static_cast<uint32_t>(rng() % 10 < 8 ? 0 : rng() % 3);
  }
  return pts;
}

// A smooth training curve: steps 1..n, wall times ~10 ms apart with jitter, float32-rounded
// loss-like values.
inline std::vector<MetricPoint> TrainingSeries(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> noise(0, 0.02);
  std::vector<MetricPoint> pts(n);
  double t = 1.7e9;
  for (size_t i = 0; i < n; ++i) {
    t += 0.01 + noise(rng) * 0.01;
    const double s = static_cast<double>(i + 1);
    pts[i] = {static_cast<int64_t>(i + 1), t,
              static_cast<double>(static_cast<float>(2.3 * std::exp(-s / 3000) + 0.05 + noise(rng))), 0};
  }
  return pts;
}

}  // namespace runtrack::testing
