// runtrack::ParseJson: Boost's grammar and errors, with every double converted exactly.
#include <catch2/catch.hpp>

#include <charconv>
#include <cmath>
#include <cstring>
#include <random>
#include <string>

#include <boost/json/serialize.hpp>

#include "runtrack/json_parse.h"

namespace {

uint64_t Bits(double d) {
  uint64_t b;
  std::memcpy(&b, &d, sizeof b);
  return b;
}

std::string Shortest(double d) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, d);
  return std::string(buf, r.ptr);
}

}  // namespace

TEST_CASE("ParseJson reads every double's shortest spelling back bit for bit", "[json_parse]") {
  boost::json::error_code ec;
  // Boost 1.81's own parse reads this one as 0x400deb885826ff71.
  boost::json::value v = runtrack::ParseJson("3.7400061499501405E0", ec);
  REQUIRE_FALSE(ec);
  CHECK(Bits(v.as_double()) == 0x400deb885826ff70ull);

  std::mt19937_64 rng(42);
  std::uniform_int_distribution<uint64_t> any;
  int checked = 0, mismatches = 0;
  for (int i = 0; i < 200000; ++i) {
    double d;
    const uint64_t b = any(rng);
    std::memcpy(&d, &b, sizeof d);
    if (!std::isfinite(d)) continue;
    const std::string text = "[" + Shortest(d) + "]";
    boost::json::value parsed = runtrack::ParseJson(text, ec);
    REQUIRE_FALSE(ec);
    const boost::json::value& x = parsed.as_array().at(0);
    const double back = x.is_double() ? x.as_double() : x.to_number<double>();
    ++checked;
    if (Bits(back) != Bits(d)) ++mismatches;
  }
  CHECK(checked > 190000);
  CHECK(mismatches == 0);
}

TEST_CASE("ParseJson builds the same values as Boost for everything but double rounding", "[json_parse]") {
  const std::string text =
      R"({"a":1,"b":-2,"c":18446744073709551615,"d":1.5,"e":"x\u00e9\"y","f":[true,false,null,[],{}],"a":3,"g":-0.0,"h":1e400,"i":-1e-400})";
  boost::json::error_code ec;
  boost::json::value v = runtrack::ParseJson(text, ec);
  REQUIRE_FALSE(ec);
  const auto& o = v.as_object();
  CHECK(o.at("a").as_int64() == 3);  // a duplicate key keeps the later value
  CHECK(o.at("b").as_int64() == -2);
  CHECK(o.at("c").as_uint64() == 18446744073709551615ull);
  CHECK(o.at("d").as_double() == 1.5);
  CHECK(o.at("e").as_string() == "x\xc3\xa9\"y");
  CHECK(boost::json::serialize(o.at("f")) == "[true,false,null,[],{}]");
  CHECK(Bits(o.at("g").as_double()) == 0x8000000000000000ull);
  CHECK(o.at("h").as_double() == INFINITY);
  CHECK(Bits(o.at("i").as_double()) == 0x8000000000000000ull);
}

TEST_CASE("ParseJson reports Boost's errors and returns null", "[json_parse]") {
  boost::json::error_code ec;
  CHECK(runtrack::ParseJson("{\"a\":", ec).is_null());
  CHECK(ec == boost::json::error::incomplete);
  CHECK(runtrack::ParseJson("[1] [2]", ec).is_null());
  CHECK(ec == boost::json::error::extra_data);
  CHECK(runtrack::ParseJson("NaN", ec).is_null());
  CHECK(ec);
  CHECK(runtrack::ParseJson("", ec).is_null());
  CHECK(ec);
  // A spelling given for NaN (the importer's sentinel for Python's bare NaN).
  boost::json::value v = runtrack::ParseJson("[0e77777, 0e0]", ec, "0e77777");
  REQUIRE_FALSE(ec);
  CHECK(std::isnan(v.as_array().at(0).as_double()));
  CHECK(v.as_array().at(1).as_double() == 0.0);
}
