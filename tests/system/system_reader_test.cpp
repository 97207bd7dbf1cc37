// Reading the real machine: values must be in sane ranges and consistent with each other.
#include <catch2/catch.hpp>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>

#include "runtrack/system.h"
#include "system/disk_usage.h"
#include "system/proc_diskstats.h"
#include "test_support.h"
#include "util/files.h"

using namespace runtrack;

TEST_CASE("ReadSystem reads this machine", "[reader]") {
  double before = util::NowSeconds();
  Result<SystemSnapshot> r = ReadSystem();
  REQUIRE(r.ok());
  const SystemSnapshot& s = *r;
  CHECK(s.wall_time >= before);
  CHECK(s.wall_time <= util::NowSeconds());

  long online = ::sysconf(_SC_NPROCESSORS_ONLN);
  CHECK(s.cpu.logical_count == static_cast<unsigned>(online));
  CHECK(s.cpu.per_core_percent.size() == s.cpu.logical_count);
  CHECK(s.cpu.physical_count >= 1);
  CHECK(s.cpu.physical_count <= s.cpu.logical_count);
  CHECK(s.cpu.percent >= 0.0);
  CHECK(s.cpu.percent <= 100.0);
  for (double p : s.cpu.per_core_percent) CHECK((p >= 0.0 && p <= 100.0));
  CHECK(s.load.one_minute >= 0.0);
  Result<std::string> cpuinfo = util::ReadFile("/proc/cpuinfo");
  if ((cpuinfo.ok() && cpuinfo->find("cpu MHz") != std::string::npos) ||
      std::filesystem::exists("/sys/devices/system/cpu/cpufreq/policy0")) {
    REQUIRE(s.cpu.frequency.has_value());
  }
  if (s.cpu.frequency) {
    CHECK(s.cpu.frequency->current_mhz > 0.0);
    CHECK(s.cpu.frequency->min_mhz <= s.cpu.frequency->max_mhz);
  }

  CHECK(s.memory.total_bytes > 0);
  CHECK(s.memory.available_bytes <= s.memory.total_bytes);
  CHECK(s.memory.used_bytes <= s.memory.total_bytes);
  CHECK(s.memory.percent >= 0.0);
  CHECK(s.memory.percent <= 100.0);
  CHECK(s.memory.swap_used_bytes + s.memory.swap_free_bytes == s.memory.swap_total_bytes);

  CHECK(s.disk.path == "/");
  CHECK(s.disk.total_bytes > 0);
  CHECK(s.disk.used_bytes + s.disk.free_bytes <= s.disk.total_bytes);

  if (std::filesystem::exists("/proc/diskstats")) {
    REQUIRE(s.disk_io.has_value());
    CHECK(s.disk_io->read_bytes_per_second >= 0.0);
  }

  CHECK(std::any_of(s.network.interfaces.begin(), s.network.interfaces.end(),
                    [](const NetworkInterfaceCounters& n) { return n.name == "lo"; }));
  CHECK(s.network.rx_bytes_per_second >= 0.0);

  struct utsname u {};
  REQUIRE(::uname(&u) == 0);
  CHECK(s.platform.system == "Linux");
  CHECK(s.platform.release == u.release);
  CHECK(s.platform.machine == u.machine);
  CHECK(s.platform.hostname == u.nodename);
  CHECK(s.platform.cpu_count == static_cast<unsigned>(online));
}

TEST_CASE("ReadSystem reports the file system of the given path", "[reader]") {
  runtrack::testing::TempDir dir;
  SystemReadOptions o;
  o.disk_path = dir.path().string();
  o.cpu_interval = std::chrono::milliseconds(10);
  Result<SystemSnapshot> r = ReadSystem(o);
  REQUIRE(r.ok());
  CHECK(r->disk.path == dir.path().string());
  CHECK(r->disk.total_bytes > 0);
}

TEST_CASE("ReadSystem: a disk path that does not exist is NotFound", "[reader]") {
  SystemReadOptions o;
  o.disk_path = "/nonexistent-runtrack-dir/x";
  Result<SystemSnapshot> r = ReadSystem(o);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == StatusCode::kNotFound);
  CHECK(r.status().message() == "statvfs /nonexistent-runtrack-dir/x: No such file or directory");

  Result<DiskUsage> empty = telemetry::ReadDiskUsage("");
  CHECK(empty.status().code() == StatusCode::kInvalidArgument);
  CHECK(empty.status().message() == "disk usage: empty path");
}

TEST_CASE("SystemReader measures CPU busy time since its previous read", "[reader]") {
  SystemReader reader;
  REQUIRE(reader.Prime().ok());
  // Keep this thread busy for 300 ms of CPU time: at USER_HZ = 100 that is ~30 busy ticks, so the
  // busy share of all CPUs since Prime() cannot be 0.
  timespec start{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &start);
  volatile uint64_t sink = 0;
  for (;;) {
    for (int i = 0; i < 100000; ++i) sink = sink + static_cast<uint64_t>(i);
    timespec now{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
    if ((now.tv_sec - start.tv_sec) * 1e9 + (now.tv_nsec - start.tv_nsec) >= 3e8) break;
  }
  Result<SystemSnapshot> r = reader.Read();
  REQUIRE(r.ok());
  CHECK(r->cpu.percent > 0.0);
  CHECK(r->cpu.percent <= 100.0);
  // The next read is against this one, and works without waiting.
  Result<SystemSnapshot> again = reader.Read();
  REQUIRE(again.ok());
  CHECK(again->cpu.percent >= 0.0);
}

TEST_CASE("every device in /sys/block counts as a whole disk", "[reader]") {
  std::error_code ec;
  int checked = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/sys/block", ec)) {
    CHECK(telemetry::IsWholeDisk(entry.path().filename().string()));
    ++checked;
  }
  if (checked == 0) WARN("no /sys/block entries on this machine");
}
