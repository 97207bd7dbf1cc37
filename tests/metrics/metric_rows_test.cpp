#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "runtrack/downsample.h"

using namespace runtrack;

namespace {
DownsampleResult Of(std::vector<std::pair<int64_t, double>> pts) {
  DownsampleResult r;
  for (auto [s, v] : pts) r.points.push_back({s, 0.0, v, 0});
  return r;
}
}  // namespace

TEST_CASE("row view is the union of chosen steps with nulls where a metric has no point") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  MetricRows rows = BuildMetricRows({{"loss", Of({{0, 1.0}, {10, 0.5}, {30, 0.25}})},
                                     {"acc", Of({{10, 0.7}, {20, nan}, {30, 0.9}})}});
  CHECK(rows.columns == std::vector<std::string>{"step", "loss", "acc"});
  CHECK(rows.steps == std::vector<int64_t>{0, 10, 20, 30});
  REQUIRE(rows.values.size() == 4);
  CHECK(rows.values[0] == std::vector<std::optional<double>>{1.0, std::nullopt});
  CHECK(rows.values[1] == std::vector<std::optional<double>>{0.5, 0.7});
  CHECK_FALSE(rows.values[2][0].has_value());
  REQUIRE(rows.values[2][1].has_value());
  CHECK(std::isnan(*rows.values[2][1]));  // NaN stays NaN; the wire layer maps it to null
  CHECK(rows.values[3] == std::vector<std::optional<double>>{0.25, 0.9});
}

TEST_CASE("row view of no metrics has only the step column") {
  MetricRows rows = BuildMetricRows({});
  CHECK(rows.columns == std::vector<std::string>{"step"});
  CHECK(rows.steps.empty());
  CHECK(rows.values.empty());
}

TEST_CASE("row view keeps the later point when a result repeats a step") {
  MetricRows rows = BuildMetricRows({{"m", Of({{5, 1.0}, {5, 2.0}, {7, 3.0}})}, {"empty", Of({})}});
  CHECK(rows.steps == std::vector<int64_t>{5, 7});
  CHECK(rows.values[0] == std::vector<std::optional<double>>{2.0, std::nullopt});
  CHECK(rows.values[1] == std::vector<std::optional<double>>{3.0, std::nullopt});
}
