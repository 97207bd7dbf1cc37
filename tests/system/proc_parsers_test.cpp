// The /proc parsers and the usage arithmetic on fixture text, with exact expected numbers.
#include <catch2/catch.hpp>

#include "system/cpuinfo.h"
#include "system/disk_usage.h"
#include "system/proc_diskstats.h"
#include "system/proc_meminfo.h"
#include "system/proc_net_dev.h"
#include "system/proc_stat.h"

using namespace runtrack;
using namespace runtrack::telemetry;

namespace {

// user nice system idle iowait irq softirq steal guest guest_nice
constexpr const char* kStatBefore =
    "cpu  100 20 30 400 50 6 7 8 9 10\n"
    "cpu0 60 10 15 200 25 3 4 4 0 0\n"
    "cpu1 40 10 15 200 25 3 3 4 9 10\n"
    "intr 318359 0 0 0\n"
    "ctxt 448174\n"
    "btime 1700000000\n";
// cpu0: +50 user, +10 system, +20 idle (75 % busy); cpu1: +10 user, +70 idle (12.5 % busy).
constexpr const char* kStatAfter =
    "cpu  160 20 40 490 50 6 7 8 9 10\n"
    "cpu0 110 10 25 220 25 3 4 4 0 0\n"
    "cpu1 50 10 15 270 25 3 3 4 9 10\n"
    "intr 318360 0 0 0\n";

ProcStatSample MustParseStat(const char* text) {
  Result<ProcStatSample> r = ParseProcStat(text);
  REQUIRE(r.ok());
  return *r;
}

}  // namespace

TEST_CASE("proc stat: totals exclude guest time and idle includes iowait", "[parsers]") {
  ProcStatSample s = MustParseStat(kStatBefore);
  CHECK(s.all.total == 621);  // 100+20+30+400+50+6+7+8
  CHECK(s.all.idle == 450);
  REQUIRE(s.cores.size() == 2);
  CHECK(s.cores[0].core == 0);
  CHECK(s.cores[0].total == 321);
  CHECK(s.cores[0].idle == 225);
  CHECK(s.cores[1].core == 1);
  CHECK(s.cores[1].total == 300);
}

TEST_CASE("proc stat: busy percent between two samples, total and per core", "[parsers]") {
  CpuUsage u = CpuUsageBetween(MustParseStat(kStatBefore), MustParseStat(kStatAfter));
  CHECK(u.percent == 43.75);  // 70 busy of 160 ticks
  REQUIRE(u.per_core_percent.size() == 2);
  CHECK(u.per_core_percent[0] == 75.0);
  CHECK(u.per_core_percent[1] == 12.5);
  CHECK(u.logical_count == 2);
  CHECK(u.physical_count == 0);  // filled from /proc/cpuinfo by the reader
}

TEST_CASE("proc stat: identical samples give 0, never NaN", "[parsers]") {
  CpuUsage u = CpuUsageBetween(MustParseStat(kStatBefore), MustParseStat(kStatBefore));
  CHECK(u.percent == 0.0);
  CHECK(u.per_core_percent == std::vector<double>{0.0, 0.0});
}

TEST_CASE("proc stat: iowait going backwards is clamped to 100 percent", "[parsers]") {
  CpuTimes before{0, 1000, 500};
  CpuTimes after{0, 1010, 490};  // 10 more ticks, idle+iowait fell by 10: busy 20 of 10
  CHECK(BusyPercentBetween(before, after) == 100.0);
  CHECK(BusyPercentBetween(after, before) == 0.0);  // time running backwards
}

TEST_CASE("proc stat: a core that came online reports 0 and offline cores are skipped", "[parsers]") {
  ProcStatSample before = MustParseStat("cpu 10 0 0 10\ncpu0 10 0 0 10\n");
  ProcStatSample after = MustParseStat("cpu 30 0 0 30\ncpu0 20 0 0 20\ncpu2 10 0 0 10\n");
  CpuUsage u = CpuUsageBetween(before, after);
  CHECK(u.percent == 50.0);
  CHECK(u.per_core_percent == std::vector<double>{50.0, 0.0});
  CHECK(u.logical_count == 2);
  CHECK(after.cores[1].core == 2);
}

