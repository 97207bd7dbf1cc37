// A fake libnvidia-ml for tests: the NVML entry points libruntrack uses, with devices described by
// environment variables read at every nvmlInit_v2, so one test program can try several setups.
//
//   FAKE_NVML_DEVICES  comma-separated devices, each
//       name:mem_total_mib:mem_used_mib:util_gpu[:util_mem[:temp_c[:power_mw[:limit_mw[:fan[:procs]]]]]]
//     A missing or "-" reading answers NVML_ERROR_NOT_SUPPORTED. `procs` is "pid/used_mib+..." (used
//     "-" = NVML_VALUE_NOT_AVAILABLE). The UUID of device i is "GPU-fake-<i>".
//   FAKE_NVML_MODE     "init_fails" (nvmlInit_v2 answers DRIVER_NOT_LOADED), "count_fails"
//                      (nvmlDeviceGetCount_v2 answers UNKNOWN), "handle_fails" (every
//                      nvmlDeviceGetHandleByIndex_v2 answers GPU_IS_LOST); anything else: normal.
//
// Built three times (tests/CMakeLists.txt): complete, without nvmlDeviceGetMemoryInfo
// (FAKE_NVML_OMIT_MEMORY_INFO, a required symbol) and without
// nvmlDeviceGetComputeRunningProcesses (FAKE_NVML_OMIT_PROCESSES, an optional one).
// fake_nvml_init_calls / fake_nvml_shutdown_calls / fake_nvml_active let tests check that NVML is
// initialised once and shut down. Device calls before nvmlInit_v2 (or after the last
// nvmlShutdown) answer UNINITIALIZED, as the real library does.
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "system/nvml_abi.h"

struct nvmlDevice_st {
  std::string name;
  std::string uuid;
  unsigned long long mem_total = 0, mem_used = 0;
  long util_gpu = -1, util_mem = -1, temp = -1, power_mw = -1, limit_mw = -1, fan = -1;  // -1: unsupported
  std::vector<nvmlProcessInfo_v1_t> processes;
};

namespace {

constexpr unsigned long long kMiB = 1024ull * 1024ull;

std::vector<nvmlDevice_st> g_devices;
std::string g_mode;
int g_active = 0;      // nvmlInit_v2 reference count, as in NVML
int g_init_calls = 0;  // successful nvmlInit_v2 calls since the library was loaded
int g_shutdown_calls = 0;

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    size_t end = s.find(sep, start);
    out.push_back(s.substr(start, end - start));
    if (end == std::string::npos) return out;
    start = end + 1;
  }
}

long Reading(const std::vector<std::string>& f, size_t i) {
  return i < f.size() && !f[i].empty() && f[i] != "-" ? std::strtol(f[i].c_str(), nullptr, 10) : -1;
}

void LoadDevices() {
  g_devices.clear();
  const char* spec = std::getenv("FAKE_NVML_DEVICES");
  if (spec == nullptr || *spec == '\0') return;
  for (const std::string& dev : Split(spec, ',')) {
    std::vector<std::string> f = Split(dev, ':');
    nvmlDevice_st d;
    d.name = f[0];
    d.uuid = "GPU-fake-" + std::to_string(g_devices.size());
    d.mem_total = static_cast<unsigned long long>(Reading(f, 1)) * kMiB;
    d.mem_used = static_cast<unsigned long long>(Reading(f, 2)) * kMiB;
    d.util_gpu = Reading(f, 3);
    d.util_mem = Reading(f, 4);
    d.temp = Reading(f, 5);
    d.power_mw = Reading(f, 6);
    d.limit_mw = Reading(f, 7);
    d.fan = Reading(f, 8);
    if (f.size() > 9 && !f[9].empty()) {
      for (const std::string& p : Split(f[9], '+')) {
        std::vector<std::string> pm = Split(p, '/');
        nvmlProcessInfo_v1_t info{};
        info.pid = static_cast<unsigned>(std::strtoul(pm[0].c_str(), nullptr, 10));
        info.usedGpuMemory = pm.size() > 1 && pm[1] != "-"
                                 ? std::strtoull(pm[1].c_str(), nullptr, 10) * kMiB
                                 : NVML_VALUE_NOT_AVAILABLE_ULL;
        d.processes.push_back(info);
      }
    }
    g_devices.push_back(d);
  }
}

nvmlReturn_t UnsignedReading(long value, unsigned int* out) {
  if (g_active == 0) return NVML_ERROR_UNINITIALIZED;
  if (value < 0) return NVML_ERROR_NOT_SUPPORTED;
  *out = static_cast<unsigned int>(value);
  return NVML_SUCCESS;
}

nvmlReturn_t CopyString(const std::string& s, char* buf, unsigned int length) {
  if (g_active == 0) return NVML_ERROR_UNINITIALIZED;
  if (length < s.size() + 1) return NVML_ERROR_INSUFFICIENT_SIZE;
  std::memcpy(buf, s.c_str(), s.size() + 1);
  return NVML_SUCCESS;
}

}  // namespace

