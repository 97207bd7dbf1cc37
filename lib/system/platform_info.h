// The platform description (uname + CPU model) of Runicorn's system monitor.
#pragma once

#include "runtrack/status.h"
#include "runtrack/system.h"
#include "system/cpuinfo.h"

namespace runtrack::telemetry {

// uname(2) fields plus the model and logical count from `cpu` (the count falls back to
// sysconf(_SC_NPROCESSORS_ONLN) when /proc/cpuinfo listed no processor). IOError if uname fails.
Result<PlatformInfo> ReadPlatformInfo(const CpuInfo& cpu);

}  // namespace runtrack::telemetry
