// The machine the viewer runs on: CPU, memory, disk and platform (GET /api/system/monitor) and the
// GPUs through NVML (GET /api/gpu/telemetry). No JSON here: plain runtrack structs out.
//
// Thread safety: every method may be called from any thread. One SystemReader lives as long as
// the service, behind a mutex, and was primed at construction, so a monitor request never waits
// the 100 ms a first CPU sample needs; the CPU percentage is the usage since the previous request.
#pragma once

#include <filesystem>
#include <memory>
#include <mutex>
#include <string>

#include "runtrack/status.h"
#include "runtrack/system.h"

namespace runicorn::service {

class SystemService {
 public:
  // `disk_path`: the file system reported under "disk" (the store root: the disk a tracker fills).
  // `nvml_library`: empty = $RUNICORN_NVML_LIBRARY if set, else libnvidia-ml.so.1. The
  // environment variable is read here, at construction, so a test can point one server at a fake
  // library; the library itself is loaded on the first GPU request.
  explicit SystemService(std::filesystem::path disk_path, std::string nvml_library = {});
  ~SystemService();
  SystemService(const SystemService&) = delete;
  SystemService& operator=(const SystemService&) = delete;

  // IOError / NotFound when /proc or the disk path cannot be read.
  runtrack::Result<runtrack::SystemSnapshot> Monitor();
  // available = false with the reason when NVML cannot be used; a device read error (IOError)
  // also becomes available = false with that error as the reason (the route never 500s for it).
  runtrack::GpuTelemetry Gpus();

 private:
  std::mutex mu_;
  std::string disk_path_;
  std::unique_ptr<runtrack::SystemReader> reader_;  // guarded by mu_
  runtrack::GpuMonitorOptions gpu_options_;
  std::once_flag gpu_once_;
  std::unique_ptr<runtrack::GpuMonitor> gpu_;  // set once under gpu_once_
};

}  // namespace runicorn::service
