// The API's JSON writer (encode/json_writer.h): Python repr() numbers, escaping, well-formed UTF-8.
#include <catch2/catch.hpp>

#include <charconv>
#include <cmath>
#include <limits>
#include <string>

#include <boost/json.hpp>

#include "encode/json_writer.h"

using runicorn::encode::AppendJsonNumber;
using runicorn::encode::AppendJsonString;
using runicorn::encode::JsonText;
namespace bj = boost::json;

namespace {

std::string Num(double v) {
  std::string out;
  AppendJsonNumber(out, v);
  return out;
}

std::string Str(std::string_view s) {
  std::string out;
  AppendJsonString(out, s);
  return out;
}

}  // namespace

TEST_CASE("doubles print as Python's repr(): shortest round trip, plain between 1e-4 and 1e16",
          "[server][json_writer]") {
  // Each expected string is what CPython 3 prints for repr(v) (json.dumps uses it).
  CHECK(Num(1796281920.8608613) == "1796281920.8608613");
  CHECK(Num(0.1) == "0.1");
  CHECK(Num(123.456) == "123.456");
  CHECK(Num(-1.5) == "-1.5");
  CHECK(Num(2.0) == "2.0");  // Python keeps ".0" (JavaScript would print 2)
  CHECK(Num(100.0) == "100.0");
  CHECK(Num(0.0) == "0.0");
  CHECK(Num(-0.0) == "-0.0");
  CHECK(Num(0.0001) == "0.0001");  // the smallest plain exponent
  CHECK(Num(0.00012345) == "0.00012345");
  CHECK(Num(1e-5) == "1e-05");  // exponent form, at least two exponent digits
  CHECK(Num(1e-7) == "1e-07");  // (JavaScript: 1e-7, its plain range starting there)
  CHECK(Num(1e-8) == "1e-08");
  CHECK(Num(1.5e-10) == "1.5e-10");
  CHECK(Num(1e15) == "1000000000000000.0");
  CHECK(Num(9999999999999998.0) == "9999999999999998.0");  // the largest plain exponent
  CHECK(Num(1e16) == "1e+16");
  CHECK(Num(1e21) == "1e+21");
  CHECK(Num(1.2345678901234568e17) == "1.2345678901234568e+17");
  CHECK(Num(5e-324) == "5e-324");
  CHECK(Num(std::numeric_limits<double>::max()) == "1.7976931348623157e+308");
  CHECK(Num(std::nan("")) == "null");
  CHECK(Num(std::numeric_limits<double>::infinity()) == "null");
  CHECK(Num(-std::numeric_limits<double>::infinity()) == "null");
}

TEST_CASE("every printed double reads back to the same bits", "[server][json_writer]") {
  for (double v : {1796281920.8608613, 0.1, 1.0 / 3, 2.0 / 3 * 1e-6, 6.02214076e23, 5e-324, 2.2250738585072014e-308,
                   -123456.789e-9, 4.35, 0.30000000000000004}) {
    INFO(v);
    const std::string text = Num(v);
    CHECK(bj::parse(text).to_number<double>() == v);
    double back = 0;
    std::from_chars(text.data(), text.data() + text.size(), back);
    CHECK(back == v);
  }
}

TEST_CASE("strings: quotes, backslashes and control characters escaped, UTF-8 kept, bad bytes replaced",
          "[server][json_writer]") {
  CHECK(Str("loss") == R"("loss")");
  CHECK(Str("a\"b\\c") == R"("a\"b\\c")");
  CHECK(Str("\b\f\n\r\t") == R"("\b\f\n\r\t")");
  CHECK(Str(std::string_view("\x01\x1f\x00", 3)) == R"("\u0001\u001f\u0000")");
  CHECK(Str("val/准确率 ✓ 𝔼") == "\"val/准确率 ✓ 𝔼\"");
  CHECK(Str("\x7f") == "\"\x7f\"");  // DEL is legal in JSON strings
  // Not well-formed UTF-8: a stray continuation byte, a truncated sequence, an overlong '/',
  // an encoded surrogate, and a code point above U+10FFFF each become U+FFFD.
  CHECK(Str("a\x80z") == "\"a\xEF\xBF\xBDz\"");
  CHECK(Str("a\xE4\xB8") == "\"a\xEF\xBF\xBD\xEF\xBF\xBD\"");
  CHECK(Str("\xC0\xAF") == "\"\xEF\xBF\xBD\xEF\xBF\xBD\"");
  CHECK(Str("\xED\xA0\x80") == "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"");
  CHECK(Str("\xF4\x90\x80\x80") == "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"");
  // Whatever the input bytes, the output parses and round-trips well-formed input exactly.
  const std::string tricky = "m\"\\\n\x02é€𐍈";
  CHECK(bj::parse(Str(tricky)).as_string() == tricky);
}

TEST_CASE("JsonText writes any value compactly, in key order, with repr() doubles", "[server][json_writer]") {
  bj::value v = bj::object{{"z", 1},
                           {"a", bj::array{1.5, -2, nullptr, true, false, "x"}},
                           {"t", 1796281920.8608613},
                           {"u", bj::value(std::numeric_limits<uint64_t>::max())},
                           {"n", std::nan("")},
                           {"i", 3.0},
                           {"o", bj::object{}},
                           {"e", bj::array{}}};
  CHECK(JsonText(v) ==
        R"({"z":1,"a":[1.5,-2,null,true,false,"x"],"t":1796281920.8608613,"u":18446744073709551615,)"
        R"("n":null,"i":3.0,"o":{},"e":[]})");
  // Boost.JSON's serializer differs only in the doubles.
  CHECK(bj::serialize(bj::value(1796281920.8608613)) == "1.7962819208608613E9");
}
