#include "system/proc_stat.h"

#include <algorithm>
#include <string>

#include "system/text_fields.h"

namespace runtrack::telemetry {

namespace {

// Parses the numeric fields of one "cpu..." line (fields[0] is the label).
bool ParseCpuTimes(const std::vector<std::string_view>& fields, CpuTimes* out) {
  // user nice system idle iowait irq softirq steal
  constexpr size_t kIdle = 3, kIowait = 4, kSummedFields = 8;
  if (fields.size() < 1 + 4) return false;
  uint64_t values[kSummedFields] = {};
  for (size_t i = 0; i < kSummedFields && i + 1 < fields.size(); ++i) {
    if (!ParseU64(fields[i + 1], &values[i])) return false;
  }
  out->total = 0;
  for (uint64_t v : values) out->total += v;
  out->idle = values[kIdle] + values[kIowait];
  return true;
}

}  // namespace

Result<ProcStatSample> ParseProcStat(std::string_view text) {
  ProcStatSample sample;
  bool have_aggregate = false;
  std::string error;
  ForEachLine(text, [&](std::string_view line) {
    if (!error.empty() || line.substr(0, 3) != "cpu") return;
    std::vector<std::string_view> fields = SplitFields(line);
    std::string_view label = fields[0];
    CpuTimes times;
    if (!ParseCpuTimes(fields, &times)) {
      error = "/proc/stat: malformed line \"" + std::string(line.substr(0, 80)) + "\"";
      return;
    }
    if (label == "cpu") {
      sample.all = times;
      have_aggregate = true;
      return;
    }
    uint64_t core = 0;
    if (!ParseU64(label.substr(3), &core) || core > 1'000'000) {
      error = "/proc/stat: unexpected label \"" + std::string(label.substr(0, 40)) + "\"";
      return;
    }
    times.core = static_cast<unsigned>(core);
    sample.cores.push_back(times);
  });
  if (!error.empty()) return Status::Corruption(error);
  if (!have_aggregate) return Status::Corruption("/proc/stat: no aggregate \"cpu\" line");
  return sample;
}

double BusyPercentBetween(const CpuTimes& before, const CpuTimes& after) {
  double total = static_cast<double>(after.total) - static_cast<double>(before.total);
  if (total <= 0) return 0.0;
  double busy = (static_cast<double>(after.total) - static_cast<double>(after.idle)) -
                (static_cast<double>(before.total) - static_cast<double>(before.idle));
  return std::clamp(PercentOf(busy, total), 0.0, 100.0);
}

CpuUsage CpuUsageBetween(const ProcStatSample& before, const ProcStatSample& after) {
  CpuUsage usage;
  usage.percent = BusyPercentBetween(before.all, after.all);
  usage.logical_count = static_cast<unsigned>(after.cores.size());
  usage.per_core_percent.reserve(after.cores.size());
  for (size_t i = 0; i < after.cores.size(); ++i) {
    const CpuTimes& core = after.cores[i];
    // Same position is the rule (the CPU set rarely changes); search only when it did, so a
    // many-core machine does not pay a quadratic match every sample.
    const CpuTimes* match = nullptr;
    if (i < before.cores.size() && before.cores[i].core == core.core) match = &before.cores[i];
    if (match == nullptr) {
      auto it = std::find_if(before.cores.begin(), before.cores.end(),
                             [&](const CpuTimes& b) { return b.core == core.core; });
      if (it != before.cores.end()) match = &*it;
    }
    usage.per_core_percent.push_back(match ? BusyPercentBetween(*match, core) : 0.0);
  }
  return usage;
}

Result<LoadAverage> ParseLoadAvg(std::string_view text) {
  std::string_view first_line = TrimBlanks(text.substr(0, text.find('\n')));
  std::vector<std::string_view> fields = SplitFields(first_line);
  LoadAverage load;
  if (fields.size() < 3 || !ParseDouble(fields[0], &load.one_minute) ||
      !ParseDouble(fields[1], &load.five_minutes) || !ParseDouble(fields[2], &load.fifteen_minutes)) {
    return Status::Corruption("/proc/loadavg: expected three load averages, got \"" +
                              std::string(first_line.substr(0, 80)) + "\"");
  }
  return load;
}

}  // namespace runtrack::telemetry
