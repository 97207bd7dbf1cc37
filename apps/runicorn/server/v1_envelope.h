// The training service API's (/api/v1, docs/API-v1.md) error body, used by every /api/v1 answer
// that is not a success (the other APIs keep {"detail": ...}):
//
//   {"error": {"code": "INVALID_REQUEST", "message": "...",
//              "details": {"field": "prompt" | null, "reason": "required"}},
//    "timestamp": "2023-03-08T16:00:00Z", "request_id": "req-<16 hex>"}
//
// Codes by HTTP status: 400 INVALID_REQUEST, 401 UNAUTHORIZED, 403 FORBIDDEN, 404 NOT_FOUND,
// 409 CONFLICT, 429 TOO_MANY_REQUESTS, 500 INTERNAL_ERROR, 503 SERVICE_UNAVAILABLE; statuses the
// seed does not list keep their own: 405 METHOD_NOT_ALLOWED, 413 PAYLOAD_TOO_LARGE,
// 415 UNSUPPORTED_MEDIA_TYPE. The request id is also sent as the X-Request-Id header.
//
// Thread safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "runtrack/status.h"
#include "server/http_types.h"

namespace runicorn::server {

std::string_view V1ErrorCode(unsigned http_status);
// "req-" + 16 random hex digits.
std::string NewV1RequestId();

// `field` empty: "field": null.
Response V1Error(unsigned http_status, std::string_view message, std::string_view reason,
                 std::string_view field = {});
// Maps the Status like ErrorResponse (errors.h) does; server-side faults (I/O, corruption,
// internal) are logged to stderr and answered with a generic message, never their details.
Response V1ErrorFor(const runtrack::Status& status, std::string_view field = {}, std::string_view reason = {});

}  // namespace runicorn::server
