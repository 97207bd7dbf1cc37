// Parsing /proc/cpuinfo: CPU model and logical / physical core counts.
#pragma once

#include <string>
#include <string_view>

namespace runtrack::telemetry {

struct CpuInfo {
  std::string model;           // first "model name" (x86), else "Processor" / "cpu model"; "" if none
  unsigned logical_count = 0;  // "processor" entries
  // Distinct (physical id, core id) pairs, as psutil.cpu_count(logical=False); equals
  // logical_count when the file has no topology fields (many ARM kernels).
  unsigned physical_count = 0;
  // Average of the "cpu MHz" lines (x86), 0 if none: psutil's frequency where cpufreq is absent.
  double mhz_average = 0;
};

// Never fails: unknown or missing fields leave the defaults above.
CpuInfo ParseCpuinfo(std::string_view text);

}  // namespace runtrack::telemetry
