// Checks for ids and names that come from outside (HTTP requests, command lines, other stores).
// Every front end uses these, so a bad id gets the same message everywhere.
//
// Thread safety: pure functions.
#pragma once

#include <string_view>

#include "runtrack/status.h"

namespace runtrack {

// Run ids are Runicorn's `YYYYMMDD_HHMMSS_<6 lower-case hex>` (^[0-9]{8}_[0-9]{6}_[a-f0-9]{6}$);
// nothing else names a run folder, so a valid id can never leave <root>/runs/. Otherwise
// InvalidArgument "Invalid run_id format: <id>. Expected format: YYYYMMDD_HHMMSS_XXXXXX" (the id
// shown at most 64 characters, unprintable bytes as '?').
Status ValidateRunId(std::string_view run_id);

}  // namespace runtrack
