#include <catch2/catch.hpp>

#include "runtrack/downsample.h"

using namespace runtrack;

TEST_CASE("downsample method names parse to their enum and back") {
  for (auto m : {DownsampleMethod::kLttb, DownsampleMethod::kM4, DownsampleMethod::kMinMax, DownsampleMethod::kNone}) {
    auto parsed = ParseDownsampleMethod(DownsampleMethodName(m));
    REQUIRE(parsed.ok());
    CHECK(*parsed == m);
  }
  CHECK(DownsampleMethodName(DownsampleMethod::kMinMax) == "minmax");
}

TEST_CASE("unknown downsample method is invalid and lists the valid values") {
  for (const char* bad : {"LTTB", "", "m 4", "stride"}) {
    auto parsed = ParseDownsampleMethod(bad);
    REQUIRE_FALSE(parsed.ok());
    CHECK(parsed.status().code() == StatusCode::kInvalidArgument);
  }
  CHECK(ParseDownsampleMethod("stride").status().message() ==
        "unknown downsample method 'stride'; valid values: lttb, m4, minmax, none");
}

TEST_CASE("x axis names parse, time is an alias of wall_time") {
  CHECK(*ParseXAxis("step") == XAxis::kStep);
  CHECK(*ParseXAxis("wall_time") == XAxis::kWallTime);
  CHECK(*ParseXAxis("time") == XAxis::kWallTime);
  CHECK(*ParseXAxis("relative_time") == XAxis::kRelativeTime);
  CHECK(XAxisName(XAxis::kRelativeTime) == "relative_time");
  auto bad = ParseXAxis("epoch");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().code() == StatusCode::kInvalidArgument);
  CHECK(bad.status().message() == "unknown x axis 'epoch'; valid values: step, wall_time (or time), relative_time");
}

TEST_CASE("downsample options default to lttb over steps with 1000 points") {
  DownsampleOptions opt;
  CHECK(opt.method == DownsampleMethod::kLttb);
  CHECK(opt.x_axis == XAxis::kStep);
  CHECK(opt.target_points == 1000);
  CHECK_FALSE(opt.step_min.has_value());
  CHECK_FALSE(opt.step_max.has_value());
}
