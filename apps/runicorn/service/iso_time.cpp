#include "service/iso_time.h"

#include <chrono>
#include <cmath>
#include <ctime>

namespace runicorn::service {

std::string FormatIsoUtc(double unix_seconds) {
  std::time_t t = static_cast<std::time_t>(std::floor(unix_seconds));
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string NowIsoUtc() {
  return FormatIsoUtc(static_cast<double>(
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count()));
}

}  // namespace runicorn::service
