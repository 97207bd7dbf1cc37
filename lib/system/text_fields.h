// Tokenising helpers for the line-oriented text of /proc files. Pure functions on string_views;
// nothing here allocates except SplitFields' vector.
#pragma once

#include <charconv>
#include <cstdint>
#include <string_view>
#include <vector>

namespace runtrack::telemetry {

// Calls fn(line) for every line of `text`, without the '\n'; a missing final newline is fine.
template <typename Fn>
void ForEachLine(std::string_view text, Fn&& fn) {
  while (!text.empty()) {
    size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    fn(line);
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
}

// Fields separated by runs of spaces or tabs; leading and trailing blanks are ignored.
inline std::vector<std::string_view> SplitFields(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

// Leading blanks and trailing blanks / line ends removed.
inline std::string_view TrimBlanks(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

// The whole field must be a number: "12x" and "" are rejected.
inline bool ParseU64(std::string_view field, uint64_t* out) {
  auto [ptr, ec] = std::from_chars(field.data(), field.data() + field.size(), *out);
  return ec == std::errc() && ptr == field.data() + field.size() && !field.empty();
}

inline bool ParseDouble(std::string_view field, double* out) {
  auto [ptr, ec] = std::from_chars(field.data(), field.data() + field.size(), *out);
  return ec == std::errc() && ptr == field.data() + field.size() && !field.empty();
}

// 100 * part / whole, 0 when whole is 0.
inline double PercentOf(double part, double whole) { return whole > 0 ? 100.0 * part / whole : 0.0; }

}  // namespace runtrack::telemetry
