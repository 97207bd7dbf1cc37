// The one place a libruntrack Status becomes an HTTP status.
#pragma once

#include "runtrack/status.h"
#include "server/http_types.h"

namespace runicorn::server {

// invalid_argument 400, not_found 404, already_exists 409, failed_precondition 409, busy 503,
// io_error / corruption / internal 500 (those are server-side faults, never bad input).
unsigned HttpStatusFor(runtrack::StatusCode code);
// {"detail": status.message()} with HttpStatusFor(status.code()).
Response ErrorResponse(const runtrack::Status& status);

}  // namespace runicorn::server

// Handler helpers: return the mapped error response when `expr` fails.
#define RUNICORN_ASSIGN_OR_RESPOND(lhs, expr)                                         \
  RUNICORN_ASSIGN_OR_RESPOND_IMPL(RUNTRACK_CONCAT(_rn_result_, __LINE__), lhs, expr, \
                                  ::runicorn::server::ErrorResponse(tmp_.status()))
// For query parameters: 422 (FastAPI's status for a parameter that fails validation).
#define RUNICORN_ASSIGN_PARAM_OR_422(lhs, expr)                                       \
  RUNICORN_ASSIGN_OR_RESPOND_IMPL(RUNTRACK_CONCAT(_rn_result_, __LINE__), lhs, expr, \
                                  ::runicorn::server::Response::Error(422, tmp_.status().message()))
#define RUNICORN_ASSIGN_OR_RESPOND_IMPL(tmp, lhs, expr, response) \
  auto tmp = (expr);                                              \
  if (!tmp.ok()) {                                                \
    auto& tmp_ = tmp;                                             \
    return response;                                              \
  }                                                               \
  lhs = std::move(tmp).value()
#define RUNICORN_RETURN_IF_ERROR(expr)                                   \
  do {                                                                   \
    ::runtrack::Status _rn_status = (expr);                              \
    if (!_rn_status.ok()) return ::runicorn::server::ErrorResponse(_rn_status); \
  } while (0)
