#include "service/task_system_metrics.h"

#include <pwd.h>
#include <sys/stat.h>

#include <fstream>

namespace runicorn::service {
using runtrack::Result;

namespace {

constexpr uint64_t kMiB = 1024 * 1024;

// Login name of the process's owner and its command name; both "" when it cannot be seen (gone,
// another PID namespace).
void DescribeProcess(uint32_t pid, std::string* user, std::string* name) {
  const std::string dir = "/proc/" + std::to_string(pid);
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) return;
  struct passwd pw {};
  struct passwd* found = nullptr;
  char buf[4096];
  if (::getpwuid_r(st.st_uid, &pw, buf, sizeof buf, &found) == 0 && found != nullptr) *user = found->pw_name;
  else *user = std::to_string(st.st_uid);
  std::ifstream comm(dir + "/comm");
  std::getline(comm, *name);
}

}  // namespace

Result<TaskSystemMetrics> ReadTaskSystemMetrics(SystemService& system, bool include_processes) {
  RUNTRACK_ASSIGN_OR_RETURN(runtrack::SystemSnapshot snap, system.Monitor());
  TaskSystemMetrics out;
  out.cpu_percent = snap.cpu.percent;
  out.mem_percent = snap.memory.percent;
  runtrack::GpuTelemetry gpus = system.Gpus();
  for (const auto& d : gpus.gpus) {
    TaskGpu g;
    g.index = d.index;
    g.name = d.name;
    g.uuid = d.uuid;
    g.util = d.utilization_gpu_percent;
    if (d.memory_used_bytes) g.mem_used_mb = *d.memory_used_bytes / kMiB;
    if (d.memory_total_bytes) g.mem_total_mb = *d.memory_total_bytes / kMiB;
    if (include_processes && d.processes) {
      for (const auto& p : *d.processes) {
        TaskGpuProcess tp;
        tp.pid = p.pid;
        if (p.used_memory_bytes) tp.memory_mb = *p.used_memory_bytes / kMiB;
        DescribeProcess(p.pid, &tp.user, &tp.name);
        g.processes.push_back(std::move(tp));
      }
    }
    out.gpus.push_back(std::move(g));
  }
  return out;
}

}  // namespace runicorn::service
