#include "tasks/config_value.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

namespace runtrack::tasks {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// Digits (with `_` separators when `underscores`) after an optional sign; into `out`.
bool ParseDecimalInt(std::string_view s, bool underscores, int64_t* out) {
  std::string digits;
  size_t pos = 0;
  bool negative = false;
  if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) negative = s[pos++] == '-';
  if (pos == s.size()) return false;
  for (; pos < s.size(); ++pos) {
    if (IsDigit(s[pos])) digits.push_back(s[pos]);
    else if (underscores && s[pos] == '_' && !digits.empty()) continue;
    else return false;
  }
  if (digits.empty()) return false;
  uint64_t magnitude = 0;
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), magnitude);
  if (ec != std::errc() || p != digits.data() + digits.size()) return false;
  if (magnitude > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) + (negative ? 1 : 0))
    return false;
  *out = negative ? static_cast<int64_t>(0 - magnitude) : static_cast<int64_t>(magnitude);
  return true;
}

// A decimal float literal: [sign] (digits [. digits*] | . digits) [e [sign] digits], with at least
// a `.` or an exponent. Python and YAML agree on this shape (YAML 1.1 also allows `_`).
bool ParseFloatLiteral(std::string_view s, double* out) {
  std::string clean;
  size_t pos = 0;
  if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) clean.push_back(s[pos++]);
  size_t int_digits = 0, frac_digits = 0;
  bool dot = false, exp = false;
  while (pos < s.size() && (IsDigit(s[pos]) || s[pos] == '_')) {
    if (s[pos] != '_') { clean.push_back(s[pos]); ++int_digits; }
    ++pos;
  }
  if (pos < s.size() && s[pos] == '.') {
    dot = true;
    clean.push_back('.');
    ++pos;
    while (pos < s.size() && (IsDigit(s[pos]) || s[pos] == '_')) {
      if (s[pos] != '_') { clean.push_back(s[pos]); ++frac_digits; }
      ++pos;
    }
  }
  if (int_digits + frac_digits == 0) return false;
  if (pos < s.size() && (s[pos] == 'e' || s[pos] == 'E')) {
    exp = true;
    clean.push_back('e');
    ++pos;
    if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) clean.push_back(s[pos++]);
    size_t exp_digits = 0;
    while (pos < s.size() && IsDigit(s[pos])) { clean.push_back(s[pos++]); ++exp_digits; }
    if (exp_digits == 0) return false;
  }
  if (pos != s.size() || (!dot && !exp)) return false;
  double v = 0;
  auto [p, ec] = std::from_chars(clean.data(), clean.data() + clean.size(), v);
  if (ec != std::errc() || p != clean.data() + clean.size()) return false;
  *out = v;
  return true;
}

Result<ConfigValue> FromNode(const YAML::Node& node, int depth) {
  if (depth > 64) return Status::InvalidArgument("config is nested more than 64 levels deep");
  switch (node.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      return ConfigValue::Null();
    case YAML::NodeType::Scalar:
      // "!" is yaml-cpp's tag for a quoted scalar: always a string.
      if (node.Tag() == "!") return ConfigValue::String(node.Scalar());
      return TypePlainScalar(node.Scalar());
    case YAML::NodeType::Sequence: {
      ConfigValue v;
      v.type = ConfigValue::Type::kList;
      for (const auto& child : node) {
        RUNTRACK_ASSIGN_OR_RETURN(ConfigValue c, FromNode(child, depth + 1));
        v.list.push_back(std::move(c));
      }
      return v;
    }
    case YAML::NodeType::Map: {
      ConfigValue v;
      v.type = ConfigValue::Type::kMap;
      for (const auto& kv : node) {
        if (!kv.first.IsScalar()) return Status::InvalidArgument("config keys must be scalars");
        RUNTRACK_ASSIGN_OR_RETURN(ConfigValue c, FromNode(kv.second, depth + 1));
        v.map.emplace_back(kv.first.Scalar(), std::move(c));
      }
      return v;
    }
  }
  return ConfigValue::Null();
}

std::string PythonFloatRepr(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  std::string s = fmt::format("{}", d);
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  return s;
}

std::string PythonRepr(const ConfigValue& v);

std::string PythonReprString(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "'";
}

std::string PythonRepr(const ConfigValue& v) {
  return v.type == ConfigValue::Type::kString ? PythonReprString(v.s) : PythonStr(v);
}

