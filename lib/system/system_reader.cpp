// SystemReader / ReadSystem: one snapshot from /proc, statvfs and uname, with CPU and network
// usage measured since the reader's previous sample.
#include <chrono>
#include <optional>
#include <thread>
#include <unordered_map>
#include <utility>

#include "runtrack/system.h"
#include "system/cpu_frequency.h"
#include "system/cpuinfo.h"
#include "system/disk_usage.h"
#include "system/platform_info.h"
#include "system/proc_diskstats.h"
#include "system/proc_meminfo.h"
#include "system/proc_net_dev.h"
#include "system/proc_stat.h"
#include "util/files.h"

namespace runtrack {

using telemetry::ProcStatSample;

struct SystemReader::State {
  SystemReadOptions options;
  // The previous sample's counters and when they were taken (steady clock: rates must not jump
  // with wall-clock changes).
  std::optional<ProcStatSample> last_stat;
  NetworkCounters last_net;
  std::optional<DiskIoCounters> last_disk_io;
  std::chrono::steady_clock::time_point last_time;
  std::optional<telemetry::CpuInfo> cpuinfo;  // read once
  telemetry::CpufreqPolicies cpufreq;         // found with cpuinfo
  // Whether a /proc/diskstats name is a whole disk, cached: a name's kind never changes, and it
  // saves a stat(2) per device per sample.
  std::unordered_map<std::string, bool> whole_disk;
  bool IsWholeDisk(std::string_view name) {
    auto it = whole_disk.find(std::string(name));
    if (it == whole_disk.end()) {
      it = whole_disk.emplace(std::string(name), telemetry::IsWholeDisk(name)).first;
    }
    return it->second;
  }

  struct Counters {
    ProcStatSample stat;
    NetworkCounters net;
    std::optional<DiskIoCounters> disk_io;
    std::chrono::steady_clock::time_point time;
  };
  Result<Counters> ReadCounters() {
    Counters c;
    c.time = std::chrono::steady_clock::now();
    RUNTRACK_ASSIGN_OR_RETURN(std::string stat_text, util::ReadFile("/proc/stat"));
    RUNTRACK_ASSIGN_OR_RETURN(c.stat, telemetry::ParseProcStat(stat_text));
    RUNTRACK_ASSIGN_OR_RETURN(std::string net_text, util::ReadFile("/proc/net/dev"));
    RUNTRACK_ASSIGN_OR_RETURN(c.net, telemetry::ParseNetDev(net_text));
    Result<std::string> disk_text = util::ReadFile("/proc/diskstats");
    if (disk_text.ok()) {
      auto is_whole_disk = [this](std::string_view name) { return IsWholeDisk(name); };
      RUNTRACK_ASSIGN_OR_RETURN(c.disk_io, telemetry::ParseDiskstats(*disk_text, is_whole_disk));
    } else if (disk_text.status().code() != StatusCode::kNotFound) {
      return disk_text.status();
    }
    return c;
  }
  void Remember(Counters&& c) {
    last_stat = std::move(c.stat);
    last_net = std::move(c.net);
    last_disk_io = c.disk_io;
    last_time = c.time;
  }
};

SystemReader::SystemReader(SystemReadOptions options) : state_(std::make_unique<State>()) {
  state_->options = std::move(options);
}
SystemReader::~SystemReader() = default;
SystemReader::SystemReader(SystemReader&&) noexcept = default;
SystemReader& SystemReader::operator=(SystemReader&&) noexcept = default;

Status SystemReader::Prime() {
  RUNTRACK_ASSIGN_OR_RETURN(State::Counters c, state_->ReadCounters());
  state_->Remember(std::move(c));
  return Status::Ok();
}

Result<SystemSnapshot> SystemReader::Read() {
  State& s = *state_;
  if (!s.last_stat) {
    RUNTRACK_RETURN_IF_ERROR(Prime());
    std::this_thread::sleep_for(s.options.cpu_interval);
  }
  if (!s.cpuinfo) {
    // Missing /proc/cpuinfo (some sandboxes) only costs the model name and topology.
    Result<std::string> text = util::ReadFile("/proc/cpuinfo");
    s.cpuinfo = telemetry::ParseCpuinfo(text.ok() ? std::string_view(*text) : std::string_view());
    s.cpufreq = telemetry::FindCpufreqPolicies();
  }

  SystemSnapshot snap;
  snap.wall_time = util::NowSeconds();
  RUNTRACK_ASSIGN_OR_RETURN(State::Counters now, s.ReadCounters());
  snap.cpu = telemetry::CpuUsageBetween(*s.last_stat, now.stat);
  snap.cpu.physical_count = s.cpuinfo->physical_count;
  if (std::optional<double> mhz = telemetry::ReadCurrentMhz(s.cpufreq)) {
    snap.cpu.frequency = CpuFrequency{*mhz, s.cpufreq.min_mhz, s.cpufreq.max_mhz};
  } else if (s.cpuinfo->mhz_average > 0) {
    snap.cpu.frequency = CpuFrequency{s.cpuinfo->mhz_average, 0, 0};
  }
  double seconds = std::chrono::duration<double>(now.time - s.last_time).count();
  snap.network = now.net;
  telemetry::SetNetworkRates(s.last_net, seconds, &snap.network);
  snap.disk_io = now.disk_io;
  if (snap.disk_io && s.last_disk_io) telemetry::SetDiskIoRates(*s.last_disk_io, seconds, &*snap.disk_io);

  RUNTRACK_ASSIGN_OR_RETURN(std::string loadavg_text, util::ReadFile("/proc/loadavg"));
  RUNTRACK_ASSIGN_OR_RETURN(snap.load, telemetry::ParseLoadAvg(loadavg_text));
  RUNTRACK_ASSIGN_OR_RETURN(std::string meminfo_text, util::ReadFile("/proc/meminfo"));
  RUNTRACK_ASSIGN_OR_RETURN(snap.memory, telemetry::ParseMeminfo(meminfo_text));
  RUNTRACK_ASSIGN_OR_RETURN(snap.disk, telemetry::ReadDiskUsage(s.options.disk_path));
  RUNTRACK_ASSIGN_OR_RETURN(snap.platform, telemetry::ReadPlatformInfo(*s.cpuinfo));
  // Only a fully successful read becomes the next baseline.
  s.Remember(std::move(now));
  return snap;
}

Result<SystemSnapshot> ReadSystem(const SystemReadOptions& options) {
  SystemReader reader(options);
  return reader.Read();
}

}  // namespace runtrack
