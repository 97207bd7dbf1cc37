// Request-target parsing: path segments and query string, percent-decoded.
//
// The path is split on '/' BEFORE decoding, so an encoded slash ("..%2F..%2Fetc") stays inside one
// segment and is then rejected by whatever validates that segment (a run id, an artifact name);
// it can never add path components. Decoding errors ("%zz", "%4") are InvalidArgument, not 500s.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "runtrack/status.h"
#include "server/http_types.h"

namespace runicorn::server {

// Decodes %XX escapes; with `plus_is_space` (query strings) '+' becomes ' '.
runtrack::Result<std::string> PercentDecode(std::string_view text, bool plus_is_space);
// Encodes everything but unreserved characters (RFC 3986), for building links and tests.
std::string PercentEncode(std::string_view text);

struct ParsedTarget {
  std::vector<std::string> segments;  // "/api/runs/x" -> {"api", "runs", "x"}; "" segments dropped
                                      // except that a trailing slash is ignored
  QueryParams query;
};

// Fails on a target that is not origin-form ("/..."), on bad escapes and on NUL bytes.
runtrack::Result<ParsedTarget> ParseTarget(std::string_view target);

}  // namespace runicorn::server
