// System and GPU telemetry of the machine this process runs on: the data behind Runicorn's
// `GET /api/system/monitor` and `GET /api/gpu/telemetry`, the per-node system-metrics sampler and
// the task runner's GPU slots. Linux only: CPU, memory, disk I/O and network come from /proc, CPU
// frequency from /sys, disk usage from statvfs(2), the platform from uname(2), GPUs from NVIDIA's
// NVML loaded with dlopen at run time (no build dependency; without the library the telemetry says
// `available = false` and why). Details and measured cost: docs/SYSTEM.md.
//
// Units: bytes for memory, disk and network; percent in [0, 100], unrounded (Runicorn rounds to one
// decimal when it serialises); watts, degrees Celsius. Definitions follow psutil, which Runicorn
// uses, so the numbers match what a Runicorn viewer shows for the same machine.
//
// Thread safety: the structs are plain values. ReadSystem, ReadGpuTelemetry and GpuMonitor::Read
// may be called from any thread concurrently. A SystemReader is not thread-safe (it keeps the
// previous sample); use one per thread. SystemSampler runs its own thread, see below.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "runtrack/status.h"

namespace runtrack {

// ---------------------------------------------------------------------------------------------
// CPU, memory, disk, network, platform

struct CpuFrequency {  // MHz, averaged over CPUs, as psutil.cpu_freq()
  double current_mhz = 0;
  double min_mhz = 0;  // 0 where the kernel has no cpufreq (most virtual machines)
  double max_mhz = 0;
};

struct CpuUsage {
  // Busy share of all CPUs between two /proc/stat samples: 100 * (1 - (idle + iowait) / total),
  // where total sums user, nice, system, idle, iowait, irq, softirq and steal (guest time is
  // already inside user/nice). 0 when no time passed between the samples.
  double percent = 0;
  std::vector<double> per_core_percent;  // same definition per `cpuN` line, in N order
  unsigned logical_count = 0;            // online logical CPUs (cpuN lines in /proc/stat)
  unsigned physical_count = 0;           // distinct (physical id, core id) in /proc/cpuinfo
  // From cpufreq (scaling_cur/min/max_freq) when the kernel has it; else the "cpu MHz" average of
  // /proc/cpuinfo (read once per reader) with min = max = 0; unset when neither exists (ARM VMs).
  std::optional<CpuFrequency> frequency;
};

struct LoadAverage {  // /proc/loadavg: runnable + uninterruptible tasks, exponentially averaged
  double one_minute = 0;
  double five_minutes = 0;
  double fifteen_minutes = 0;
};

struct MemoryUsage {  // /proc/meminfo, converted from kB to bytes
  uint64_t total_bytes = 0;
  // MemAvailable (kernel >= 3.14); older kernels: MemFree + Buffers + Cached.
  uint64_t available_bytes = 0;
  // psutil's definition: total - free - buffers - cached - sreclaimable (total - free if negative).
  uint64_t used_bytes = 0;
  double percent = 0;  // (total - available) / total * 100
  uint64_t swap_total_bytes = 0;
  uint64_t swap_used_bytes = 0;  // SwapTotal - SwapFree
  uint64_t swap_free_bytes = 0;
  double swap_percent = 0;  // swap_used / swap_total * 100, 0 without swap
};

struct DiskUsage {  // statvfs(2) of `path`, as psutil.disk_usage
  std::string path;
  uint64_t total_bytes = 0;  // f_blocks * f_frsize
  uint64_t used_bytes = 0;   // (f_blocks - f_bfree) * f_frsize
  uint64_t free_bytes = 0;   // f_bavail * f_frsize: free for unprivileged users
  double percent = 0;        // used / (used + free) * 100, so root-reserved blocks count as full
};

// /proc/diskstats summed over whole disks (partitions excluded: their I/O is already in the disk's),
// cumulative since boot, as psutil.disk_io_counters().
struct DiskIoCounters {
  uint64_t read_bytes = 0;   // sectors read * 512
  uint64_t write_bytes = 0;  // sectors written * 512
  uint64_t read_count = 0;   // reads completed
  uint64_t write_count = 0;  // writes completed
  // Over the interval since the reader's previous sample; 0 on a first sample or when a counter
  // went backwards (a disk removed).
  double read_bytes_per_second = 0;
  double write_bytes_per_second = 0;
};

struct NetworkInterfaceCounters {
  std::string name;
  uint64_t rx_bytes = 0;
  uint64_t tx_bytes = 0;
};

struct NetworkCounters {  // /proc/net/dev: cumulative since boot (or since the interface appeared)
  uint64_t rx_bytes = 0;  // sum over every interface except loopback `lo`
  uint64_t tx_bytes = 0;
  // Bytes per second over the interval since the reader's previous sample (0 on a first sample,
  // and never negative: a counter that went backwards, e.g. an interface replaced, counts as 0).
  double rx_bytes_per_second = 0;
  double tx_bytes_per_second = 0;
  std::vector<NetworkInterfaceCounters> interfaces;  // every interface, `lo` included, file order
};

struct PlatformInfo {
  std::string system;     // uname sysname, "Linux" (Python's platform.system())
  std::string release;    // uname release, "6.1.0-18-amd64" (platform.release())
  std::string version;    // uname version, "#1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1"
  std::string machine;    // uname machine, "x86_64" / "aarch64" (platform.machine())
  std::string hostname;   // uname nodename
  std::string cpu_model;  // /proc/cpuinfo "model name" (or "Processor" on some ARM), "" if absent
  unsigned cpu_count = 0; // logical CPUs online
};

struct SystemSnapshot {
  double wall_time = 0;  // seconds since the Unix epoch when the snapshot was taken
  CpuUsage cpu;
  LoadAverage load;
  MemoryUsage memory;
  DiskUsage disk;
  std::optional<DiskIoCounters> disk_io;  // unset where /proc/diskstats does not exist (some sandboxes)
  NetworkCounters network;
  PlatformInfo platform;
};

struct SystemReadOptions {
  // The file system whose usage is reported. A path that does not exist is NotFound.
  std::string disk_path = "/";
  // CPU percentages need two /proc/stat samples. A reader without a previous sample takes one,
  // waits this long and takes the second (psutil's `interval`).
  std::chrono::milliseconds cpu_interval{100};
};

// Reads /proc, /sys, statvfs and uname, keeping the previous CPU, disk I/O and network counters so
// each Read() reports usage since the last one. Only a first Read() that was not preceded by
// Prime() waits `cpu_interval`. /proc/cpuinfo and the cpufreq limits are read once per reader:
// they are static, and on some virtual machines reading /proc/cpuinfo costs milliseconds.
// Not thread-safe: one reader per thread.
class SystemReader {
 public:
  explicit SystemReader(SystemReadOptions options = {});
  ~SystemReader();
  SystemReader(SystemReader&&) noexcept;
  SystemReader& operator=(SystemReader&&) noexcept;

