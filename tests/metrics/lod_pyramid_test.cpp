#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <random>

#include "metric_test_util.h"
#include "metrics/lod_pyramid.h"

using namespace runtrack;
using runtrack::testing::Pt;

namespace {

// Recomputes bucket i of level k from raw points, the slow obvious way.
LodBucket Recompute(const std::vector<MetricPoint>& raw, size_t k, size_t i) {
  const uint64_t span = LodPyramid::BucketSpan(k);
  const uint64_t begin = i * span, end = std::min<uint64_t>(begin + span, raw.size());
  LodBucket b;
  b.count = end - begin;
  b.first = {begin, raw[begin]};
  b.last = {end - 1, raw[end - 1]};
  bool any_finite = false, any_nonfinite = false;
  for (uint64_t o = begin; o < end; ++o) {
    const double v = raw[o].value;
    if (!std::isfinite(v)) {
      ++b.nonfinite_count;
      if (!any_nonfinite) b.first_nonfinite = {o, raw[o]};
      any_nonfinite = true;
      continue;
    }
    b.sum += v;
    if (!any_finite || v < b.min.point.value) b.min = {o, raw[o]};
    if (!any_finite || v > b.max.point.value) b.max = {o, raw[o]};
    any_finite = true;
  }
  return b;
}

void CheckAgainstRaw(const LodPyramid& pyr, const std::vector<MetricPoint>& raw) {
  using runtrack::testing::SamePoint;
  REQUIRE(pyr.count() == raw.size());
  REQUIRE(pyr.num_levels() >= 1);
  CHECK(pyr.level(pyr.num_levels() - 1).size() == 1);
  for (size_t k = 0; k < pyr.num_levels(); ++k) {
    const uint64_t span = LodPyramid::BucketSpan(k);
    REQUIRE(pyr.level(k).size() == (raw.size() + span - 1) / span);
    for (size_t i = 0; i < pyr.level(k).size(); ++i) {
      const LodBucket& got = pyr.level(k)[i];
      const LodBucket want = Recompute(raw, k, i);
      INFO("level " << k << " bucket " << i);
      REQUIRE(got.count == want.count);
      REQUIRE(got.nonfinite_count == want.nonfinite_count);
      // Sums are merged in a different association order; values are small integers in this test.
      REQUIRE(got.sum == want.sum);
      REQUIRE(got.first.ordinal == want.first.ordinal);
      REQUIRE(got.last.ordinal == want.last.ordinal);
      REQUIRE(SamePoint(got.last.point, want.last.point));
      if (want.has_finite()) {
        REQUIRE(got.min.ordinal == want.min.ordinal);
        REQUIRE(got.max.ordinal == want.max.ordinal);
        REQUIRE(SamePoint(got.min.point, want.min.point));
        REQUIRE(SamePoint(got.max.point, want.max.point));
      }
      if (want.nonfinite_count > 0) REQUIRE(got.first_nonfinite.ordinal == want.first_nonfinite.ordinal);
    }
  }
}

}  // namespace

TEST_CASE("pyramid levels match recomputation from raw after random appends in random batch sizes") {
  std::mt19937_64 rng(GENERATE(1u, 2u, 3u));
  std::uniform_int_distribution<int> value(-50, 50), batch(1, 700), kind(0, 99);
  std::vector<MetricPoint> raw;
  LodPyramid pyr;
  const size_t total = 40000 + rng() % 20000;  // several levels with kFanout = 8
  int64_t step = 0;
  while (raw.size() < total) {
    std::vector<MetricPoint> b;
    for (int n = batch(rng); n > 0; --n) {
      double v = value(rng);
      int c = kind(rng);
      if (c == 0) v = std::numeric_limits<double>::quiet_NaN();
      if (c == 1) v = std::numeric_limits<double>::infinity();
      if (c == 2) v = -std::numeric_limits<double>::infinity();
      b.push_back(Pt(step++, v));
    }
    raw.insert(raw.end(), b.begin(), b.end());
    pyr.Append(b);
    if (rng() % 16 == 0) CheckAgainstRaw(pyr, raw);  // also valid mid-chunk
  }
  CheckAgainstRaw(pyr, raw);
  CHECK(pyr.steps_monotonic());
  CHECK(pyr.num_levels() >= 3);
}

