// The request pipeline in front of the handlers, in this order:
//   1. non-/api paths: the web UI's static files (or a small built-in page);
//   2. OPTIONS: CORS preflight (no auth: browsers send preflights without credentials);
//   3. routing: 404 {"detail":"Not Found"} / 405 with Allow;
//   4. rate limit per (route class, client address): 429 + Retry-After;
//   5. bearer token (all routes but /api/health): 401;
//   6. the handler; an exception escaping it is a bug and becomes a 500 without details.
// Every /api/ response gets CORS and X-RateLimit-* headers.
//
// Thread safety: Handle() may be called from any number of threads at once.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "server/app_context.h"
#include "server/auth.h"
#include "server/http_types.h"
#include "server/rate_limiter.h"
#include "server/router.h"
#include "server/streams.h"

namespace runicorn::web {
class StaticFiles;
}

namespace runicorn::server {

struct ApiOptions {
  std::string token;                        // empty: no authentication
  RateLimitConfig rate_limits = RateLimitConfig::Defaults();
  std::string cors_origin = "*";            // Access-Control-Allow-Origin
  std::optional<std::filesystem::path> web_root;  // the web UI's files; unset: built-in page
};

class Api {
 public:
  Api(const AppContext& ctx, ApiOptions options);
  ~Api();

  struct Outcome {
    Response response;                      // the answer, or 101's headers for an upgrade
    std::unique_ptr<StreamSource> stream;   // set: accept the WebSocket and pump this source
  };
  // `raw_target` is the request-target as received; `websocket_upgrade` says whether the request
  // asks for a WebSocket.
  Outcome Handle(Request request, bool websocket_upgrade) const;

  const Router& router() const { return router_; }

 private:
  Response Static(const Request& request) const;
  void Decorate(Response& r, const RateLimiter::Decision* rate) const;

  const AppContext& ctx_;
  ApiOptions options_;
  Router router_;
  TokenAuth auth_;
  mutable RateLimiter limiter_;
  std::unique_ptr<web::StaticFiles> static_files_;
};

}  // namespace runicorn::server
