#include "tasks/local_time.h"

#include <ctime>

namespace runtrack::tasks {
namespace {

std::string Format(double epoch_seconds, const char* pattern) {
  std::time_t t = static_cast<std::time_t>(epoch_seconds);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[64];
  size_t n = std::strftime(buf, sizeof buf, pattern, &tm);
  return std::string(buf, n);
}

}  // namespace

std::string LocalTimestamp(double epoch_seconds) { return Format(epoch_seconds, "%Y-%m-%d_%H-%M-%S"); }
std::string LocalTimestampSpaced(double epoch_seconds) {
  return Format(epoch_seconds, "%Y-%m-%d %H:%M:%S");
}

}  // namespace runtrack::tasks
