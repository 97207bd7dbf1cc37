#include "service/system_service.h"

#include <cstdlib>

namespace runicorn::service {

SystemService::SystemService(std::filesystem::path disk_path, std::string nvml_library)
    : disk_path_(disk_path.string()) {
  runtrack::SystemReadOptions options;
  options.disk_path = disk_path_;
  reader_ = std::make_unique<runtrack::SystemReader>(options);
  // A failed baseline only means the first Monitor() waits for its CPU sample.
  (void)reader_->Prime();
  if (nvml_library.empty()) {
    const char* env = std::getenv("RUNICORN_NVML_LIBRARY");
    // Frozen now: GpuMonitor would otherwise read the variable again when it opens.
    nvml_library = env != nullptr && *env != '\0' ? env : "libnvidia-ml.so.1";
  }
  gpu_options_.library_path = std::move(nvml_library);
}

SystemService::~SystemService() = default;

runtrack::Result<runtrack::SystemSnapshot> SystemService::Monitor() {
  std::lock_guard<std::mutex> lock(mu_);
  return reader_->Read();
}

runtrack::GpuTelemetry SystemService::Gpus() {
  std::call_once(gpu_once_, [this] { gpu_ = runtrack::GpuMonitor::Open(gpu_options_); });
  auto telemetry = gpu_->Read();
  if (telemetry.ok()) return std::move(*telemetry);
  runtrack::GpuTelemetry unavailable;
  unavailable.reason = telemetry.status().message();
  return unavailable;
}

}  // namespace runicorn::service
