// Reading JSON text into boost::json values without losing a bit of any number.
//
// boost::json::parse in Boost 1.81 (Debian 12's) converts decimal text to double imprecisely: one
// ulp off for about one in six shortest round-trip spellings (338,718 of 2,000,000 random doubles
// here; e.g. "3.7400061499501405E0"). A config, summary or statistic written exactly would then
// read back different. ParseJson drives Boost's own SAX parser (same grammar, same limits, same
// error codes) with a handler that converts every number from its exact source text with
// std::from_chars, which rounds correctly. Integers stay int64/uint64; a duplicate key keeps the
// last value. Use it everywhere instead of Boost's parse; an architecture test checks.
//
// Thread safety: pure functions.
#pragma once

#include <string_view>

#include <boost/json/error.hpp>
#include <boost/json/value.hpp>

namespace runtrack {

// Like Boost's parse(text, ec): the value, or null with `ec` set (extra data after the value
// included).
boost::json::value ParseJson(std::string_view text, boost::json::error_code& ec);

// The same, reading the number spelled exactly `nan_spelling` as a quiet NaN (the importer
// rewrites Python's bare NaN token to such a spelling first; see lib/import/runicorn_json.h).
boost::json::value ParseJson(std::string_view text, boost::json::error_code& ec, std::string_view nan_spelling);

}  // namespace runtrack
