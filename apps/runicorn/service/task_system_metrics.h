// Pyruns' GET /api/system/metrics: CPU and memory percentages and the GPUs with their compute
// processes, from SystemService (/proc and NVML, include/runtrack/system.h). Pyruns reads the same
// through psutil and nvidia-smi's CSV, so memory is in MiB as nvidia-smi prints it.
//
// Thread safety: as SystemService.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "runtrack/status.h"
#include "service/system_service.h"

namespace runicorn::service {

struct TaskGpuProcess {
  uint32_t pid = 0;
  std::string user;  // owner's login name ("" when the process is gone or not visible)
  std::string name;  // /proc/<pid>/comm ("" likewise)
  std::optional<uint64_t> memory_mb;
};

struct TaskGpu {
  unsigned index = 0;
  std::string name, uuid;
  std::optional<unsigned> util;  // GPU utilization, percent
  std::optional<uint64_t> mem_used_mb, mem_total_mb;
  std::vector<TaskGpuProcess> processes;  // only when asked for
};

struct TaskSystemMetrics {
  double cpu_percent = 0;
  double mem_percent = 0;
  std::vector<TaskGpu> gpus;  // empty without NVML
};

// IOError / NotFound when /proc cannot be read (SystemService::Monitor).
runtrack::Result<TaskSystemMetrics> ReadTaskSystemMetrics(SystemService& system, bool include_processes);

}  // namespace runicorn::service
