// Reading every GPU's identity and readings through an initialised NVML.
#pragma once

#include <vector>

#include "runtrack/status.h"
#include "runtrack/system.h"
#include "system/nvml_library.h"

namespace runtrack::telemetry {

// IOError naming the call and NVML's error text when the device count or a device handle cannot
// be read. Every other query that fails (NOT_SUPPORTED, NO_PERMISSION, ...) leaves its field
// unset: one unsupported reading must not hide the others. Thread-safe.
Result<std::vector<GpuDevice>> ReadGpuDevices(const NvmlLibrary& nvml);

}  // namespace runtrack::telemetry
