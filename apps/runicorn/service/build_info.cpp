#include "service/build_info.h"

#include <chrono>

#ifndef RUNICORN_VERSION
#define RUNICORN_VERSION "0.1.0"
#endif

namespace runicorn::service {

std::string RunicornVersion() { return RUNICORN_VERSION; }

double NowSeconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace runicorn::service