  // Records the CPU, disk I/O and network baseline now, so the next Read() does not wait.
  Status Prime();
  // IOError / NotFound naming the file when a /proc file or the disk path cannot be read;
  // Corruption when a /proc file is not in the expected format.
  Result<SystemSnapshot> Read();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// One snapshot with a fresh reader (so it waits `options.cpu_interval` for the CPU percentages).
Result<SystemSnapshot> ReadSystem(const SystemReadOptions& options = {});

// ---------------------------------------------------------------------------------------------
// GPUs (NVML)

struct GpuProcess {
  uint32_t pid = 0;
  std::optional<uint64_t> used_memory_bytes;  // unset when NVML cannot tell (e.g. no permission)
};

// One GPU. A reading NVML does not support on this device (a passively cooled GPU has no fan) or
// fails to report is unset; Runicorn serialises it as null.
struct GpuDevice {
  unsigned index = 0;
  std::string name;  // "NVIDIA A100-SXM4-80GB"
  std::string uuid;  // "GPU-..."
  std::optional<unsigned> utilization_gpu_percent;
  std::optional<unsigned> utilization_memory_percent;  // memory-controller busy time, not fill
  std::optional<uint64_t> memory_total_bytes;
  std::optional<uint64_t> memory_used_bytes;
  std::optional<uint64_t> memory_free_bytes;
  std::optional<unsigned> temperature_celsius;
  std::optional<double> power_draw_watts;
  std::optional<double> power_limit_watts;  // the enforced limit
  std::optional<unsigned> fan_speed_percent;
  // Compute processes (nvmlDeviceGetComputeRunningProcesses). Unset when the library lacks the
  // symbol or the query failed; empty when nothing runs.
  std::optional<std::vector<GpuProcess>> processes;
};

struct GpuTelemetry {
  bool available = false;
  // When !available: why, precisely enough to act on ("cannot load NVML (libnvidia-ml.so.1):
  // libnvidia-ml.so.1: cannot open shared object file: No such file or directory",
  // "symbol nvmlDeviceGetMemoryInfo missing from ...", "nvmlInit_v2 failed: Driver Not Loaded").
  std::string reason;
  double wall_time = 0;  // seconds since the Unix epoch when the devices were read
  std::vector<GpuDevice> gpus;
};

struct GpuMonitorOptions {
  // Empty: $RUNICORN_NVML_LIBRARY if set, else "libnvidia-ml.so.1" (found through the loader path).
  std::string library_path;
};

// An NVML session: dlopen + nvmlInit_v2 once at Open, nvmlShutdown + dlclose at destruction.
// Opening never fails: a missing library, a missing required symbol or a failed nvmlInit_v2 gives
// a monitor whose Read() returns `available = false` with the reason, at no further cost.
// Read() is safe from several threads at once (NVML's calls are thread-safe).
class GpuMonitor {
 public:
  static std::unique_ptr<GpuMonitor> Open(const GpuMonitorOptions& options = {});
  ~GpuMonitor();
  GpuMonitor(const GpuMonitor&) = delete;
  GpuMonitor& operator=(const GpuMonitor&) = delete;

