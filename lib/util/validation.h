// Checks applied to every name and id that comes from outside the library.
#pragma once

#include <string_view>

#include "runtrack/status.h"

namespace runtrack::util {

bool IsValidUtf8(std::string_view s);

// Run ids are Runicorn's `YYYYMMDD_HHMMSS_<6 lower-case hex>`; nothing else may name a run
// directory, so a run id can never escape <root>/runs/.
bool IsValidRunId(std::string_view id);
Status CheckRunId(std::string_view id);

// Metric names: 1..256 bytes of valid UTF-8 without control characters.
Status CheckMetricName(std::string_view name);

// Project / experiment names and tags: 1..256 bytes of valid UTF-8 without control characters.
Status CheckLabel(std::string_view what, std::string_view value);

}  // namespace runtrack::util
