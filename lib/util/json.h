// JSON text for records and manifests. Boost.JSON writes NaN and +/-Inf as `NaN` / `Infinity`,
// which no JSON parser (Boost's included) reads back, so one such value would make a whole
// journal record or manifest unreadable. They are written as null instead.
#pragma once

#include <string>

#include <boost/json/value.hpp>

namespace runtrack::util {

std::string SerializeJson(const boost::json::value& value);

}  // namespace runtrack::util
