// Checks applied to every name and id that comes from outside the library.
#pragma once

#include <string_view>

#include "runtrack/status.h"
#include "runtrack/validation.h"

namespace runtrack::util {

// The one UTF-8 check: rejects overlong forms, surrogates and code points past U+10FFFF.
bool IsValidUtf8(std::string_view s);
// Bytes below 0x20 and DEL.
bool HasControlChar(std::string_view s);

// Run ids: see runtrack::ValidateRunId (runtrack/validation.h), which is the checked form.
bool IsValidRunId(std::string_view id);

// Metric names: 1..256 bytes of valid UTF-8 without control characters.
Status CheckMetricName(std::string_view name);

// Project / experiment names and tags: 1..256 bytes of valid UTF-8 without control characters.
Status CheckLabel(std::string_view what, std::string_view value);

}  // namespace runtrack::util