TEST_CASE("proc stat: old kernels with four fields parse", "[parsers]") {
  ProcStatSample s = MustParseStat("cpu 1 2 3 4\n");
  CHECK(s.all.total == 10);
  CHECK(s.all.idle == 4);
  CHECK(s.cores.empty());
}

TEST_CASE("proc stat: malformed text is Corruption", "[parsers]") {
  Result<ProcStatSample> none = ParseProcStat("intr 1 2 3\n");
  REQUIRE_FALSE(none.ok());
  CHECK(none.status().code() == StatusCode::kCorruption);
  CHECK(none.status().message() == "/proc/stat: no aggregate \"cpu\" line");

  Result<ProcStatSample> bad = ParseProcStat("cpu 1 2 x 4\n");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message() == "/proc/stat: malformed line \"cpu 1 2 x 4\"");

  Result<ProcStatSample> short_line = ParseProcStat("cpu 1 2 3\n");
  CHECK(short_line.status().code() == StatusCode::kCorruption);

  Result<ProcStatSample> label = ParseProcStat("cpu 1 2 3 4\ncpuX 1 2 3 4\n");
  CHECK(label.status().message() == "/proc/stat: unexpected label \"cpuX\"");
  CHECK(ParseProcStat("").status().code() == StatusCode::kCorruption);
}

TEST_CASE("loadavg: three averages", "[parsers]") {
  Result<LoadAverage> l = ParseLoadAvg("0.52 1.58 12.25 2/1234 5678\n");
  REQUIRE(l.ok());
  CHECK(l->one_minute == 0.52);
  CHECK(l->five_minutes == 1.58);
  CHECK(l->fifteen_minutes == 12.25);

  Result<LoadAverage> bad = ParseLoadAvg("0.52 abc\n");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().code() == StatusCode::kCorruption);
  CHECK(bad.status().message() == "/proc/loadavg: expected three load averages, got \"0.52 abc\"");
}

