#include "tasks/batch_template.h"

#include <cctype>
#include <charconv>
#include <limits>

#include <fmt/format.h>

#include "runtrack/tasks.h"

namespace runtrack::tasks {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// Python's int(str): surrounding whitespace, a sign, digits with single `_` between them.
bool PythonInt(std::string_view raw, int64_t* out) {
  std::string_view s = Trim(raw);
  bool negative = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) { negative = s[0] == '-'; s.remove_prefix(1); }
  if (s.empty() || s.front() == '_' || s.back() == '_' || s.find("__") != std::string_view::npos)
    return false;
  std::string digits;
  for (char c : s) {
    if (c == '_') continue;
    if (c < '0' || c > '9') return false;
    digits.push_back(c);
  }
  uint64_t m = 0;
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), m);
  if (ec != std::errc() || p != digits.data() + digits.size() ||
      m > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
    return false;
  *out = negative ? -static_cast<int64_t>(m) : static_cast<int64_t>(m);
  return true;
}

std::vector<std::string_view> SplitOn(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  size_t begin = 0;
  for (size_t k = 0; k <= s.size(); ++k) {
    if (k == s.size() || s[k] == sep) {
      parts.push_back(s.substr(begin, k - begin));
      begin = k + 1;
    }
  }
  return parts;
}

std::optional<BatchLeaf> MakeRange(const std::vector<std::string_view>& parts) {
  if (parts.size() != 2 && parts.size() != 3) return std::nullopt;
  int64_t v[3] = {0, 0, 1};
  for (size_t k = 0; k < parts.size(); ++k)
    if (!PythonInt(parts[k], &v[k])) return std::nullopt;
  if (v[2] == 0) return std::nullopt;  // range() refuses a zero step: not a range
  BatchLeaf leaf;
  leaf.is_range = true;
  leaf.start = v[0];
  leaf.stop = v[1];
  leaf.step = v[2];
  if (leaf.Count() == 0) return std::nullopt;
  return leaf;
}

}  // namespace

uint64_t BatchLeaf::Count() const {
  if (!is_range) return pieces.size();
  // Pyruns' _batch_value_count, in 128-bit so extreme bounds cannot overflow.
  __int128 a = start, b = stop, s = step;
  if (s < 0) { a = -a; b = -b; s = -s; }
  __int128 n = (b - a + s - 1) / s;
  if (n <= 0) return 0;
  if (n > static_cast<__int128>(std::numeric_limits<uint64_t>::max()))
    return std::numeric_limits<uint64_t>::max();
  return static_cast<uint64_t>(n);
}

ConfigValue BatchLeaf::At(uint64_t k) const {
  if (!is_range) return pieces[k];
  return ConfigValue::Int(start + static_cast<int64_t>(k) * step);
}

std::vector<std::string> SplitByPipe(std::string_view text) {
  std::vector<std::string> parts;
  std::string current;
  auto flush = [&] {
    std::string_view t = Trim(current);
    if (!t.empty()) parts.emplace_back(t);
    current.clear();
  };
  for (size_t k = 0; k < text.size(); ++k) {
    if (text[k] == '\\' && k + 1 < text.size() && text[k + 1] == '|') {
      current.push_back('|');
      ++k;
    } else if (text[k] == '|') {
      flush();
    } else {
      current.push_back(text[k]);
    }
  }
  flush();
  return parts;
}

std::optional<BatchLeaf> ParseBatchLeaf(std::string_view value) {
  std::string_view s = Trim(value);
  bool has_pipe = s.find('|') != std::string_view::npos;
  bool parenthesized = s.size() >= 2 && s.front() == '(' && s.back() == ')';

  if (parenthesized && has_pipe) {
    std::vector<std::string> parts = SplitByPipe(s.substr(1, s.size() - 2));
    if (parts.size() < 2) return std::nullopt;
    BatchLeaf leaf;
    leaf.mode = BatchLeaf::Mode::kZip;
    for (const auto& p : parts) leaf.pieces.push_back(ParseBatchPiece(p));
    return leaf;
  }
  if (parenthesized && !has_pipe && s.find(',') != std::string_view::npos) {
    if (auto range = MakeRange(SplitOn(s.substr(1, s.size() - 2), ','))) return range;
  }
  if (s.find(':') != std::string_view::npos && !has_pipe &&
      s.find_first_of("{[") == std::string_view::npos) {
    if (auto range = MakeRange(SplitOn(s, ':'))) return range;
  }
  std::vector<std::string> parts = SplitByPipe(s);
  if (parts.size() < 2) return std::nullopt;
  BatchLeaf leaf;
  for (const auto& p : parts) leaf.pieces.push_back(ParseBatchPiece(p));
  return leaf;
}

}  // namespace runtrack::tasks
