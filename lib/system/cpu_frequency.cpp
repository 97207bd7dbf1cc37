#include "system/cpu_frequency.h"

#include <algorithm>
#include <string>
#include <system_error>

#include "system/text_fields.h"
#include "util/files.h"

namespace runtrack::telemetry {

namespace {

// A sysfs frequency file holds kHz and a newline.
std::optional<double> ReadKhzAsMhz(const std::filesystem::path& file) {
  Result<std::string> text = util::ReadFile(file);
  uint64_t khz = 0;
  if (!text.ok() || !ParseU64(TrimBlanks(*text), &khz)) return std::nullopt;
  return static_cast<double>(khz) / 1000.0;
}

// Average of `name` over the policies that have a readable value; 0 if none does.
double AverageOver(const std::vector<std::filesystem::path>& dirs, const char* name) {
  double sum = 0;
  int n = 0;
  for (const auto& dir : dirs) {
    if (std::optional<double> mhz = ReadKhzAsMhz(dir / name)) {
      sum += *mhz;
      ++n;
    }
  }
  return n ? sum / n : 0.0;
}

}  // namespace

CpufreqPolicies FindCpufreqPolicies(const std::filesystem::path& root) {
  CpufreqPolicies p;
  std::error_code ec;  // a missing or unreadable root just means no cpufreq; nothing throws
  for (std::filesystem::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().filename().string().rfind("policy", 0) == 0) p.dirs.push_back(it->path());
  }
  std::sort(p.dirs.begin(), p.dirs.end());
  p.min_mhz = AverageOver(p.dirs, "scaling_min_freq");
  p.max_mhz = AverageOver(p.dirs, "scaling_max_freq");
  return p;
}

std::optional<double> ReadCurrentMhz(const CpufreqPolicies& policies) {
  double sum = 0;
  int n = 0;
  for (const auto& dir : policies.dirs) {
    if (std::optional<double> mhz = ReadKhzAsMhz(dir / "scaling_cur_freq")) {
      sum += *mhz;
      ++n;
    }
  }
  if (n == 0) return std::nullopt;
  return sum / n;
}

}  // namespace runtrack::telemetry
