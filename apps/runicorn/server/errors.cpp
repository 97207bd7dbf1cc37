#include "server/errors.h"

namespace runicorn::server {

unsigned HttpStatusFor(runtrack::StatusCode code) {
  using runtrack::StatusCode;
  switch (code) {
    case StatusCode::kOk: return 200;
    case StatusCode::kInvalidArgument: return 400;
    case StatusCode::kNotFound: return 404;
    case StatusCode::kAlreadyExists: return 409;
    case StatusCode::kFailedPrecondition: return 409;
    case StatusCode::kBusy: return 503;
    case StatusCode::kIOError:
    case StatusCode::kCorruption:
    case StatusCode::kInternal: return 500;
  }
  return 500;
}

Response ErrorResponse(const runtrack::Status& status) {
  return Response::Error(HttpStatusFor(status.code()), status.message());
}

}  // namespace runicorn::server
