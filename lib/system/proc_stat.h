// Parsing /proc/stat (CPU time counters) and /proc/loadavg, and CPU usage between two samples.
// Pure functions on the file text, so they are tested on fixture strings.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "runtrack/status.h"
#include "runtrack/system.h"

namespace runtrack::telemetry {

// Cumulative time of one `cpu` line, in clock ticks (USER_HZ).
struct CpuTimes {
  unsigned core = 0;     // N of `cpuN`; unused for the aggregate line
  uint64_t total = 0;    // user + nice + system + idle + iowait + irq + softirq + steal
  uint64_t idle = 0;     // idle + iowait: time the CPU had nothing to run
};

struct ProcStatSample {
  CpuTimes all;                // the aggregate `cpu` line
  std::vector<CpuTimes> cores; // `cpuN` lines in file order (offline CPUs have no line)
};

// Corruption when the aggregate `cpu` line is missing or a cpu line has fewer than 4 numeric
// fields. Fields after steal (guest, guest_nice) are ignored: the kernel already counts them in
// user and nice.
Result<ProcStatSample> ParseProcStat(std::string_view text);

// Busy percent between two samples of one line, clamped to [0, 100] (iowait may go backwards on
// Linux); 0 when no time passed.
double BusyPercentBetween(const CpuTimes& before, const CpuTimes& after);

// Total and per-core busy percent; a core is matched with the `before` line of the same N, and a
// core absent from `before` (brought online in between) reports 0. logical_count is the number of
// cores in `after`; physical_count is left 0 for the caller.
CpuUsage CpuUsageBetween(const ProcStatSample& before, const ProcStatSample& after);

// "0.52 0.58 0.59 2/1234 5678": Corruption unless the first three fields are numbers.
Result<LoadAverage> ParseLoadAvg(std::string_view text);

}  // namespace runtrack::telemetry
