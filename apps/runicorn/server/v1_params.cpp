#include "server/v1_params.h"

#include <algorithm>

#include <boost/json.hpp>
#include <fmt/format.h>
#include "runtrack/json_parse.h"

#include "server/v1_envelope.h"

namespace runicorn::server {
namespace json = boost::json;

namespace {

std::string_view TypeName(V1Type t) {
  switch (t) {
    case V1Type::kString: return "a string";
    case V1Type::kNumber: return "a number";
    case V1Type::kInteger: return "an integer";
    case V1Type::kBoolean: return "a boolean";
    case V1Type::kObject: return "an object";
    case V1Type::kArray: return "an array";
  }
  return "a value";
}

bool HasType(const json::value& v, V1Type t) {
  switch (t) {
    case V1Type::kString: return v.is_string();
    case V1Type::kNumber: return v.is_number();
    case V1Type::kInteger: return v.is_int64() || v.is_uint64();
    case V1Type::kBoolean: return v.is_bool();
    case V1Type::kObject: return v.is_object();
    case V1Type::kArray: return v.is_array();
  }
  return false;
}

}  // namespace

std::optional<Response> CheckV1Object(const json::object& object, const std::vector<V1Field>& schema,
                                      std::string_view prefix) {
  for (const auto& [key, value] : object) {
    auto it = std::find_if(schema.begin(), schema.end(), [&](const V1Field& f) { return f.name == key; });
    std::string field = fmt::format("{}{}", prefix, std::string_view(key));
    if (it == schema.end()) return V1Error(400, fmt::format("Unknown field '{}'", field), "unknown_field", field);
    if (value.is_null() && (it->nullable || !it->required)) continue;
    if (!HasType(value, it->type))
      return V1Error(400, fmt::format("Field '{}' must be {}", field, TypeName(it->type)), "invalid_type", field);
  }
  for (const auto& f : schema) {
    const json::value* v = object.if_contains(f.name);
    if (f.required && (v == nullptr || v->is_null())) {
      std::string field = fmt::format("{}{}", prefix, f.name);
      return V1Error(400, fmt::format("Field '{}' is required", field), "required", field);
    }
  }
  return std::nullopt;
}

V1Body ParseV1Body(std::string_view body, const std::vector<V1Field>& schema) {
  V1Body out;
  boost::system::error_code ec;
  json::value v = runtrack::ParseJson(body, ec);
  if (ec) {
    out.error = V1Error(400, "Request body is not valid JSON", "invalid_json");
    return out;
  }
  if (!v.is_object()) {
    out.error = V1Error(400, "Request body must be a JSON object", "invalid_json");
    return out;
  }
  out.object = std::move(v.as_object());
  out.error = CheckV1Object(out.object, schema);
  return out;
}

std::optional<std::string> V1String(const json::object& o, std::string_view name) {
  const json::value* v = o.if_contains(name);
  if (v == nullptr || !v->is_string()) return std::nullopt;
  return std::string(v->as_string());
}

std::optional<double> V1Number(const json::object& o, std::string_view name) {
  const json::value* v = o.if_contains(name);
  if (v == nullptr || !v->is_number()) return std::nullopt;
  return v->to_number<double>();
}

std::optional<int64_t> V1Integer(const json::object& o, std::string_view name) {
  const json::value* v = o.if_contains(name);
  if (v == nullptr) return std::nullopt;
  if (v->is_int64()) return v->as_int64();
  if (v->is_uint64() && v->as_uint64() <= static_cast<uint64_t>(INT64_MAX)) return static_cast<int64_t>(v->as_uint64());
  return std::nullopt;
}

}  // namespace runicorn::server
