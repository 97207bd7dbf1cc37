#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <limits>

#include "metric_test_util.h"

using namespace runtrack;
using runtrack::testing::MemorySeries;
using runtrack::testing::Pt;
using runtrack::testing::ReferenceLttb;

namespace {

const double kNaN = std::numeric_limits<double>::quiet_NaN();
const double kInf = std::numeric_limits<double>::infinity();

std::vector<int64_t> Steps(const DownsampleResult& r) {
  std::vector<int64_t> s;
  for (const MetricPoint& p : r.points) s.push_back(p.step);
  return s;
}
std::vector<double> Values(const DownsampleResult& r) {
  std::vector<double> v;
  for (const MetricPoint& p : r.points) v.push_back(p.value);
  return v;
}

DownsampleOptions Opt(DownsampleMethod m, size_t n, std::optional<int64_t> lo = {}, std::optional<int64_t> hi = {}) {
  DownsampleOptions o;
  o.method = m;
  o.target_points = n;
  o.step_min = lo;
  o.step_max = hi;
  return o;
}

const DownsampleMethod kAll[] = {DownsampleMethod::kLttb, DownsampleMethod::kM4, DownsampleMethod::kMinMax,
                                 DownsampleMethod::kNone};

// Steps 0..11, the values used by the exact M4/MinMax examples below.
MemorySeries Twelve(std::vector<double> values = {5, 1, 9, 3, 2, 8, 0, 4, 7, 6, -1, 3}) {
  MemorySeries s;
  std::vector<MetricPoint> pts;
  for (size_t i = 0; i < values.size(); ++i) pts.push_back(Pt(static_cast<int64_t>(i), values[i]));
  s.Append(pts);
  return s;
}

}  // namespace

TEST_CASE("empty series gives an empty result for every method") {
  MemorySeries s;
  for (DownsampleMethod m : kAll) {
    auto r = s.Query(Opt(m, 10));
    REQUIRE(r.ok());
    CHECK(r->points.empty());
    CHECK(r->points_in_range == 0);
    CHECK(r->level_used == -1);
  }
}

TEST_CASE("one to three points come back whole when N is at least their number") {
  for (size_t len = 1; len <= 3; ++len) {
    MemorySeries s;
    std::vector<MetricPoint> pts;
    for (size_t i = 0; i < len; ++i) pts.push_back(Pt(static_cast<int64_t>(i) * 10, double(i)));
    s.Append(pts);
    for (DownsampleMethod m : kAll) {
      auto r = s.Query(Opt(m, 3));
      REQUIRE(r.ok());
      CHECK(r->points_in_range == len);
      CHECK(r->points.size() == len);
      CHECK(r->points.back().step == static_cast<int64_t>(len - 1) * 10);
    }
  }
}

TEST_CASE("lttb with N of one or two keeps the first, then the last point") {
  MemorySeries s = Twelve();
  CHECK(Steps(*s.Query(Opt(DownsampleMethod::kLttb, 1))) == std::vector<int64_t>{0});
  CHECK(Steps(*s.Query(Opt(DownsampleMethod::kLttb, 2))) == std::vector<int64_t>{0, 11});
}

TEST_CASE("invalid options are rejected with InvalidArgument") {
  MemorySeries s = Twelve();
  auto zero = s.Query(Opt(DownsampleMethod::kLttb, 0));
  REQUIRE_FALSE(zero.ok());
  CHECK(zero.status().code() == StatusCode::kInvalidArgument);
  CHECK(zero.status().message() == "target_points must be at least 1");

  auto reversed = s.Query(Opt(DownsampleMethod::kLttb, 10, 5, 4));
  REQUIRE_FALSE(reversed.ok());
  CHECK(reversed.status().code() == StatusCode::kInvalidArgument);
  CHECK(reversed.status().message() == "step_min 5 is greater than step_max 4");

  auto no_reader = Downsample(s.pyramid, RawPointReader{}, Opt(DownsampleMethod::kLttb, 10));
  REQUIRE_FALSE(no_reader.ok());
  CHECK(no_reader.status().code() == StatusCode::kInvalidArgument);
}

