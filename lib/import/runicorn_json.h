// Reading JSON as Runicorn (Python's json module) writes it.
//
// Two differences from what boost::json::parse offers in Boost 1.81 matter for a lossless import:
// - Python writes non-finite floats as the bare tokens NaN, Infinity and -Infinity, which are not
//   JSON; Boost rejects them.
// - Boost 1.81 converts decimal text to double imprecisely (off by one ulp for a sizeable share of
//   Python's shortest round-trip representations), so metric values would not survive bit-exactly.
// ParseRunicornJson therefore rewrites the three tokens (outside strings) to sentinel numbers and
// drives Boost's SAX parser with a handler that converts every number from its exact source text
// with std::from_chars (correctly rounded). Integers stay int64/uint64.
//
// Sentinels: NaN -> 0e77777, Infinity -> 1e77777, -Infinity -> -1e77777. The last two already mean
// +-infinity; a literal `0e77777` in the source (Python never writes one: it prints 0.0) would be
// read as NaN.
//
// Thread-safe: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "runtrack/status.h"

namespace runtrack::importer {

// Corruption (with Boost's message) for text that is not one complete JSON value, including a
// half-written file.
Result<boost::json::value> ParseRunicornJson(std::string_view text);

// The same, requiring an object.
Result<boost::json::object> ParseRunicornObject(std::string_view text);

// Member access tolerant of Runicorn's loosely typed files: a number of any JSON number kind as
// double, or nullopt when absent / not a number; a string member, or "" when absent / not a string.
std::optional<double> NumberMember(const boost::json::object& o, std::string_view key);
std::string StringMember(const boost::json::object& o, std::string_view key);

}  // namespace runtrack::importer
