// The front door of the training service API (/api/v1, docs/API-v1.md). Api::Handle hands every
// /api/v1 request here after its Host, Origin and CORS-preflight checks; the rest of Api's
// pipeline (the viewer's --token, per-address rate limits, {"detail"} errors) is for the other
// APIs. In order:
//   1. authentication: every route but POST /api/v1/login needs "Authorization: Bearer <JWT>"
//      from that login (service/jwt.h) of a user that still exists (service/user_store.h);
//      unknown /api/v1 paths too, so routes cannot be probed without a token: 401;
//   2. per-user rate limits (v1_rate_limits.h; per address without a valid token): 429, with
//      X-RateLimit-Limit / -Remaining / -Reset (unix seconds) on every answer;
//   3. routing: 404 / 405;
//   4. Content-Type of a state-changing request with a body: application/json, except
//      multipart/form-data for POST /api/v1/datasets/upload: 415;
//   5. the handler (handlers_v1.cpp), which finds the user name in req.Param("@user").
// Every error is the v1 envelope (v1_envelope.h).
//
// Why multipart is safe on the upload route although any web page can POST a form without a
// CORS preflight: Api has already refused foreign Origins and cross-site Sec-Fetch-Site, and a
// form cannot carry the Authorization header this route requires.
//
// Thread safety: Handle() may be called from any number of threads at once.
#pragma once

#include <string>

#include "server/app_context.h"
#include "server/http_types.h"
#include "server/router.h"
#include "server/v1_rate_limits.h"

namespace runicorn::server {

// True for /api/v1 and everything below it.
bool IsV1Path(const std::vector<std::string>& segments);

class V1Gate {
 public:
  V1Gate(const AppContext& ctx, const Router& router) : ctx_(ctx), router_(router) {}

  // `client` is the resolved client address (client_address.h), the rate-limit key of requests
  // without a valid token.
  Response Handle(Request request, const std::string& client) const;

 private:
  const AppContext& ctx_;
  const Router& router_;
  mutable V1RateLimiter limiter_;
};

}  // namespace runicorn::server