TEST_CASE("step ranges outside the data give an empty result, not an error") {
  MemorySeries s;
  s.Append({Pt(0, 1), Pt(10, 2), Pt(20, 3)});
  for (DownsampleMethod m : kAll) {
    for (auto [lo, hi] : {std::pair<int64_t, int64_t>{-5, -1}, {21, 100}, {11, 19}}) {
      auto r = s.Query(Opt(m, 10, lo, hi));
      REQUIRE(r.ok());
      CHECK(r->points.empty());
      CHECK(r->points_in_range == 0);
    }
  }
}

TEST_CASE("a step range keeps exactly the points with steps inside it, bounds included") {
  MemorySeries s = Twelve();
  auto r = s.Query(Opt(DownsampleMethod::kNone, 10, 3, 6));
  REQUIRE(r.ok());
  CHECK(Steps(*r) == std::vector<int64_t>{3, 4, 5, 6});
  CHECK(Values(*r) == std::vector<double>{3, 2, 8, 0});
  CHECK(r->points_in_range == 4);
  auto open_low = s.Query(Opt(DownsampleMethod::kNone, 10, {}, 1));
  CHECK(Steps(*open_low) == std::vector<int64_t>{0, 1});
}

TEST_CASE("a repeated step returns the later-logged value") {
  MemorySeries s;
  s.Append({Pt(0, 1), Pt(1, 100), Pt(1, 3), Pt(2, 4)});
  CHECK(s.pyramid.steps_monotonic());
  auto r = s.Query(Opt(DownsampleMethod::kNone, 10));
  REQUIRE(r.ok());
  CHECK(Steps(*r) == std::vector<int64_t>{0, 1, 2});
  CHECK(Values(*r) == std::vector<double>{1, 3, 4});
  CHECK(r->points_in_range == 4);
  // One pixel: the superseded 100 is not the pixel's max.
  auto m4 = s.Query(Opt(DownsampleMethod::kM4, 2));
  CHECK(Values(*m4) == std::vector<double>{1, 4});
}

TEST_CASE("steps that go backwards are read ordered by step, the later-logged value winning") {
  // A run resumed from the checkpoint at step 2 logs steps 2 and 3 again.
  MemorySeries s;
  s.Append({Pt(0, 0), Pt(1, 1), Pt(2, 2), Pt(3, 3), Pt(4, 4), Pt(2, 20), Pt(3, 30)});
  CHECK_FALSE(s.pyramid.steps_monotonic());
  auto all = s.Query(Opt(DownsampleMethod::kNone, 100));
  REQUIRE(all.ok());
  CHECK(Steps(*all) == std::vector<int64_t>{0, 1, 2, 3, 4});
  CHECK(Values(*all) == std::vector<double>{0, 1, 20, 30, 4});
  CHECK(all->points_in_range == 7);
  auto mid = s.Query(Opt(DownsampleMethod::kNone, 100, 2, 3));
  CHECK(Values(*mid) == std::vector<double>{20, 30});
  CHECK(mid->points_in_range == 4);
  auto lttb = s.Query(Opt(DownsampleMethod::kLttb, 3));
  CHECK(Steps(*lttb).front() == 0);
  CHECK(Steps(*lttb).back() == 4);
  CHECK(lttb->points.size() == 3);
}

TEST_CASE("m4 returns first, last, min and max of each pixel bucket") {
  // Two pixels over steps 0..11: steps 0-5 and 6-11.
  auto r = Twelve().Query(Opt(DownsampleMethod::kM4, 8));
  REQUIRE(r.ok());
  CHECK(Steps(*r) == std::vector<int64_t>{0, 1, 2, 5, 6, 8, 10, 11});
  CHECK(Values(*r) == std::vector<double>{5, 1, 9, 8, 0, 7, -1, 3});
  CHECK(r->level_used == -1);
}

TEST_CASE("minmax returns min and max of each pixel bucket") {
  auto r = Twelve().Query(Opt(DownsampleMethod::kMinMax, 4));
  REQUIRE(r.ok());
  CHECK(Steps(*r) == std::vector<int64_t>{1, 2, 8, 10});
  CHECK(Values(*r) == std::vector<double>{1, 9, 7, -1});
}