// The text of a null, bool, int or float scalar: plain, readable back as the same type.
std::string NonStringScalarText(const ConfigValue& v) {
  switch (v.type) {
    case ConfigValue::Type::kNull: return "null";
    case ConfigValue::Type::kBool: return v.b ? "true" : "false";
    case ConfigValue::Type::kInt: return fmt::format("{}", v.i);
    case ConfigValue::Type::kFloat: {
      if (std::isnan(v.d)) return ".nan";
      if (std::isinf(v.d)) return v.d > 0 ? ".inf" : "-.inf";
      std::string s = fmt::format("{}", v.d);
      size_t e = s.find('e');
      if (s.find('.') == std::string::npos) s.insert(e == std::string::npos ? s.size() : e, ".0");
      return s;
    }
    default: return "";
  }
}

void Emit(YAML::Emitter& out, const ConfigValue& v, const ConfigLeafOverrides* overrides) {
  if (overrides) {
    if (const ConfigValue* repl = overrides->Find(&v)) {
      Emit(out, *repl, nullptr);
      return;
    }
  }
  switch (v.type) {
    case ConfigValue::Type::kNull: out << YAML::Null; break;
    case ConfigValue::Type::kBool:
    case ConfigValue::Type::kInt:
    case ConfigValue::Type::kFloat: out << NonStringScalarText(v); break;
    case ConfigValue::Type::kString:
      if (TypePlainScalar(v.s).type != ConfigValue::Type::kString) out << YAML::DoubleQuoted;
      out << v.s;
      break;
    case ConfigValue::Type::kList:
      if (v.list.empty()) { out << YAML::Flow << YAML::BeginSeq << YAML::EndSeq; break; }
      out << YAML::BeginSeq;
      for (const auto& c : v.list) Emit(out, c, overrides);
      out << YAML::EndSeq;
      break;
    case ConfigValue::Type::kMap:
      if (v.map.empty()) { out << YAML::Flow << YAML::BeginMap << YAML::EndMap; break; }
      out << YAML::BeginMap;
      for (const auto& [k, c] : v.map) {
        out << YAML::Key;
        if (TypePlainScalar(k).type != ConfigValue::Type::kString) out << YAML::DoubleQuoted;
        out << k << YAML::Value;
        Emit(out, c, overrides);
      }
      out << YAML::EndMap;
      break;
  }
}

}  // namespace

