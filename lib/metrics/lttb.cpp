#include "metrics/lttb.h"

#include <cmath>
#include <numeric>

namespace runtrack {

std::vector<size_t> LttbSelect(std::span<const double> x, std::span<const double> y, size_t threshold) {
  const size_t n = x.size();
  std::vector<size_t> keep;
  if (n == 0 || threshold == 0) return keep;
  if (threshold >= n) {
    keep.resize(n);
    std::iota(keep.begin(), keep.end(), size_t{0});
    return keep;
  }
  keep.push_back(0);
  if (threshold == 1) return keep;
  if (threshold == 2) {
    keep.push_back(n - 1);
    return keep;
  }
  keep.reserve(threshold);
  // The first and last points are fixed; the n-2 in between form threshold-2 buckets. Each bucket
  // keeps the point spanning the largest triangle with the previously kept point and the average
  // of the next bucket.
  const double every = static_cast<double>(n - 2) / static_cast<double>(threshold - 2);
  size_t a = 0;
  for (size_t i = 0; i + 2 < threshold; ++i) {
    size_t avg_start = static_cast<size_t>(std::floor(static_cast<double>(i + 1) * every)) + 1;
    size_t avg_end = static_cast<size_t>(std::floor(static_cast<double>(i + 2) * every)) + 1;
    if (avg_end > n) avg_end = n;
    double avg_x = 0.0, avg_y = 0.0;
    for (size_t j = avg_start; j < avg_end; ++j) {
      avg_x += x[j];
      avg_y += y[j];
    }
    const double avg_len = static_cast<double>(avg_end - avg_start);
    avg_x /= avg_len;
    avg_y /= avg_len;

    const size_t range_start = static_cast<size_t>(std::floor(static_cast<double>(i) * every)) + 1;
    const size_t range_end = static_cast<size_t>(std::floor(static_cast<double>(i + 1) * every)) + 1;
    const double ax = x[a], ay = y[a];
    double max_area = -1.0;
    size_t next_a = range_start;
    for (size_t j = range_start; j < range_end; ++j) {
      const double area = std::fabs((ax - avg_x) * (y[j] - ay) - (ax - x[j]) * (avg_y - ay)) * 0.5;
      if (area > max_area) {
        max_area = area;
        next_a = j;
      }
    }
    keep.push_back(next_a);
    a = next_a;
  }
  keep.push_back(n - 1);
  return keep;
}

}  // namespace runtrack
