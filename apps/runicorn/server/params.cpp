#include "server/params.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>

#include <boost/json/parse.hpp>
#include <fmt/format.h>
#include "runtrack/json_parse.h"

namespace runicorn::server {
using runtrack::Result;
using runtrack::Status;

namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// Parameter values are echoed in error messages; keep them short and printable.
std::string Shown(std::string_view v) {
  std::string out;
  for (char c : v.substr(0, 64)) out.push_back(std::isprint(static_cast<unsigned char>(c)) ? c : '?');
  if (v.size() > 64) out += "...";
  return out;
}

}  // namespace

Result<int64_t> ParseInt64(std::string_view text) {
  text = Trim(text);
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size())
    return Status::InvalidArgument("not an integer");
  return v;
}

Result<std::optional<int64_t>> GetInt(const QueryParams& q, std::string_view name, int64_t min,
                                      int64_t max) {
  const std::string* raw = q.Get(name);
  if (raw == nullptr) return std::optional<int64_t>();
  auto v = ParseInt64(*raw);
  if (!v.ok() || *v < min || *v > max)
    return Status::InvalidArgument(fmt::format("Invalid query parameter '{}': expected an integer in [{}, {}], got '{}'",
                                               name, min, max, Shown(*raw)));
  return std::optional<int64_t>(*v);
}

Result<std::optional<double>> GetDouble(const QueryParams& q, std::string_view name) {
  const std::string* raw = q.Get(name);
  if (raw == nullptr) return std::optional<double>();
  std::string_view t = Trim(*raw);
  double v = 0;
  auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (t.empty() || ec != std::errc() || ptr != t.data() + t.size() || !std::isfinite(v))
    return Status::InvalidArgument(
        fmt::format("Invalid query parameter '{}': expected a finite number, got '{}'", name, Shown(*raw)));
  return std::optional<double>(v);
}

Result<std::optional<bool>> GetBool(const QueryParams& q, std::string_view name) {
  const std::string* raw = q.Get(name);
  if (raw == nullptr) return std::optional<bool>();
  std::string v;
  for (char c : Trim(*raw)) v.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  if (v == "true" || v == "1" || v == "yes" || v == "on") return std::optional<bool>(true);
  if (v == "false" || v == "0" || v == "no" || v == "off") return std::optional<bool>(false);
  return Status::InvalidArgument(
      fmt::format("Invalid query parameter '{}': expected a boolean, got '{}'", name, Shown(*raw)));
}

std::vector<std::string> GetList(const QueryParams& q, std::string_view name) {
  std::vector<std::string> out;
  const std::string* raw = q.Get(name);
  if (raw == nullptr) return out;
  std::string_view rest = *raw;
  while (true) {
    size_t comma = rest.find(',');
    std::string_view item = Trim(rest.substr(0, comma));
    if (!item.empty()) out.emplace_back(item);
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  return out;
}

Result<std::pair<std::optional<int64_t>, std::optional<int64_t>>> ParseStepRange(std::string_view text,
                                                                                 std::string_view name) {
  auto bad = [&] {
    return Status::InvalidArgument(fmt::format(
        "Invalid {} '{}': use 'min,max' or 'min:max' (either side may be empty)", name, Shown(text)));
  };
  size_t sep = text.find_first_of(",:");
  if (sep == std::string_view::npos || text.find_first_of(",:", sep + 1) != std::string_view::npos) return bad();
  std::pair<std::optional<int64_t>, std::optional<int64_t>> out;
  std::string_view lo = Trim(text.substr(0, sep)), hi = Trim(text.substr(sep + 1));
  if (!lo.empty()) {
    auto v = ParseInt64(lo);
    if (!v.ok()) return bad();
    out.first = *v;
  }
  if (!hi.empty()) {
    auto v = ParseInt64(hi);
    if (!v.ok()) return bad();
    out.second = *v;
  }
  if (out.first && out.second && *out.first > *out.second)
    return Status::InvalidArgument(fmt::format("Invalid {}: min is greater than max", name));
  return out;
}

Result<boost::json::object> ParseJsonObject(std::string_view body) {
  boost::system::error_code ec;
  boost::json::value v = runtrack::ParseJson(body, ec);
  if (ec) return Status::InvalidArgument("Invalid JSON body");
  if (!v.is_object()) return Status::InvalidArgument("JSON body must be an object");
  return std::move(v.as_object());
}

Result<std::vector<std::string>> GetStringList(const boost::json::object& body, std::string_view field,
                                               size_t max_items) {
  const boost::json::value* v = body.if_contains(field);
  if (v == nullptr || !v->is_array())
    return Status::InvalidArgument(fmt::format("{} is required and must be a list", field));
  const auto& arr = v->as_array();
  if (arr.size() > max_items)
    return Status::InvalidArgument(fmt::format("Cannot process more than {} items in {} at once", max_items, field));
  std::vector<std::string> out;
  for (const auto& item : arr) {
    if (!item.is_string())
      return Status::InvalidArgument(fmt::format("{} must contain only strings", field));
    out.emplace_back(item.as_string());
  }
  return out;
}

Result<std::optional<runtrack::ArtifactType>> GetArtifactType(const QueryParams& q) {
  const std::string* t = q.Get("type");
  if (t == nullptr || t->empty()) return std::optional<runtrack::ArtifactType>();
  auto type = runtrack::ParseArtifactType(*t);
  if (!type.ok())
    return Status::InvalidArgument(fmt::format("Invalid query parameter 'type': {}", type.status().message()));
  return std::optional<runtrack::ArtifactType>(*type);
}

runtrack::Result<boost::json::object> ParseStrictJsonObject(std::string_view body,
                                                            std::initializer_list<std::string_view> allowed) {
  if (body.empty()) return boost::json::object{};
  RUNTRACK_ASSIGN_OR_RETURN(boost::json::object o, ParseJsonObject(body));
  for (const auto& kv : o) {
    bool known = false;
    for (auto a : allowed) known = known || kv.key() == a;
    if (!known) return runtrack::Status::InvalidArgument("unknown field '" + std::string(kv.key()) + "'");
  }
  return o;
}

runtrack::Result<std::string> GetString(const boost::json::object& body, std::string_view key, bool required) {
  const auto* v = body.if_contains(key);
  if (v == nullptr || v->is_null()) {
    if (required) return runtrack::Status::InvalidArgument(std::string(key) + " is required");
    return std::string();
  }
  if (!v->is_string()) return runtrack::Status::InvalidArgument(std::string(key) + " must be a string");
  return std::string(v->as_string());
}

}  // namespace runicorn::server