  // available=false (ok Result) as described above. IOError naming the NVML call and its
  // nvmlErrorString when NVML initialised but the device count or a device handle cannot be read
  // (e.g. "GPU is lost"): then no partial list is returned.
  Result<GpuTelemetry> Read() const;

  // The library path that was (or could not be) loaded.
  const std::string& library_path() const;

 private:
  struct Impl;
  explicit GpuMonitor(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The process-wide monitor, opened with default options on the first call and kept until exit
// (never shut down, so no static-destruction race with other threads still reading).
Result<GpuTelemetry> ReadGpuTelemetry();

// ---------------------------------------------------------------------------------------------
// Background sampling

struct SystemSample {
  SystemSnapshot system;
  // Set when SystemSamplerOptions::include_gpus. A GPU read error (GpuMonitor::Read's IOError)
  // does not fail the sample: it arrives as available = false with the error as the reason.
  std::optional<GpuTelemetry> gpus;
};

struct SystemSamplerOptions {
  std::chrono::milliseconds interval{1000};  // must be > 0
  std::string disk_path = "/";
  bool include_gpus = true;
  GpuMonitorOptions gpu;
};

// Metric names and values for one sample, for logging into a run: "system/cpu_percent",
// "system/cpu<N>_percent", "system/load_1m", "system/memory_used_bytes",
// "system/memory_percent", "system/swap_percent", "system/disk_used_bytes", "system/disk_percent",
// "system/disk_read_bytes_per_second", "system/disk_write_bytes_per_second" (when disk I/O was read),
// "system/network_rx_bytes_per_second", "system/network_tx_bytes_per_second", and per available GPU
// "system/gpu<N>_utilization_percent", "_memory_utilization_percent", "_memory_used_bytes",
// "_memory_percent", "_temperature_celsius", "_power_watts", "_fan_percent" for the readings
// present. Every name passes the metric-name check.
std::vector<std::pair<std::string, double>> SystemMetricValues(const SystemSample& sample);

// ---------------------------------------------------------------------------------------------
// Per-node system metrics of a run (RunOptions::system_metrics, docs/SYSTEM.md "Per-node
// system metrics"): one process per host and run samples every second and writes
// SystemMetricValues into the run's journal stream SystemStreamName(<hostname>), next to the
// process's own journal; the catalog merges it as one more stream and shipping sends it as such.

inline constexpr std::string_view kSystemStreamPrefix = "system:";

// "system:<hostname>": characters outside [A-Za-z0-9_.-] become '-', the hostname is cut to 57
// characters so the name is a valid journal stream (remote.h: 1-64 of [A-Za-z0-9_.:-]); an empty
// hostname is "unknown".
std::string SystemStreamName(std::string_view hostname);

// Samples the system (and GPUs) every `interval` on its own thread and hands each sample to the
// callback on that thread. Ticks are scheduled on a fixed grid from Start, so a slow sample delays
// the next one but does not shift the rest; missed ticks are skipped, never bunched.
// The callback gets the error when a sample fails (e.g. the disk path vanished) and sampling goes
// on. The callback must not call Stop() or destroy the sampler; Stop() and destruction belong to
// the owner and must not run concurrently with each other.
class SystemSampler {
 public:
  using Callback = std::function<void(const Result<SystemSample>&)>;

  // InvalidArgument for a non-positive interval or an empty callback; the errors of a first
  // baseline read (e.g. NotFound for the disk path) are returned here rather than sampled.
  static Result<std::unique_ptr<SystemSampler>> Start(SystemSamplerOptions options, Callback callback);
  // Stops the thread, waiting for a callback in progress; later calls do nothing.
  void Stop();
  ~SystemSampler();
  SystemSampler(const SystemSampler&) = delete;
  SystemSampler& operator=(const SystemSampler&) = delete;

 private:
  struct Impl;
  explicit SystemSampler(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace runtrack
