// Parsing /proc/meminfo into MemoryUsage (psutil.virtual_memory / swap_memory definitions).
#pragma once

#include <string_view>

#include "runtrack/status.h"
#include "runtrack/system.h"

namespace runtrack::telemetry {

// Corruption when MemTotal is missing or a needed value is not a number. Values are "kB"
// (KiB) in the file and bytes in the result.
Result<MemoryUsage> ParseMeminfo(std::string_view text);

}  // namespace runtrack::telemetry
