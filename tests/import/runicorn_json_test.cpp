// The Runicorn JSON dialect: bare NaN / Infinity tokens and bit-exact doubles.
#include <catch2/catch.hpp>

#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include "import/runicorn_json.h"
#include "runicorn_fixture.h"

namespace runtrack::importer {
namespace {

namespace json = boost::json;

bool SameBits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

TEST_CASE("non-finite tokens become NaN and infinities, inside strings they stay text", "[import][json]") {
  auto parsed = ParseRunicornObject(
      "{\"a\": NaN, \"b\": Infinity, \"c\": -Infinity, \"s\": \"NaN Infinity -Infinity \\\" NaN\", "
      "\"l\": [NaN, 1, -Infinity]}");
  REQUIRE(parsed.ok());
  const json::object& o = *parsed;
  CHECK(std::isnan(o.at("a").as_double()));
  CHECK(o.at("b").as_double() == std::numeric_limits<double>::infinity());
  CHECK(o.at("c").as_double() == -std::numeric_limits<double>::infinity());
  CHECK(o.at("s").as_string() == "NaN Infinity -Infinity \" NaN");
  const json::array& l = o.at("l").as_array();
  REQUIRE(l.size() == 3);
  CHECK(std::isnan(l[0].as_double()));
  CHECK(l[1].as_int64() == 1);
  CHECK(l[2].as_double() == -std::numeric_limits<double>::infinity());
}

TEST_CASE("doubles are read bit-exactly from Python's shortest representation", "[import][json]") {
  std::mt19937_64 rng(7);
  int checked = 0;
  for (int i = 0; i < 100000; ++i) {
    uint64_t bits = rng();
    double d;
    std::memcpy(&d, &bits, sizeof d);
    if (!std::isfinite(d)) continue;
    std::string text = "{\"v\": " + testing::PyFloat(d) + "}";
    auto parsed = ParseRunicornObject(text);
    REQUIRE(parsed.ok());
    INFO(text);
    REQUIRE(SameBits(parsed->at("v").as_double(), d));
    ++checked;
  }
  CHECK(checked > 90000);
  for (double d : {-0.0, 5e-324, 1.7976931348623157e308, 0.1, 2.0}) {
    auto parsed = ParseRunicornObject("{\"v\": " + testing::PyFloat(d) + "}");
    REQUIRE(parsed.ok());
    CHECK(SameBits(parsed->at("v").as_double(), d));
  }
}

TEST_CASE("integers stay integers, duplicate keys keep the later value", "[import][json]") {
  auto parsed = ParseRunicornObject("{\"i\": -42, \"u\": 18446744073709551615, \"k\": 1, \"k\": 2, \"t\": true, \"n\": null}");
  REQUIRE(parsed.ok());
  CHECK(parsed->at("i").as_int64() == -42);
  CHECK(parsed->at("u").as_uint64() == 18446744073709551615ull);
  CHECK(parsed->at("k").as_int64() == 2);
  CHECK(parsed->at("t").as_bool());
  CHECK(parsed->at("n").is_null());
}

TEST_CASE("half-written, trailing garbage and non-objects are Corruption", "[import][json]") {
  CHECK(ParseRunicornJson("{\"a\": 1, \"b").status().code() == StatusCode::kCorruption);
  CHECK(ParseRunicornJson("{\"a\": 1} x").status().code() == StatusCode::kCorruption);
  CHECK(ParseRunicornJson("").status().code() == StatusCode::kCorruption);
  CHECK(ParseRunicornJson("Na").status().code() == StatusCode::kCorruption);
  CHECK(ParseRunicornObject("[1, 2]").status().code() == StatusCode::kCorruption);
  auto trailing_newline = ParseRunicornObject("{\"a\": 1}\n");
  REQUIRE(trailing_newline.ok());
  CHECK(trailing_newline->at("a").as_int64() == 1);
}

}  // namespace
}  // namespace runtrack::importer
