// Facts about this build and the clock every front end stamps responses with.
#pragma once

#include <string>

namespace runicorn::service {

// The semantic version of this build ("0.1.0").
std::string RunicornVersion();
// Seconds since the Unix epoch.
double NowSeconds();

}  // namespace runicorn::service
