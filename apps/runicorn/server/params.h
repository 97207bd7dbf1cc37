// Typed access to query parameters and JSON bodies. Every failure is an InvalidArgument whose
// message names the parameter and what was expected; handlers answer it with 422 (a malformed
// parameter) or 400 (a malformed body), never with a 500.
#pragma once

#include <initializer_list>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/object.hpp>

#include "runtrack/artifacts.h"
#include "runtrack/status.h"
#include "server/http_types.h"

namespace runicorn::server {

// Absent -> nullopt. Present but not a base-10 integer in [min, max] -> error.
runtrack::Result<std::optional<int64_t>> GetInt(const QueryParams& q, std::string_view name,
                                                int64_t min, int64_t max);
// Absent -> nullopt. Present but not a finite number -> error.
runtrack::Result<std::optional<double>> GetDouble(const QueryParams& q, std::string_view name);
// true/false, 1/0, yes/no, on/off (case-insensitive), as FastAPI accepts them.
runtrack::Result<std::optional<bool>> GetBool(const QueryParams& q, std::string_view name);
// Comma-separated list; items trimmed, empty items dropped. Absent -> empty.
std::vector<std::string> GetList(const QueryParams& q, std::string_view name);

// Parses "lo,hi" or "lo:hi"; either bound may be empty (open). lo > hi is an error.
runtrack::Result<std::pair<std::optional<int64_t>, std::optional<int64_t>>> ParseStepRange(
    std::string_view text, std::string_view name);

runtrack::Result<int64_t> ParseInt64(std::string_view text);

// The optional ?type= hint of artifact routes: absent or empty -> nullopt; not an artifact type ->
// InvalidArgument "Invalid query parameter 'type': ..." (answered with 422).
runtrack::Result<std::optional<runtrack::ArtifactType>> GetArtifactType(const QueryParams& q);

// The body as a JSON object; "Invalid JSON body" / "JSON body must be an object" otherwise.
runtrack::Result<boost::json::object> ParseJsonObject(std::string_view body);
// ParseJsonObject of a body whose every key is one of `allowed` ("unknown field 'k'" otherwise, as
// Pyruns' models forbid extra fields); an empty body is `{}`.
runtrack::Result<boost::json::object> ParseStrictJsonObject(std::string_view body,
                                                            std::initializer_list<std::string_view> allowed);
// body[key] as a string: absent or null -> "" ("<key> is required" when `required`); another
// type -> "<key> must be a string".
runtrack::Result<std::string> GetString(const boost::json::object& body, std::string_view key, bool required = false);
// body[field] as a list of strings; `required`: missing is an error. At most `max_items`.
runtrack::Result<std::vector<std::string>> GetStringList(const boost::json::object& body,
                                                         std::string_view field, size_t max_items);

}  // namespace runicorn::server
