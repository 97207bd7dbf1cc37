// libnvidia-ml loaded with dlopen and initialised: the resolved entry points of nvml_abi.h.
#pragma once

#include <memory>
#include <string>

#include "system/nvml_abi.h"

namespace runtrack::telemetry {

// Owns one dlopen handle and one successful nvmlInit_v2 (NVML reference-counts init, so other
// users of NVML in the process are unaffected). Destruction calls nvmlShutdown, then dlclose.
// After a successful Load every required entry point is non-null; the only optional one is
// get_compute_running_processes. Calls through the pointers are thread-safe (NVML guarantees it).
class NvmlLibrary {
 public:
  // Returns the library, or sets *failure to why it cannot be used (dlopen error, missing
  // symbol with dlerror's text, nvmlInit_v2 failure with nvmlErrorString) and returns null.
  static std::unique_ptr<NvmlLibrary> Load(const std::string& path, std::string* failure);
  ~NvmlLibrary();
  NvmlLibrary(const NvmlLibrary&) = delete;
  NvmlLibrary& operator=(const NvmlLibrary&) = delete;

  // "Driver Not Loaded (NVML error 9)".
  std::string ErrorText(nvmlReturn_t rc) const;

  nvmlDeviceGetCount_v2_fn get_count = nullptr;
  nvmlDeviceGetHandleByIndex_v2_fn get_handle_by_index = nullptr;
  nvmlDeviceGetName_fn get_name = nullptr;
  nvmlDeviceGetUUID_fn get_uuid = nullptr;
  nvmlDeviceGetUtilizationRates_fn get_utilization_rates = nullptr;
  nvmlDeviceGetMemoryInfo_fn get_memory_info = nullptr;
  nvmlDeviceGetTemperature_fn get_temperature = nullptr;
  nvmlDeviceGetPowerUsage_fn get_power_usage = nullptr;
  nvmlDeviceGetEnforcedPowerLimit_fn get_enforced_power_limit = nullptr;
  nvmlDeviceGetFanSpeed_fn get_fan_speed = nullptr;
  nvmlDeviceGetComputeRunningProcesses_fn get_compute_running_processes = nullptr;  // may be null

 private:
  NvmlLibrary() = default;

  void* handle_ = nullptr;
  bool initialised_ = false;
  nvmlInit_v2_fn init_ = nullptr;
  nvmlShutdown_fn shutdown_ = nullptr;
  nvmlErrorString_fn error_string_ = nullptr;
};

}  // namespace runtrack::telemetry
