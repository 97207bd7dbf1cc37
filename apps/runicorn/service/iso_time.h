// ISO-8601 UTC timestamps as the training service API (/api/v1) writes them: whole seconds,
// "2023-03-08T12:00:00Z".
#pragma once

#include <string>

namespace runicorn::service {

std::string FormatIsoUtc(double unix_seconds);
std::string NowIsoUtc();

}  // namespace runicorn::service