ConfigValue TypePlainScalar(std::string_view text) {
  static constexpr std::string_view kNulls[] = {"", "~", "null", "Null", "NULL"};
  static constexpr std::string_view kTrue[] = {"yes", "Yes", "YES", "true", "True", "TRUE",
                                               "on", "On", "ON"};
  static constexpr std::string_view kFalse[] = {"no", "No", "NO", "false", "False", "FALSE",
                                                "off", "Off", "OFF"};
  for (auto n : kNulls) if (text == n) return ConfigValue::Null();
  for (auto t : kTrue) if (text == t) return ConfigValue::Bool(true);
  for (auto f : kFalse) if (text == f) return ConfigValue::Bool(false);
  if (text.empty()) return ConfigValue::String("");
  char c0 = text[0];
  if (IsDigit(c0) || c0 == '-' || c0 == '+' || c0 == '.') {
    int64_t i = 0;
    // YAML 1.1 ints are decimal with `_`, 0x hex, 0b binary or 0-prefixed octal.
    std::string_view body = text;
    bool negative = false;
    if (!body.empty() && (body[0] == '-' || body[0] == '+')) { negative = body[0] == '-'; body.remove_prefix(1); }
    auto based = [&](std::string_view digits, int base) -> bool {
      std::string clean;
      for (char ch : digits) if (ch != '_') clean.push_back(ch);
      if (clean.empty()) return false;
      uint64_t m = 0;
      auto [p, ec] = std::from_chars(clean.data(), clean.data() + clean.size(), m, base);
      if (ec != std::errc() || p != clean.data() + clean.size() ||
          m > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return false;
      i = negative ? -static_cast<int64_t>(m) : static_cast<int64_t>(m);
      return true;
    };
    if (body.size() > 2 && body[0] == '0' && (body[1] == 'x' || body[1] == 'X')) {
      if (based(body.substr(2), 16)) return ConfigValue::Int(i);
    } else if (body.size() > 2 && body[0] == '0' && (body[1] == 'b' || body[1] == 'B')) {
      if (based(body.substr(2), 2)) return ConfigValue::Int(i);
    } else if (body.size() > 1 && body[0] == '0' && body.find_first_not_of("01234567_") == std::string_view::npos) {
      if (based(body.substr(1), 8)) return ConfigValue::Int(i);
    } else if (ParseDecimalInt(text, true, &i)) {
      return ConfigValue::Int(i);
    }
    double d = 0;
    if (ParseFloatLiteral(text, &d)) return ConfigValue::Float(d);
    std::string_view special = body;
    if (special == ".inf" || special == ".Inf" || special == ".INF")
      return ConfigValue::Float(negative ? -std::numeric_limits<double>::infinity()
                                         : std::numeric_limits<double>::infinity());
    if (text == ".nan" || text == ".NaN" || text == ".NAN")
      return ConfigValue::Float(std::numeric_limits<double>::quiet_NaN());
  }
  return ConfigValue::String(std::string(text));
}

Result<ConfigValue> ParseYamlConfig(std::string_view text) {
  try {
    YAML::Node node = YAML::Load(std::string(text));
    return FromNode(node, 0);
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(fmt::format("invalid YAML: {}", e.what()));
  }
}

ConfigValue ParseBatchPiece(std::string_view raw) {
  std::string_view piece = Trim(raw);
  int64_t i = 0;
  double d = 0;
  if (ParseDecimalInt(piece, true, &i) &&
      // Python rejects leading zeros ("007") in int literals.
      !(piece.size() > 1 && piece[piece[0] == '-' || piece[0] == '+' ? 1 : 0] == '0' &&
        piece.find_first_not_of("+-0_") != std::string_view::npos))
    return ConfigValue::Int(i);
  if (ParseFloatLiteral(piece, &d)) return ConfigValue::Float(d);
  if (piece == "True") return ConfigValue::Bool(true);
  if (piece == "False") return ConfigValue::Bool(false);
  if (piece == "None") return ConfigValue::Null();
  if (piece.size() >= 2 && (piece.front() == '\'' || piece.front() == '"') &&
      piece.back() == piece.front()) {
    std::string out;
    for (size_t k = 1; k + 1 < piece.size(); ++k) {
      if (piece[k] == '\\' && k + 2 < piece.size()) ++k;
      out.push_back(piece[k]);
    }
    return ConfigValue::String(std::move(out));
  }
  if (!piece.empty() && (piece.front() == '[' || piece.front() == '{')) {
    auto parsed = ParseYamlConfig(piece);
    if (parsed.ok() && (parsed->type == ConfigValue::Type::kList ||
                        parsed->type == ConfigValue::Type::kMap))
      return std::move(parsed).value();
  }
  std::string lower = Lower(piece);
  if (lower == "true") return ConfigValue::Bool(true);
  if (lower == "false") return ConfigValue::Bool(false);
  return ConfigValue::String(std::string(piece));
}

std::string PythonStr(const ConfigValue& v) {
  switch (v.type) {
    case ConfigValue::Type::kNull: return "None";
    case ConfigValue::Type::kBool: return v.b ? "True" : "False";
    case ConfigValue::Type::kInt: return fmt::format("{}", v.i);
    case ConfigValue::Type::kFloat: return PythonFloatRepr(v.d);
    case ConfigValue::Type::kString: return v.s;
    case ConfigValue::Type::kList: {
      std::string out = "[";
      for (size_t k = 0; k < v.list.size(); ++k) out += (k ? ", " : "") + PythonRepr(v.list[k]);
      return out + "]";
    }
    case ConfigValue::Type::kMap: {
      std::string out = "{";
      for (size_t k = 0; k < v.map.size(); ++k)
        out += (k ? ", " : "") + PythonReprString(v.map[k].first) + ": " + PythonRepr(v.map[k].second);
      return out + "}";
    }
  }
  return "";
}

std::string EmitYamlScalar(const ConfigValue& v) {
  if (v.type != ConfigValue::Type::kString) return NonStringScalarText(v);
  YAML::Emitter out;
  Emit(out, v, nullptr);
  return out.c_str();
}

std::string EmitYamlConfig(const ConfigValue& v, const ConfigLeafOverrides* overrides) {
  YAML::Emitter out;
  out.SetIndent(2);
  out.SetNullFormat(YAML::LowerNull);
  Emit(out, v, overrides);
  std::string text = out.c_str();
  text.push_back('\n');
  return text;
}

}  // namespace runtrack::tasks
