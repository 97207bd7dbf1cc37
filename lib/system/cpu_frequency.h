// CPU frequency from Linux cpufreq (/sys/devices/system/cpu/cpufreq/policy*/), as psutil.cpu_freq().
#pragma once

#include <filesystem>
#include <optional>
#include <vector>

namespace runtrack::telemetry {

// The cpufreq policies of a machine, with their limits (which only change when an administrator
// changes them, so they are read once).
struct CpufreqPolicies {
  std::vector<std::filesystem::path> dirs;  // policy* folders, sorted
  double min_mhz = 0;  // average of scaling_min_freq over the policies that have it
  double max_mhz = 0;  // average of scaling_max_freq
};

// Empty `dirs` when `root` does not exist or has no policy folder (most virtual machines).
CpufreqPolicies FindCpufreqPolicies(const std::filesystem::path& root = "/sys/devices/system/cpu/cpufreq");

// Average scaling_cur_freq of the policies in MHz; unset when none can be read.
std::optional<double> ReadCurrentMhz(const CpufreqPolicies& policies);

}  // namespace runtrack::telemetry
