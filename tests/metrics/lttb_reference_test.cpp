#include <catch2/catch.hpp>

#include <cmath>
#include <random>

#include "metric_test_util.h"

using namespace runtrack;
using runtrack::testing::MemorySeries;
using runtrack::testing::Pt;
using runtrack::testing::ReferenceLttb;
using runtrack::testing::SamePoint;

namespace {

void CheckMatchesReference(const std::vector<MetricPoint>& pts, size_t n) {
  MemorySeries s;
  s.Append(pts);
  DownsampleOptions opt;
  opt.target_points = n;
  auto got = s.Query(opt);
  REQUIRE(got.ok());
  CHECK(got->level_used == -1);
  CHECK(got->points_in_range == pts.size());
  const std::vector<MetricPoint> want = ReferenceLttb(pts, n);
  REQUIRE(got->points.size() == want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    INFO("point " << i);
    REQUIRE(SamePoint(got->points[i], want[i]));
  }
}

std::vector<MetricPoint> Series(size_t len, auto value_of) {
  std::vector<MetricPoint> pts;
  for (size_t i = 0; i < len; ++i) pts.push_back(Pt(static_cast<int64_t>(i), value_of(i)));
  return pts;
}

}  // namespace

TEST_CASE("lttb on raw points equals the reference lttb on random series") {
  std::mt19937_64 rng(GENERATE(11u, 12u, 13u, 14u));
  std::normal_distribution<double> noise(0.0, 1.0);
  const size_t len = 50 + rng() % 5000;
  const size_t n = 3 + rng() % 400;
  // Random walk with irregular step gaps, so x spacing matters to the triangle areas.
  std::vector<MetricPoint> pts;
  double v = 0;
  int64_t step = static_cast<int64_t>(rng() % 100);
  for (size_t i = 0; i < len; ++i) {
    v += noise(rng);
    step += 1 + static_cast<int64_t>(rng() % 7);
    pts.push_back(Pt(step, v));
  }
  INFO("len " << len << " n " << n);
  CheckMatchesReference(pts, n);
}

TEST_CASE("lttb on raw points equals the reference lttb on adversarial series") {
  const size_t len = 3000;
  SECTION("constant") { CheckMatchesReference(Series(len, [](size_t) { return 4.0; }), 100); }
  SECTION("sawtooth") { CheckMatchesReference(Series(len, [](size_t i) { return double(i % 7); }), 99); }
  SECTION("alternating extremes") {
    CheckMatchesReference(Series(len, [](size_t i) { return i % 2 ? 1e300 : -1e300; }), 101);
  }
  SECTION("single spike") { CheckMatchesReference(Series(len, [](size_t i) { return i == 1234 ? 1e9 : 0.0; }), 50); }
  SECTION("huge steps") {
    std::vector<MetricPoint> pts;
    for (size_t i = 0; i < len; ++i) pts.push_back(Pt(int64_t{1} << 50 | static_cast<int64_t>(i * 3), std::sin(double(i))));
    CheckMatchesReference(pts, 77);
  }
  SECTION("tiny values") { CheckMatchesReference(Series(24, [](size_t i) { return 1e-300 * double(i % 13); }), 3); }
  SECTION("n is length minus one") { CheckMatchesReference(Series(40, [](size_t i) { return double(i * i % 11); }), 39); }
}

TEST_CASE("lttb with N at least the length returns every point") {
  CheckMatchesReference(Series(10, [](size_t i) { return double(i); }), 10);
  CheckMatchesReference(Series(10, [](size_t i) { return double(i); }), 1000);
}
