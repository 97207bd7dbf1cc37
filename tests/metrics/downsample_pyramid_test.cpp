// Queries long enough to be answered from pyramid levels instead of raw points.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include "metric_test_util.h"

using namespace runtrack;
using runtrack::testing::MemorySeries;
using runtrack::testing::Pt;

namespace {

DownsampleOptions Opt(DownsampleMethod m, size_t n, std::optional<int64_t> lo = {}, std::optional<int64_t> hi = {}) {
  DownsampleOptions o;
  o.method = m;
  o.target_points = n;
  o.step_min = lo;
  o.step_max = hi;
  return o;
}

bool Has(const DownsampleResult& r, int64_t step, double value) {
  return std::any_of(r.points.begin(), r.points.end(),
                     [&](const MetricPoint& p) { return p.step == step && p.value == value; });
}

bool StrictlyIncreasingSteps(const DownsampleResult& r) {
  for (size_t i = 1; i < r.points.size(); ++i) {
    if (r.points[i - 1].step >= r.points[i].step) return false;
  }
  return true;
}

// 200k points of noise; the pyramid path kicks in for N = 100 (level 0 has 1563 buckets >= 400).
MemorySeries Noise(size_t len, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(-1, 1);
  MemorySeries s;
  std::vector<MetricPoint> pts;
  for (size_t i = 0; i < len; ++i) pts.push_back(Pt(static_cast<int64_t>(i), u(rng)));
  s.Append(pts);
  return s;
}

}  // namespace

