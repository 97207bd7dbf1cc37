// NormalizeRunPath (runtrack/validation.h): Runicorn v0.6's `_normalize_path` rules, so a path
// that Runicorn accepts is accepted here and names the same folder hierarchy.
#include <cctype>
#include <string>

#include <fmt/format.h>

#include "runtrack/validation.h"

namespace runtrack {
namespace {

constexpr size_t kMaxRunPathChars = 200;

bool IsPathChar(unsigned char c) { return std::isalnum(c) != 0 || c == '_' || c == '-' || c == '/'; }

std::string Shown(std::string_view path) {
  std::string shown;
  for (char c : path.substr(0, 64)) shown.push_back(std::isprint(static_cast<unsigned char>(c)) ? c : '?');
  if (path.size() > 64) shown += "...";
  return shown;
}

}  // namespace

Result<std::string> NormalizeRunPath(std::string_view path) {
  std::string out;
  out.reserve(path.size());
  for (char c : path) {
    if (c == '\\') c = '/';
    if (c == '/' && (out.empty() || out.back() == '/')) continue;  // leading or repeated
    out.push_back(c);
  }
  if (!out.empty() && out.back() == '/') out.pop_back();
  for (unsigned char c : out) {
    if (!IsPathChar(c) || c >= 0x80)
      return Status::InvalidArgument(fmt::format(
          "Invalid path '{}': only letters, digits, '_', '-' and '/' are allowed", Shown(path)));
  }
  if (out.size() > kMaxRunPathChars)
    return Status::InvalidArgument(fmt::format("Invalid path '{}': longer than {} characters",
                                               Shown(path), kMaxRunPathChars));
  return out;
}

}  // namespace runtrack