extern "C" {

__attribute__((visibility("default"))) int fake_nvml_init_calls(void) { return g_init_calls; }
__attribute__((visibility("default"))) int fake_nvml_active(void) { return g_active; }
__attribute__((visibility("default"))) int fake_nvml_shutdown_calls(void) { return g_shutdown_calls; }

nvmlReturn_t nvmlInit_v2(void) {
  const char* mode = std::getenv("FAKE_NVML_MODE");
  g_mode = mode ? mode : "";
  if (g_mode == "init_fails") return NVML_ERROR_DRIVER_NOT_LOADED;
  // Re-read on every init (not only the first, as reference counting would suggest), so a test
  // sees its own FAKE_NVML_DEVICES even while another monitor keeps the library initialised.
  // Handles are looked up per read, never kept across inits.
  LoadDevices();
  ++g_active;
  ++g_init_calls;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlShutdown(void) {
  ++g_shutdown_calls;
  if (g_active == 0) return NVML_ERROR_UNINITIALIZED;
  --g_active;
  return NVML_SUCCESS;
}

const char* nvmlErrorString(nvmlReturn_t result) {
  switch (result) {
    case NVML_SUCCESS: return "Success";
    case NVML_ERROR_UNINITIALIZED: return "Uninitialized";
    case NVML_ERROR_NOT_SUPPORTED: return "Not Supported";
    case NVML_ERROR_INSUFFICIENT_SIZE: return "Insufficient Size";
    case NVML_ERROR_DRIVER_NOT_LOADED: return "Driver Not Loaded";
    case NVML_ERROR_GPU_IS_LOST: return "GPU is lost";
    default: return "Unknown Error";
  }
}

nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int* count) {
  if (g_active == 0) return NVML_ERROR_UNINITIALIZED;
  if (g_mode == "count_fails") return NVML_ERROR_UNKNOWN;
  *count = static_cast<unsigned int>(g_devices.size());
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t* device) {
  if (g_active == 0) return NVML_ERROR_UNINITIALIZED;
  if (g_mode == "handle_fails") return NVML_ERROR_GPU_IS_LOST;
  if (index >= g_devices.size()) return NVML_ERROR_INVALID_ARGUMENT;
  *device = &g_devices[index];
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t device, char* name, unsigned int length) {
  return CopyString(device->name, name, length);
}

nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t device, char* uuid, unsigned int length) {
  return CopyString(device->uuid, uuid, length);
}

nvmlReturn_t nvmlDeviceGetUtilizationRates(nvmlDevice_t device, nvmlUtilization_t* utilization) {
  if (g_active == 0) return NVML_ERROR_UNINITIALIZED;
  // Real NVML reports both or neither; the fake follows the GPU reading.
  if (device->util_gpu < 0) return NVML_ERROR_NOT_SUPPORTED;
  utilization->gpu = static_cast<unsigned int>(device->util_gpu);
  utilization->memory = static_cast<unsigned int>(device->util_mem < 0 ? 0 : device->util_mem);
  return NVML_SUCCESS;
}

#ifndef FAKE_NVML_OMIT_MEMORY_INFO
nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t device, nvmlMemory_t* memory) {
  if (g_active == 0) return NVML_ERROR_UNINITIALIZED;
  memory->total = device->mem_total;
  memory->used = device->mem_used;
  memory->free = device->mem_total - device->mem_used;
  return NVML_SUCCESS;
}
#endif

nvmlReturn_t nvmlDeviceGetTemperature(nvmlDevice_t device, int sensor, unsigned int* temp) {
  if (sensor != NVML_TEMPERATURE_GPU) return NVML_ERROR_INVALID_ARGUMENT;
  return UnsignedReading(device->temp, temp);
}

nvmlReturn_t nvmlDeviceGetPowerUsage(nvmlDevice_t device, unsigned int* milliwatts) {
  return UnsignedReading(device->power_mw, milliwatts);
}

nvmlReturn_t nvmlDeviceGetEnforcedPowerLimit(nvmlDevice_t device, unsigned int* milliwatts) {
  return UnsignedReading(device->limit_mw, milliwatts);
}

nvmlReturn_t nvmlDeviceGetFanSpeed(nvmlDevice_t device, unsigned int* percent) {
  return UnsignedReading(device->fan, percent);
}

#ifndef FAKE_NVML_OMIT_PROCESSES
// NVML's sizing protocol: a too-small buffer answers INSUFFICIENT_SIZE with the needed count.
nvmlReturn_t nvmlDeviceGetComputeRunningProcesses(nvmlDevice_t device, unsigned int* count,
                                                  nvmlProcessInfo_v1_t* infos) {
  if (g_active == 0) return NVML_ERROR_UNINITIALIZED;
  unsigned int needed = static_cast<unsigned int>(device->processes.size());
  if (*count < needed) {
    *count = needed;
    return NVML_ERROR_INSUFFICIENT_SIZE;
  }
  for (unsigned int i = 0; i < needed; ++i) infos[i] = device->processes[i];
  *count = needed;
  return NVML_SUCCESS;
}
#endif

}  // extern "C"