TEST_CASE("long ranges are answered from a pyramid level with at least 4N buckets") {
  MemorySeries s = Noise(200'000, 7);
  for (DownsampleMethod m : {DownsampleMethod::kLttb, DownsampleMethod::kM4, DownsampleMethod::kMinMax}) {
    auto r = s.Query(Opt(m, 100));
    REQUIRE(r.ok());
    CHECK(r->level_used == 0);
    CHECK(r->points_in_range == 200'000);
    CHECK(r->points.size() <= 100);
    CHECK(StrictlyIncreasingSteps(*r));
  }
  auto lttb = s.Query(Opt(DownsampleMethod::kLttb, 100));
  CHECK(lttb->points.size() == 100);
  CHECK(lttb->points.front().step == 0);
  CHECK(lttb->points.back().step == 199'999);
  // N = 10: the coarsest level with >= 40 buckets is level 1 (196 buckets; level 2 has 25).
  CHECK(s.Query(Opt(DownsampleMethod::kM4, 10))->level_used == 1);
}

TEST_CASE("pyramid path with ragged step bounds is exact at the edges and keeps in-range extremes") {
  MemorySeries s = Noise(200'000, 8);
  s.raw[150'001].value = 50;  // in range
  s.raw[20'003].value = -50;  // in range
  s.raw[5].value = 1000;      // outside the range: must not appear
  s.raw[190'000].value = -1000;
  LodPyramid rebuilt;
  rebuilt.Append(s.raw);
  s.pyramid = rebuilt;
  for (DownsampleMethod m : {DownsampleMethod::kLttb, DownsampleMethod::kM4, DownsampleMethod::kMinMax}) {
    auto r = s.Query(Opt(m, 100, 12'345, 187'654));
    REQUIRE(r.ok());
    INFO("method " << DownsampleMethodName(m));
    CHECK(r->level_used == 0);
    CHECK(r->points_in_range == 187'654 - 12'345 + 1);
    CHECK(Has(*r, 150'001, 50));
    CHECK(Has(*r, 20'003, -50));
    CHECK(r->points.front().step >= 12'345);
    CHECK(r->points.back().step <= 187'654);
    if (m != DownsampleMethod::kMinMax) {
      CHECK(r->points.front().step == 12'345);
      CHECK(r->points.back().step == 187'654);
    }
  }
}

TEST_CASE("pyramid path surfaces a NaN run and an infinity") {
  MemorySeries s = Noise(300'000, 9);
  for (size_t i = 100'000; i < 101'000; ++i) s.raw[i].value = std::numeric_limits<double>::quiet_NaN();
  s.raw[250'000].value = -std::numeric_limits<double>::infinity();
  LodPyramid rebuilt;
  rebuilt.Append(s.raw);
  s.pyramid = rebuilt;
  for (DownsampleMethod m : {DownsampleMethod::kLttb, DownsampleMethod::kM4, DownsampleMethod::kMinMax}) {
    auto r = s.Query(Opt(m, 100));
    REQUIRE(r.ok());
    INFO("method " << DownsampleMethodName(m));
    CHECK(r->level_used >= 0);
    size_t nans = 0;
    bool neg_inf = false;
    for (const MetricPoint& p : r->points) {
      if (std::isnan(p.value)) {
        ++nans;
        CHECK(p.step >= 100'000);
        CHECK(p.step < 101'000);
      }
      neg_inf |= p.value == -std::numeric_limits<double>::infinity() && p.step == 250'000;
      if (std::isfinite(p.value)) CHECK(std::fabs(p.value) <= 1.0);
    }
    CHECK(nans >= 1);
    CHECK(neg_inf);
  }
}

TEST_CASE("pyramid path with repeated steps returns one point per step") {
  MemorySeries s;
  std::vector<MetricPoint> pts;
  for (int64_t i = 0; i < 200'000; ++i) pts.push_back(Pt(i / 2, double(i % 1000)));
  s.Append(pts);
  REQUIRE(s.pyramid.steps_monotonic());
  for (DownsampleMethod m : {DownsampleMethod::kLttb, DownsampleMethod::kM4, DownsampleMethod::kMinMax}) {
    auto r = s.Query(Opt(m, 100, 10'001, 80'000));
    REQUIRE(r.ok());
    CHECK(r->level_used == 0);
    CHECK(r->points_in_range == 2 * (80'000 - 10'001 + 1));
    CHECK(StrictlyIncreasingSteps(*r));
  }
}

TEST_CASE("non-monotonic long series falls back to raw points") {
  MemorySeries s = Noise(100'000, 10);
  s.Append({Pt(5, 0.5)});
  REQUIRE_FALSE(s.pyramid.steps_monotonic());
  auto r = s.Query(Opt(DownsampleMethod::kM4, 20));
  REQUIRE(r.ok());
  CHECK(r->level_used == -1);
  CHECK(r->points_in_range == 100'001);
  CHECK(StrictlyIncreasingSteps(*r));
}

TEST_CASE("pyramid path at any level keeps the range's extremes and nothing outside it") {
  MemorySeries s = Noise(300'000, 12);
  std::mt19937_64 rng(13);
  for (int trial = 0; trial < 60; ++trial) {
    int64_t lo = static_cast<int64_t>(rng() % 300'000), hi = static_cast<int64_t>(rng() % 300'000);
    if (lo > hi) std::swap(lo, hi);
    const size_t n = 1 + rng() % 200;
    double want_min = 2, want_max = -2;
    int64_t min_step = -1, max_step = -1;
    for (int64_t i = lo; i <= hi; ++i) {
      if (s.raw[i].value < want_min) { want_min = s.raw[i].value; min_step = i; }
      if (s.raw[i].value > want_max) { want_max = s.raw[i].value; max_step = i; }
    }
    for (DownsampleMethod m : {DownsampleMethod::kLttb, DownsampleMethod::kM4, DownsampleMethod::kMinMax}) {
      auto r = s.Query(Opt(m, n, lo, hi));
      REQUIRE(r.ok());
      INFO("range [" << lo << ", " << hi << "] n " << n << " method " << DownsampleMethodName(m) << " level "
                     << r->level_used);
      CHECK(r->points_in_range == static_cast<uint64_t>(hi - lo + 1));
      CHECK(StrictlyIncreasingSteps(*r));
      REQUIRE_FALSE(r->points.empty());
      CHECK(r->points.front().step >= lo);
      CHECK(r->points.back().step <= hi);
      if (m != DownsampleMethod::kLttb) {  // LTTB may legitimately skip an extreme for tiny N
        CHECK(Has(*r, min_step, want_min));
        CHECK(Has(*r, max_step, want_max));
      }
    }
  }
}
