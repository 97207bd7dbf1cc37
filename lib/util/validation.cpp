#include "util/validation.h"

#include <cctype>
#include <string>

#include <fmt/format.h>

#include "runtrack/validation.h"

namespace runtrack::util {
namespace {

constexpr size_t kMaxNameBytes = 256;

}  // namespace

bool HasControlChar(std::string_view s) {
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7F) return true;
  return false;
}

bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t extra;
    uint32_t cp;
    if (c < 0x80) { ++i; continue; }
    if ((c & 0xE0) == 0xC0) { extra = 1; cp = c & 0x1F; }
    else if ((c & 0xF0) == 0xE0) { extra = 2; cp = c & 0x0F; }
    else if ((c & 0xF8) == 0xF0) { extra = 3; cp = c & 0x07; }
    else return false;
    if (i + extra >= s.size()) return false;
    for (size_t k = 1; k <= extra; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Reject overlong encodings, surrogates and code points past U+10FFFF.
    if ((extra == 1 && cp < 0x80) || (extra == 2 && cp < 0x800) || (extra == 3 && cp < 0x10000) ||
        (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
      return false;
    i += extra + 1;
  }
  return true;
}

bool IsValidRunId(std::string_view id) {
  if (id.size() != 22 || id[8] != '_' || id[15] != '_') return false;
  for (size_t i = 0; i < 22; ++i) {
    if (i == 8 || i == 15) continue;
    char c = id[i];
    bool digit = c >= '0' && c <= '9';
    if (i < 15 ? !digit : !(digit || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}


Status CheckLabel(std::string_view what, std::string_view value) {
  if (value.empty()) return Status::InvalidArgument(fmt::format("{} must not be empty", what));
  if (value.size() > kMaxNameBytes)
    return Status::InvalidArgument(
        fmt::format("{} is {} bytes long; the limit is {}", what, value.size(), kMaxNameBytes));
  if (!IsValidUtf8(value)) return Status::InvalidArgument(fmt::format("{} is not valid UTF-8", what));
  if (HasControlChar(value))
    return Status::InvalidArgument(fmt::format("{} contains a control character", what));
  return Status::Ok();
}

Status CheckMetricName(std::string_view name) { return CheckLabel("metric name", name); }

}  // namespace runtrack::util

namespace runtrack {

Status ValidateRunId(std::string_view id) {
  if (util::IsValidRunId(id)) return Status::Ok();
  std::string shown;
  for (char c : id.substr(0, 64)) shown.push_back(std::isprint(static_cast<unsigned char>(c)) ? c : '?');
  return Status::InvalidArgument(
      fmt::format("Invalid run_id format: {}. Expected format: YYYYMMDD_HHMMSS_XXXXXX", shown));
}

}  // namespace runtrack