TEST_CASE("non-finite points are surfaced, never merged into min or max") {
  MemorySeries s = Twelve({5, 1, 9, kNaN, 2, 8, 0, 4, 7, kInf, -1, 3});
  // N chosen so each method has >= 2 pixels and the two non-finite points fall in different ones
  // (a pixel surfaces only its first non-finite point).
  for (auto [m, n] : {std::pair{DownsampleMethod::kLttb, 4}, {DownsampleMethod::kM4, 8}, {DownsampleMethod::kMinMax, 4}}) {
    auto r = s.Query(Opt(m, n));
    REQUIRE(r.ok());
    std::vector<int64_t> steps = Steps(*r);
    INFO("method " << DownsampleMethodName(m));
    CHECK(std::count(steps.begin(), steps.end(), 3) == 1);
    CHECK(std::count(steps.begin(), steps.end(), 9) == 1);
    for (const MetricPoint& p : r->points) {
      if (p.step == 3) CHECK(std::isnan(p.value));
      if (p.step == 9) CHECK(p.value == kInf);
    }
  }
  // MinMax's two pixels (steps 0-5, 6-11): finite extremes plus the first non-finite point of each.
  CHECK(Steps(*s.Query(Opt(DownsampleMethod::kMinMax, 4))) == std::vector<int64_t>{1, 2, 3, 8, 9, 10});
}

TEST_CASE("a series of only NaN still returns NaN points") {
  MemorySeries s;
  std::vector<MetricPoint> pts;
  for (int i = 0; i < 50; ++i) pts.push_back(Pt(i, kNaN));
  s.Append(pts);
  for (DownsampleMethod m : {DownsampleMethod::kLttb, DownsampleMethod::kM4, DownsampleMethod::kMinMax}) {
    auto r = s.Query(Opt(m, 8));
    REQUIRE(r.ok());
    CHECK_FALSE(r->points.empty());
    for (const MetricPoint& p : r->points) CHECK(std::isnan(p.value));
  }
}

TEST_CASE("lttb on relative time uses wall time minus the series' first wall time as x") {
  MemorySeries s;
  std::vector<MetricPoint> pts, as_steps;
  for (int i = 0; i < 500; ++i) {
    const double wall = 1.7e9 + 3.0 * i + (i % 5 == 0 ? 40.0 * (i % 3) : 0.0);
    pts.push_back(Pt(i, std::sin(i * 0.1) + (i % 17 == 0 ? 3 : 0), wall));
    as_steps.push_back(Pt(static_cast<int64_t>(wall - 1.7e9), pts.back().value));
  }
  s.Append(pts);
  DownsampleOptions opt = Opt(DownsampleMethod::kLttb, 60);
  opt.x_axis = XAxis::kRelativeTime;
  auto r = s.Query(opt);
  REQUIRE(r.ok());
  std::vector<MetricPoint> want = ReferenceLttb(as_steps, 60);
  REQUIRE(r->points.size() == want.size());
  for (size_t i = 0; i < want.size(); ++i) CHECK(r->points[i].wall_time - 1.7e9 == double(want[i].step));
}

TEST_CASE("reader failures are passed through and short reads are corruption") {
  MemorySeries s = Twelve();
  RawPointReader failing = [](uint64_t, uint64_t, std::vector<MetricPoint>*) {
    return Status::IOError("chunk 0 unreadable");
  };
  auto r = Downsample(s.pyramid, failing, Opt(DownsampleMethod::kLttb, 4));
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == StatusCode::kIOError);
  CHECK(r.status().message() == "chunk 0 unreadable");

  RawPointReader short_read = [](uint64_t, uint64_t, std::vector<MetricPoint>* out) {
    out->push_back(Pt(0, 0));
    return Status::Ok();
  };
  auto c = Downsample(s.pyramid, short_read, Opt(DownsampleMethod::kLttb, 4));
  REQUIRE_FALSE(c.ok());
  CHECK(c.status().code() == StatusCode::kCorruption);
  CHECK(c.status().message() == "raw point reader returned 1 points for ordinals [0, 12)");
}
