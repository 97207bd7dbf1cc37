// Request bodies of the training service API (/api/v1): a JSON object checked against a small
// schema, so every route answers unknown fields, wrong types and missing required fields the same
// way — 400 INVALID_REQUEST with details {"field": NAME, "reason": "unknown_field" |
// "invalid_type" | "required"} (v1_envelope.h). Nested objects (e.g. /train's "config") are
// checked with CheckV1Object and a "config." prefix, so the field reads "config.batch_size".
//
// Thread safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "server/http_types.h"

namespace runicorn::server {

enum class V1Type { kString, kNumber, kInteger, kBoolean, kObject, kArray };

struct V1Field {
  std::string name;
  V1Type type;
  bool required = false;
  bool nullable = false;  // null is accepted (and means "not given")
};

// The error response for the first violation, or nullopt. Fields are checked in body order for
// unknown names and types, then in schema order for required ones.
std::optional<Response> CheckV1Object(const boost::json::object& object, const std::vector<V1Field>& schema,
                                      std::string_view prefix = {});

// Parses `body` as a JSON object (400 "invalid_json" otherwise) and checks it.
struct V1Body {
  boost::json::object object;
  std::optional<Response> error;
};
V1Body ParseV1Body(std::string_view body, const std::vector<V1Field>& schema);

// Typed reads of fields CheckV1Object has accepted (absent or null: nullopt).
std::optional<std::string> V1String(const boost::json::object& o, std::string_view name);
std::optional<double> V1Number(const boost::json::object& o, std::string_view name);
std::optional<int64_t> V1Integer(const boost::json::object& o, std::string_view name);

}  // namespace runicorn::server