TEST_CASE("meminfo: psutil's used, available-based percent and swap", "[parsers]") {
  Result<MemoryUsage> m = ParseMeminfo(
      "MemTotal:       16000000 kB\n"
      "MemFree:         4000000 kB\n"
      "MemAvailable:   10000000 kB\n"
      "Buffers:          500000 kB\n"
      "Cached:          3000000 kB\n"
      "SwapCached:        12345 kB\n"
      "Active:          9999999 kB\n"
      "SwapTotal:       2000000 kB\n"
      "SwapFree:        1500000 kB\n"
      "SReclaimable:     250000 kB\n"
      "HugePages_Total:       0\n");
  REQUIRE(m.ok());
  CHECK(m->total_bytes == 16'384'000'000ull);
  CHECK(m->available_bytes == 10'240'000'000ull);
  CHECK(m->used_bytes == 8'448'000'000ull);  // (16000000 - 4000000 - 500000 - 3000000 - 250000) KiB
  CHECK(m->percent == 37.5);
  CHECK(m->swap_total_bytes == 2'048'000'000ull);
  CHECK(m->swap_free_bytes == 1'536'000'000ull);
  CHECK(m->swap_used_bytes == 512'000'000ull);
  CHECK(m->swap_percent == 25.0);
}

TEST_CASE("meminfo: kernels without MemAvailable and machines without swap", "[parsers]") {
  Result<MemoryUsage> m = ParseMeminfo(
      "MemTotal: 16000000 kB\nMemFree: 4000000 kB\nBuffers: 500000 kB\nCached: 3000000 kB\n"
      "SwapTotal: 0 kB\nSwapFree: 0 kB\n");
  REQUIRE(m.ok());
  CHECK(m->available_bytes == 7'500'000ull * 1024);  // free + buffers + cached
  CHECK(m->percent == 53.125);
  CHECK(m->swap_percent == 0.0);
  CHECK(m->swap_used_bytes == 0);
}

TEST_CASE("meminfo: missing total or a bad number is Corruption", "[parsers]") {
  Result<MemoryUsage> none = ParseMeminfo("MemFree: 1 kB\n");
  REQUIRE_FALSE(none.ok());
  CHECK(none.status().code() == StatusCode::kCorruption);
  CHECK(none.status().message() == "/proc/meminfo: no MemTotal line");
  Result<MemoryUsage> bad = ParseMeminfo("MemTotal: 12a kB\n");
  CHECK(bad.status().message() == "/proc/meminfo: malformed line \"MemTotal: 12a kB\"");
  CHECK(ParseMeminfo("MemTotal: 12 MB\n").status().code() == StatusCode::kCorruption);
}

TEST_CASE("net dev: per-interface counters and totals without loopback", "[parsers]") {
  Result<NetworkCounters> n = ParseNetDev(
      "Inter-|   Receive                                                |  Transmit\n"
      " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n"
      "    lo:    3267      29    0    0    0     0          0         0     3267      29    0    0    0     0       0          0\n"
      "  eth0: 168013564    3162    0    0    0     0          0         0   124527    1700    0    0    0     0       0          0\n"
      "wlan0:4294967296 1 0 0 0 0 0 0 10 1 0 0 0 0 0 0\n");
  REQUIRE(n.ok());
  CHECK(n->rx_bytes == 168013564ull + 4294967296ull);
  CHECK(n->tx_bytes == 124527ull + 10);
  CHECK(n->rx_bytes_per_second == 0.0);
  REQUIRE(n->interfaces.size() == 3);
  CHECK(n->interfaces[0].name == "lo");
  CHECK(n->interfaces[0].rx_bytes == 3267);
  CHECK(n->interfaces[1].name == "eth0");
  CHECK(n->interfaces[1].tx_bytes == 124527);
  CHECK(n->interfaces[2].name == "wlan0");
  CHECK(n->interfaces[2].rx_bytes == 4294967296ull);
}

TEST_CASE("net dev: a short or non-numeric line is Corruption", "[parsers]") {
  Result<NetworkCounters> bad = ParseNetDev("eth0: 1 2 3\n");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().code() == StatusCode::kCorruption);
  CHECK(bad.status().message() == "/proc/net/dev: malformed line \"eth0: 1 2 3\"");
  CHECK(ParseNetDev("eth0: x 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n").status().code() == StatusCode::kCorruption);
}

TEST_CASE("net dev: rates over the interval, 0 when a counter went backwards", "[parsers]") {
  NetworkCounters before;
  before.rx_bytes = 1000;
  before.tx_bytes = 5000;
  NetworkCounters after;
  after.rx_bytes = 3000;
  after.tx_bytes = 4000;  // an interface went away
  SetNetworkRates(before, 0.5, &after);
  CHECK(after.rx_bytes_per_second == 4000.0);
  CHECK(after.tx_bytes_per_second == 0.0);
  SetNetworkRates(before, 0.0, &after);
  CHECK(after.rx_bytes_per_second == 0.0);
}

TEST_CASE("cpuinfo: model, logical and physical counts", "[parsers]") {
  // Two sockets, two cores each, two threads per core.
  std::string text;
  int processor = 0;
  for (int socket = 0; socket < 2; ++socket) {
    for (int core = 0; core < 2; ++core) {
      for (int thread = 0; thread < 2; ++thread) {
        text += "processor\t: " + std::to_string(processor++) + "\n";
        text += "model name\t: Intel(R) Xeon(R) Gold 6230 CPU @ 2.10GHz\n";
        text += "physical id\t: " + std::to_string(socket) + "\n";
        text += "core id\t\t: " + std::to_string(core) + "\n";
        text += "cpu MHz\t\t: " + std::string(processor % 2 ? "2000.500" : "3000.500") + "\n\n";
      }
    }
  }
  CpuInfo info = ParseCpuinfo(text);
  CHECK(info.model == "Intel(R) Xeon(R) Gold 6230 CPU @ 2.10GHz");
  CHECK(info.logical_count == 8);
  CHECK(info.physical_count == 4);
  CHECK(info.mhz_average == 2500.5);
}

TEST_CASE("cpuinfo: ARM without topology fields and empty text", "[parsers]") {
  CpuInfo arm = ParseCpuinfo(
      "Processor\t: AArch64 Processor rev 4 (aarch64)\n"
      "processor\t: 0\nBogoMIPS\t: 38.40\n\nprocessor\t: 1\nBogoMIPS\t: 38.40\n");
  CHECK(arm.model == "AArch64 Processor rev 4 (aarch64)");
  CHECK(arm.logical_count == 2);
  CHECK(arm.physical_count == 2);
  CHECK(arm.mhz_average == 0.0);
  CpuInfo empty = ParseCpuinfo("");
  CHECK(empty.model.empty());
  CHECK(empty.logical_count == 0);
  CHECK(empty.physical_count == 0);
}

TEST_CASE("disk usage: psutil's arithmetic from statvfs blocks", "[parsers]") {
  DiskUsage d = DiskUsageFromBlocks("/data", 4096, 1000, 300, 250);
  CHECK(d.path == "/data");
  CHECK(d.total_bytes == 4'096'000);
  CHECK(d.used_bytes == 2'867'200);  // 700 blocks
  CHECK(d.free_bytes == 1'024'000);  // 250 blocks available to unprivileged users
  CHECK(d.percent == Approx(100.0 * 700 / 950));
  DiskUsage empty = DiskUsageFromBlocks("/empty", 4096, 0, 0, 0);
  CHECK(empty.percent == 0.0);
}

TEST_CASE("diskstats: sums whole disks only, sectors of 512 bytes", "[parsers]") {
  constexpr const char* kDiskstats =
      "   7       0 loop0 10 0 80 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n"
      " 254       0 vda 46808 7249 3277146 30483 52129 21913 32444696 214482 0 22032 250657 11463 10 33286176 5438 3283 253\n"
      " 254       1 vda1 46000 7000 3200000 30000 52000 21000 32000000 214000 0 22000 250000\n"
      " 253       0 zram0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n";
  auto whole = [](std::string_view name) { return name == "vda" || name == "loop0" || name == "zram0"; };
  Result<DiskIoCounters> io = ParseDiskstats(kDiskstats, whole);
  REQUIRE(io.ok());
  CHECK(io->read_count == 46808 + 10);
  CHECK(io->write_count == 52129);
  CHECK(io->read_bytes == (3277146ull + 80) * 512);
  CHECK(io->write_bytes == 32444696ull * 512);
  CHECK(io->read_bytes_per_second == 0.0);
}

TEST_CASE("diskstats: a short or non-numeric line is Corruption", "[parsers]") {
  auto all = [](std::string_view) { return true; };
  Result<DiskIoCounters> bad = ParseDiskstats(" 254 0 vda 1 2 3\n", all);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().code() == StatusCode::kCorruption);
  CHECK(bad.status().message() == "/proc/diskstats: malformed line \"254 0 vda 1 2 3\"");
  CHECK(ParseDiskstats("254 0 vda x 0 0 0 0 0 0 0 0 0 0\n", all).status().code() == StatusCode::kCorruption);
  Result<DiskIoCounters> empty = ParseDiskstats("", all);
  REQUIRE(empty.ok());
  CHECK(empty->read_bytes == 0);
}

TEST_CASE("diskstats: rates over the interval, 0 when a counter went backwards", "[parsers]") {
  DiskIoCounters before;
  before.read_bytes = 1000;
  before.write_bytes = 9000;
  DiskIoCounters after;
  after.read_bytes = 5000;
  after.write_bytes = 8000;
  SetDiskIoRates(before, 2.0, &after);
  CHECK(after.read_bytes_per_second == 2000.0);
  CHECK(after.write_bytes_per_second == 0.0);
}

TEST_CASE("diskstats: whole-disk check stays under /sys/block", "[parsers]") {
  CHECK_FALSE(IsWholeDisk("no-such-disk-runtrack"));
  CHECK_FALSE(IsWholeDisk("../../proc"));  // '/' becomes '!', so this cannot name /proc
  CHECK_FALSE(IsWholeDisk(""));
  CHECK_FALSE(IsWholeDisk("."));
  CHECK_FALSE(IsWholeDisk(".."));
}
