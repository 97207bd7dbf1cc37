#include "server/v1_envelope.h"

#include <cstdio>
#include <random>

#include <boost/json.hpp>
#include <fmt/format.h>
#include <openssl/rand.h>

#include "server/errors.h"
#include "service/iso_time.h"

namespace runicorn::server {

std::string_view V1ErrorCode(unsigned s) {
  switch (s) {
    case 400: return "INVALID_REQUEST";
    case 401: return "UNAUTHORIZED";
    case 403: return "FORBIDDEN";
    case 404: return "NOT_FOUND";
    case 405: return "METHOD_NOT_ALLOWED";
    case 409: return "CONFLICT";
    case 413: return "PAYLOAD_TOO_LARGE";
    case 415: return "UNSUPPORTED_MEDIA_TYPE";
    case 429: return "TOO_MANY_REQUESTS";
    case 503: return "SERVICE_UNAVAILABLE";
    default: return s >= 500 ? "INTERNAL_ERROR" : "INVALID_REQUEST";
  }
}

std::string NewV1RequestId() {
  unsigned char b[8];
  if (RAND_bytes(b, sizeof b) != 1) {
    // Only a correlation id: without an entropy source, a weaker one still tells requests apart.
    std::random_device rd;
    for (auto& x : b) x = static_cast<unsigned char>(rd());
  }
  std::string out = "req-";
  for (unsigned char c : b) out += fmt::format("{:02x}", c);
  return out;
}

Response V1Error(unsigned http_status, std::string_view message, std::string_view reason, std::string_view field) {
  boost::json::object details;
  details["field"] = field.empty() ? boost::json::value(nullptr) : boost::json::value(field);
  details["reason"] = reason;
  std::string request_id = NewV1RequestId();
  boost::json::object body{
      {"error", boost::json::object{{"code", V1ErrorCode(http_status)}, {"message", message}, {"details", details}}},
      {"timestamp", service::NowIsoUtc()},
      {"request_id", request_id}};
  Response r = Response::Json(body, http_status);
  r.AddHeader("X-Request-Id", std::move(request_id));
  return r;
}

Response V1ErrorFor(const runtrack::Status& status, std::string_view field, std::string_view reason) {
  unsigned http = HttpStatusFor(status.code());
  if (http >= 500 && http != 503) {
    std::fprintf(stderr, "runicorn viewer: /api/v1 server-side error: %s\n", status.message().c_str());
    return V1Error(http, "Internal server error", "internal");
  }
  if (reason.empty()) {
    switch (http) {
      case 404: reason = "not_found"; break;
      case 409: reason = "conflict"; break;
      case 503: reason = "unavailable"; break;
      default: reason = "invalid"; break;
    }
  }
  return V1Error(http, status.message(), reason, field);
}

}  // namespace runicorn::server
