// The one JSON text writer of the API: every response body and the CLI's --json go through it, so
// numbers look the same everywhere and the same as Runicorn's (a Python server: json.dumps, which
// prints floats with repr()).
//
// Numbers: a double is written as the shortest decimal that reads back to the same double, in
// Python's repr() layout: plain notation when the decimal exponent is in [-4, 16) (0.0001,
// 1796281920.8608613, 1e+16 is the first exponent form), otherwise d.ddde[+-]XX with at least two
// exponent digits (1e-05, 5e-324, 1e+21); an integral double keeps ".0" (2.0, -0.0), so a client
// can tell a float column from an int one, as with Runicorn. NaN and infinities are written as
// null (JSON has no token for them). Boost.JSON's own serializer would print 1.7962819208608613E9.
//
// Strings: '"', '\\' and control characters are escaped (\b \f \n \r \t, else \u00XX); other
// bytes pass through, except that bytes which are not well-formed UTF-8 become U+FFFD, so a
// metric name from an arbitrary journal never makes the body unparseable.
//
// Thread safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include <boost/json/value.hpp>

namespace runicorn::encode {

// Appends `v` as described above.
void AppendJsonNumber(std::string& out, double v);
// Appends `s` as a quoted JSON string.
void AppendJsonString(std::string& out, std::string_view s);
// Appends `v` compactly (no spaces), objects in their stored key order.
void AppendJson(std::string& out, const boost::json::value& v);
// The whole text of `v`.
std::string JsonText(const boost::json::value& v);

}  // namespace runicorn::encode