TEST_CASE("pyramid never merges non-finite values into min, max or sum") {
  LodPyramid pyr;
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<MetricPoint> pts = {Pt(0, std::nan("")), Pt(1, 2.0), Pt(2, inf), Pt(3, -inf), Pt(4, -1.0)};
  pyr.Append(pts);
  const LodBucket& b = pyr.level(0)[0];
  CHECK(b.count == 5);
  CHECK(b.nonfinite_count == 3);
  CHECK(b.sum == 1.0);
  CHECK(b.min.point.value == -1.0);
  CHECK(b.min.ordinal == 4);
  CHECK(b.max.point.value == 2.0);
  CHECK(b.first_nonfinite.ordinal == 0);
}

TEST_CASE("pyramid of only non-finite values has no finite extremes") {
  LodPyramid pyr;
  pyr.Append(std::vector<MetricPoint>{Pt(0, std::nan("")), Pt(1, std::nan(""))});
  CHECK_FALSE(pyr.level(0)[0].has_finite());
  CHECK(pyr.level(0)[0].nonfinite_count == 2);
}

TEST_CASE("steps that go backwards clear steps_monotonic, repeated steps do not") {
  LodPyramid pyr;
  pyr.Append(std::vector<MetricPoint>{Pt(1, 0), Pt(1, 0), Pt(2, 0)});
  CHECK(pyr.steps_monotonic());
  pyr.Append(std::vector<MetricPoint>{Pt(2, 0)});
  CHECK(pyr.steps_monotonic());
  pyr.Append(std::vector<MetricPoint>{Pt(0, 0)});
  CHECK_FALSE(pyr.steps_monotonic());
  pyr.Append(std::vector<MetricPoint>{Pt(9, 0)});
  CHECK_FALSE(pyr.steps_monotonic());  // once backwards, always: earlier chunks are out of order
  CHECK(pyr.LocateStepRange(0, 1).begin == 0);
  CHECK(pyr.LocateStepRange(0, 1).end == 6);
}

TEST_CASE("locate step range returns the chunk-aligned ordinals that hold the steps") {
  LodPyramid pyr;
  constexpr uint64_t C = LodPyramid::kRawChunkPoints;
  std::vector<MetricPoint> pts;
  for (int64_t i = 0; i < static_cast<int64_t>(10 * C + 5); ++i) pts.push_back(Pt(2 * i, 0));  // steps 0,2,4...
  pyr.Append(pts);
  auto r = pyr.LocateStepRange(2 * static_cast<int64_t>(C) + 1, 2 * static_cast<int64_t>(3 * C));
  CHECK(r.begin == C);  // step 2C+2 is ordinal C+1, in chunk 1
  CHECK(r.end == 4 * C);  // step 6C is ordinal 3C, in chunk 3
  r = pyr.LocateStepRange(std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max());
  CHECK(r.begin == 0);
  CHECK(r.end == 10 * C + 5);
  CHECK(pyr.LocateStepRange(-10, -1).empty());
  CHECK(pyr.LocateStepRange(1'000'000, 2'000'000).empty());
  CHECK(LodPyramid().LocateStepRange(0, 10).empty());
}

TEST_CASE("relative time origin is the first point's wall time") {
  LodPyramid pyr;
  CHECK(pyr.first_wall_time() == 0.0);
  pyr.Append(std::vector<MetricPoint>{Pt(0, 1.0, 500.0), Pt(1, 1.0, 600.0)});
  pyr.Append(std::vector<MetricPoint>{Pt(2, 1.0, 700.0)});
  CHECK(pyr.first_wall_time() == 500.0);
}
