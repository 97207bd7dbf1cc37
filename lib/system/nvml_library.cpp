#include "system/nvml_library.h"

#include <dlfcn.h>

#include <fmt/format.h>

namespace runtrack::telemetry {

namespace {

std::string LastDlError() {
  const char* e = ::dlerror();
  return e ? e : "unknown dlerror";
}

// Resolves `name` into *fn; on failure describes it (unless optional) and returns false.
template <typename Fn>
bool Resolve(void* handle, const char* name, const std::string& path, Fn* fn, std::string* failure) {
  ::dlerror();  // clear a stale error so the message below is this lookup's
  *fn = reinterpret_cast<Fn>(::dlsym(handle, name));
  if (*fn != nullptr) return true;
  if (failure) *failure = fmt::format("symbol {} missing from NVML ({}): {}", name, path, LastDlError());
  return false;
}

}  // namespace

std::unique_ptr<NvmlLibrary> NvmlLibrary::Load(const std::string& path, std::string* failure) {
  std::unique_ptr<NvmlLibrary> lib(new NvmlLibrary());
  ::dlerror();
  lib->handle_ = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (lib->handle_ == nullptr) {
    *failure = fmt::format("cannot load NVML ({}): {}", path, LastDlError());
    return nullptr;
  }
  void* h = lib->handle_;
  bool ok = Resolve(h, "nvmlInit_v2", path, &lib->init_, failure) &&
            Resolve(h, "nvmlShutdown", path, &lib->shutdown_, failure) &&
            Resolve(h, "nvmlErrorString", path, &lib->error_string_, failure) &&
            Resolve(h, "nvmlDeviceGetCount_v2", path, &lib->get_count, failure) &&
            Resolve(h, "nvmlDeviceGetHandleByIndex_v2", path, &lib->get_handle_by_index, failure) &&
            Resolve(h, "nvmlDeviceGetName", path, &lib->get_name, failure) &&
            Resolve(h, "nvmlDeviceGetUUID", path, &lib->get_uuid, failure) &&
            Resolve(h, "nvmlDeviceGetUtilizationRates", path, &lib->get_utilization_rates, failure) &&
            Resolve(h, "nvmlDeviceGetMemoryInfo", path, &lib->get_memory_info, failure) &&
            Resolve(h, "nvmlDeviceGetTemperature", path, &lib->get_temperature, failure) &&
            Resolve(h, "nvmlDeviceGetPowerUsage", path, &lib->get_power_usage, failure) &&
            Resolve(h, "nvmlDeviceGetEnforcedPowerLimit", path, &lib->get_enforced_power_limit, failure) &&
            Resolve(h, "nvmlDeviceGetFanSpeed", path, &lib->get_fan_speed, failure);
  if (!ok) return nullptr;  // the destructor dlcloses
  // Optional: older drivers and some stubs lack it; devices then report no process list.
  Resolve(h, "nvmlDeviceGetComputeRunningProcesses", path, &lib->get_compute_running_processes, nullptr);

  nvmlReturn_t rc = lib->init_();
  if (rc != NVML_SUCCESS) {
    *failure = fmt::format("nvmlInit_v2 failed: {}", lib->ErrorText(rc));
    return nullptr;
  }
  lib->initialised_ = true;
  return lib;
}

NvmlLibrary::~NvmlLibrary() {
  if (initialised_) shutdown_();
  if (handle_ != nullptr) ::dlclose(handle_);
}

std::string NvmlLibrary::ErrorText(nvmlReturn_t rc) const {
  const char* text = error_string_ ? error_string_(rc) : nullptr;
  return fmt::format("{} (NVML error {})", text ? text : "unknown error", rc);
}

}  // namespace runtrack::telemetry
