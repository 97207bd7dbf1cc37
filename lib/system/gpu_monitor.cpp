// GpuMonitor and the process-wide ReadGpuTelemetry.
#include <cstdlib>
#include <utility>

#include "runtrack/system.h"
#include "system/gpu_devices.h"
#include "system/nvml_library.h"
#include "util/files.h"

namespace runtrack {

struct GpuMonitor::Impl {
  std::string library_path;
  std::unique_ptr<telemetry::NvmlLibrary> nvml;  // null when unusable
  std::string failure;                           // why nvml is null
};

GpuMonitor::GpuMonitor(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
GpuMonitor::~GpuMonitor() = default;

std::unique_ptr<GpuMonitor> GpuMonitor::Open(const GpuMonitorOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->library_path = options.library_path;
  if (impl->library_path.empty()) {
    const char* env = std::getenv("RUNICORN_NVML_LIBRARY");
    impl->library_path = env && *env ? env : "libnvidia-ml.so.1";
  }
  impl->nvml = telemetry::NvmlLibrary::Load(impl->library_path, &impl->failure);
  return std::unique_ptr<GpuMonitor>(new GpuMonitor(std::move(impl)));
}

Result<GpuTelemetry> GpuMonitor::Read() const {
  GpuTelemetry t;
  t.wall_time = util::NowSeconds();
  if (!impl_->nvml) {
    t.reason = impl_->failure;
    return t;
  }
  RUNTRACK_ASSIGN_OR_RETURN(t.gpus, telemetry::ReadGpuDevices(*impl_->nvml));
  t.available = true;
  return t;
}

const std::string& GpuMonitor::library_path() const { return impl_->library_path; }

Result<GpuTelemetry> ReadGpuTelemetry() {
  // Leaked on purpose: see the header (no nvmlShutdown during static destruction).
  static GpuMonitor* const monitor = GpuMonitor::Open().release();
  return monitor->Read();
}

}  // namespace runtrack
