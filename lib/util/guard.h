// The one exception guard at the library's edge: no public call of libruntrack throws.
#pragma once

#include <exception>
#include <string>
#include <string_view>

#include "runtrack/status.h"

namespace runtrack::util {

// Runs `body` and returns what it returns (a Status or a Result<T>); an exception escaping it
// (std::bad_alloc, a std::filesystem error, a bug) becomes Internal "<what> failed: <message>".
template <typename Body>
auto GuardStatus(std::string_view what, Body&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const std::exception& e) {
    return Status::Internal(std::string(what) + " failed: " + e.what());
  }
}

}  // namespace runtrack::util
