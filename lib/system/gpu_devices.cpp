#include "system/gpu_devices.h"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

namespace runtrack::telemetry {

namespace {

// NVML strings are NUL-terminated within the buffer; never trust that blindly.
std::string FromBuffer(const char* buf, size_t size) { return std::string(buf, ::strnlen(buf, size)); }

std::optional<std::vector<GpuProcess>> ReadProcesses(const NvmlLibrary& nvml, nvmlDevice_t dev) {
  if (nvml.get_compute_running_processes == nullptr) return std::nullopt;
  // Processes may start between the sizing answer and the next call, hence a few rounds.
  std::vector<nvmlProcessInfo_v1_t> infos(16);
  for (int attempt = 0; attempt < 4; ++attempt) {
    unsigned count = static_cast<unsigned>(infos.size());
    nvmlReturn_t rc = nvml.get_compute_running_processes(dev, &count, infos.data());
    if (rc == NVML_ERROR_INSUFFICIENT_SIZE) {
      infos.resize(std::max<size_t>(count, infos.size()) * 2);
      continue;
    }
    if (rc != NVML_SUCCESS) return std::nullopt;
    std::vector<GpuProcess> out;
    out.reserve(std::min<size_t>(count, infos.size()));
    for (unsigned i = 0; i < count && i < infos.size(); ++i) {
      GpuProcess p;
      p.pid = infos[i].pid;
      if (infos[i].usedGpuMemory != NVML_VALUE_NOT_AVAILABLE_ULL) {
        p.used_memory_bytes = infos[i].usedGpuMemory;
      }
      out.push_back(p);
    }
    return out;
  }
  return std::nullopt;
}

GpuDevice ReadDevice(const NvmlLibrary& nvml, unsigned index, nvmlDevice_t dev) {
  GpuDevice d;
  d.index = index;
  char buf[std::max(NVML_DEVICE_NAME_V2_BUFFER_SIZE, NVML_DEVICE_UUID_V2_BUFFER_SIZE)] = {};
  if (nvml.get_name(dev, buf, sizeof buf) == NVML_SUCCESS) d.name = FromBuffer(buf, sizeof buf);
  std::memset(buf, 0, sizeof buf);
  if (nvml.get_uuid(dev, buf, sizeof buf) == NVML_SUCCESS) d.uuid = FromBuffer(buf, sizeof buf);

  nvmlUtilization_t util{};
  if (nvml.get_utilization_rates(dev, &util) == NVML_SUCCESS) {
    d.utilization_gpu_percent = util.gpu;
    d.utilization_memory_percent = util.memory;
  }
  nvmlMemory_t mem{};
  if (nvml.get_memory_info(dev, &mem) == NVML_SUCCESS) {
    d.memory_total_bytes = mem.total;
    d.memory_used_bytes = mem.used;
    d.memory_free_bytes = mem.free;
  }
  unsigned value = 0;
  if (nvml.get_temperature(dev, NVML_TEMPERATURE_GPU, &value) == NVML_SUCCESS) d.temperature_celsius = value;
  if (nvml.get_power_usage(dev, &value) == NVML_SUCCESS) d.power_draw_watts = value / 1000.0;
  if (nvml.get_enforced_power_limit(dev, &value) == NVML_SUCCESS) d.power_limit_watts = value / 1000.0;
  if (nvml.get_fan_speed(dev, &value) == NVML_SUCCESS) d.fan_speed_percent = value;
  d.processes = ReadProcesses(nvml, dev);
  return d;
}

}  // namespace

Result<std::vector<GpuDevice>> ReadGpuDevices(const NvmlLibrary& nvml) {
  unsigned count = 0;
  nvmlReturn_t rc = nvml.get_count(&count);
  if (rc != NVML_SUCCESS) return Status::IOError("nvmlDeviceGetCount_v2 failed: " + nvml.ErrorText(rc));
  std::vector<GpuDevice> devices;
  devices.reserve(count);
  for (unsigned i = 0; i < count; ++i) {
    nvmlDevice_t dev = nullptr;
    rc = nvml.get_handle_by_index(i, &dev);
    if (rc != NVML_SUCCESS) {
      return Status::IOError(
          fmt::format("nvmlDeviceGetHandleByIndex_v2({}) failed: {}", i, nvml.ErrorText(rc)));
    }
    devices.push_back(ReadDevice(nvml, i, dev));
  }
  return devices;
}

}  // namespace runtrack::telemetry
