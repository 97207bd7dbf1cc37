#include "import/runicorn_json.h"

#include <string>

#include "runtrack/json_parse.h"

namespace runtrack::importer {
namespace json = boost::json;

namespace {

constexpr std::string_view kNaNSentinel = "0e77777";
constexpr std::string_view kInfSentinel = "1e77777";
constexpr std::string_view kNegInfSentinel = "-1e77777";

// Replaces the bare tokens NaN / Infinity / -Infinity outside strings. Inside valid JSON, outside
// strings, the letters N and I occur only in these tokens (true/false/null are lower-case).
std::string ReplaceNonFiniteTokens(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 16);
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      out.push_back(c);
      if (c == '\\' && i + 1 < text.size()) {
        out.push_back(text[++i]);
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    std::string_view rest = text.substr(i);
    if (c == '"') {
      in_string = true;
      out.push_back(c);
    } else if (rest.starts_with("NaN")) {
      out.append(kNaNSentinel);
      i += 2;
    } else if (rest.starts_with("Infinity")) {
      out.append(kInfSentinel);
      i += 7;
    } else if (rest.starts_with("-Infinity")) {
      out.append(kNegInfSentinel);
      i += 8;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace

Result<json::value> ParseRunicornJson(std::string_view text) {
  std::string prepared = ReplaceNonFiniteTokens(text);
  json::error_code ec;
  json::value v = ParseJson(prepared, ec, kNaNSentinel);
  if (ec) return Status::Corruption("invalid JSON: " + ec.message());
  return v;
}

Result<json::object> ParseRunicornObject(std::string_view text) {
  RUNTRACK_ASSIGN_OR_RETURN(json::value v, ParseRunicornJson(text));
  if (!v.is_object()) return Status::Corruption("invalid JSON: expected an object");
  return std::move(v.get_object());
}

std::optional<double> NumberMember(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  if (v == nullptr) return std::nullopt;
  if (v->is_double()) return v->get_double();
  if (v->is_int64()) return static_cast<double>(v->get_int64());
  if (v->is_uint64()) return static_cast<double>(v->get_uint64());
  return std::nullopt;
}

std::string StringMember(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

}  // namespace runtrack::importer
