#include "system/proc_meminfo.h"

#include <algorithm>
#include <map>
#include <string>

#include "system/text_fields.h"

namespace runtrack::telemetry {

Result<MemoryUsage> ParseMeminfo(std::string_view text) {
  // Only these keys are read; any other line is ignored.
  std::map<std::string_view, uint64_t> kib = {
      {"MemTotal", 0}, {"MemFree", 0},  {"MemAvailable", 0}, {"Buffers", 0},
      {"Cached", 0},   {"SReclaimable", 0}, {"SwapTotal", 0}, {"SwapFree", 0}};
  std::map<std::string_view, bool> seen;
  std::string error;
  ForEachLine(text, [&](std::string_view line) {
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || !error.empty()) return;
    auto it = kib.find(line.substr(0, colon));
    if (it == kib.end()) return;
    std::vector<std::string_view> fields = SplitFields(line.substr(colon + 1));
    if (fields.empty() || !ParseU64(fields[0], &it->second) ||
        (fields.size() > 1 && fields[1] != "kB")) {
      error = "/proc/meminfo: malformed line \"" + std::string(line.substr(0, 80)) + "\"";
      return;
    }
    seen[it->first] = true;
  });
  if (!error.empty()) return Status::Corruption(error);
  if (!seen["MemTotal"]) return Status::Corruption("/proc/meminfo: no MemTotal line");

  constexpr uint64_t kKiB = 1024;
  MemoryUsage m;
  m.total_bytes = kib["MemTotal"] * kKiB;
  uint64_t free = kib["MemFree"] * kKiB;
  uint64_t buffers = kib["Buffers"] * kKiB;
  uint64_t cached = (kib["Cached"] + kib["SReclaimable"]) * kKiB;  // psutil counts reclaimable slab as cache
  m.available_bytes =
      seen["MemAvailable"] ? kib["MemAvailable"] * kKiB : free + buffers + kib["Cached"] * kKiB;
  if (m.available_bytes > m.total_bytes) m.available_bytes = m.total_bytes;
  uint64_t not_used = free + buffers + cached;
  m.used_bytes = not_used <= m.total_bytes ? m.total_bytes - not_used
                                            : (free <= m.total_bytes ? m.total_bytes - free : 0);
  m.percent = PercentOf(static_cast<double>(m.total_bytes - m.available_bytes),
                        static_cast<double>(m.total_bytes));
  m.swap_total_bytes = kib["SwapTotal"] * kKiB;
  m.swap_free_bytes = std::min(kib["SwapFree"] * kKiB, m.swap_total_bytes);
  m.swap_used_bytes = m.swap_total_bytes - m.swap_free_bytes;
  m.swap_percent = PercentOf(static_cast<double>(m.swap_used_bytes), static_cast<double>(m.swap_total_bytes));
  return m;
}

}  // namespace runtrack::telemetry
