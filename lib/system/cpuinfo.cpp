#include "system/cpuinfo.h"

#include <set>
#include <utility>

#include "system/text_fields.h"

namespace runtrack::telemetry {

CpuInfo ParseCpuinfo(std::string_view text) {
  CpuInfo info;
  std::string fallback_model;
  std::set<std::pair<std::string, std::string>> cores;  // (physical id, core id)
  std::string physical_id;
  double mhz_sum = 0;
  unsigned mhz_count = 0;
  ForEachLine(text, [&](std::string_view line) {
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) return;
    std::string_view key = TrimBlanks(line.substr(0, colon));
    std::string_view value = TrimBlanks(line.substr(colon + 1));
    if (key == "processor") {
      ++info.logical_count;
    } else if (key == "model name") {
      if (info.model.empty()) info.model = std::string(value);
    } else if (key == "Processor" || key == "cpu model") {
      if (fallback_model.empty()) fallback_model = std::string(value);
    } else if (key == "physical id") {
      physical_id = std::string(value);
    } else if (key == "core id") {
      cores.emplace(physical_id, std::string(value));
    } else if (key == "cpu MHz") {
      double mhz = 0;
      if (ParseDouble(value, &mhz)) {
        mhz_sum += mhz;
        ++mhz_count;
      }
    }
  });
  info.mhz_average = mhz_count ? mhz_sum / mhz_count : 0.0;
  if (info.model.empty()) info.model = std::move(fallback_model);
  info.physical_count = cores.empty() ? info.logical_count : static_cast<unsigned>(cores.size());
  return info;
}

}  // namespace runtrack::telemetry
