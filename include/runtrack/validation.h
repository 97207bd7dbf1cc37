// Checks for ids and names that come from outside (HTTP requests, command lines, other stores).
// Every front end uses these, so a bad id gets the same message everywhere.
//
// Thread safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "runtrack/status.h"

namespace runtrack {

// Run ids are Runicorn's `YYYYMMDD_HHMMSS_<6 lower-case hex>` (^[0-9]{8}_[0-9]{6}_[a-f0-9]{6}$);
// nothing else names a run folder, so a valid id can never leave <root>/runs/. Otherwise
// InvalidArgument "Invalid run_id format: <id>. Expected format: YYYYMMDD_HHMMSS_XXXXXX" (the id
// shown at most 64 characters, unprintable bytes as '?').
Status ValidateRunId(std::string_view run_id);

// Runicorn v0.6's run path ("vision/resnet"): a backslash becomes '/', repeated '/' collapse,
// leading and trailing '/' are dropped ("" and "/" name the root); what is left must be at most
// 200 characters of [A-Za-z0-9_-/]. Returns the normalised path, or InvalidArgument saying which
// rule failed (the path shown at most 64 characters, unprintable bytes as '?'). No '.' is
// allowed, so a valid path has no ".." segment.
Result<std::string> NormalizeRunPath(std::string_view path);

}  // namespace runtrack
