#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <random>

#include "metric_test_util.h"

using namespace runtrack;
using runtrack::testing::MemorySeries;

TEST_CASE("10 M points with one spike and one dip: m4 and lttb with N = 1000 return both") {
  constexpr size_t kLen = 10'000'000;
  std::mt19937_64 rng(GENERATE(21u, 22u));
  const size_t spike = rng() % kLen;
  size_t dip = rng() % kLen;
  if (dip == spike) dip = (dip + 1) % kLen;

  MemorySeries s;
  s.raw.resize(kLen);
  for (size_t i = 0; i < kLen; ++i) {
    // Smooth trend plus bounded wiggle; the spike and dip dwarf everything else.
    s.raw[i] = {static_cast<int64_t>(i), 1.7e9 + 0.01 * double(i), std::sin(double(i) * 1e-4) + 0.1 * double(i % 13), 0};
  }
  s.raw[spike].value = 1e6;
  s.raw[dip].value = -1e6;
  for (size_t i = 0; i < kLen; i += 4096) {
    s.pyramid.Append(std::span<const MetricPoint>(s.raw).subspan(i, std::min<size_t>(4096, kLen - i)));
  }
  INFO("spike at " << spike << ", dip at " << dip);

  for (DownsampleMethod m : {DownsampleMethod::kM4, DownsampleMethod::kLttb}) {
    DownsampleOptions opt;
    opt.method = m;
    opt.target_points = 1000;
    auto r = s.Query(opt);
    REQUIRE(r.ok());
    INFO("method " << DownsampleMethodName(m));
    CHECK(r->level_used >= 0);
    CHECK(r->points.size() <= 1000);
    auto has = [&](size_t ordinal, double v) {
      return std::any_of(r->points.begin(), r->points.end(), [&](const MetricPoint& p) {
        return p.step == static_cast<int64_t>(ordinal) && p.value == v;
      });
    };
    CHECK(has(spike, 1e6));
    CHECK(has(dip, -1e6));
  }
}
