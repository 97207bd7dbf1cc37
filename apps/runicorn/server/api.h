// The request pipeline in front of the handlers, in this order:
//   1. Host: missing 400, malformed 400, not a loopback/local/configured name 403 (DNS rebinding);
//   2. non-/api paths: the web UI's static files (or a small built-in page);
//   3. Origin: a browser request from a page that is neither this server's origin nor allow-listed
//      is 403 — for every method, WebSocket upgrades included (browsers apply no CORS to those);
//      a state-changing request (POST/PUT/PATCH/DELETE) with Sec-Fetch-Site cross-site/same-site
//      and no Origin is 403 as well;
//   4. OPTIONS: CORS preflight (no auth: browsers send preflights without credentials);
//   5. routing: 404 {"detail":"Not Found"} / 405 with Allow — but 401 first when a token is set
//      and the request lacks it, so unknown routes cannot be probed without the token;
//   6. rate limit per (route class, client address — see client_address.h): 429 + Retry-After;
//   7. bearer token (all routes but /api/health): 401;
//   8. a state-changing request with a body must say Content-Type: application/json: 415
//      (a form or text/plain POST, the kind any page can send without a preflight, never reaches
//      a handler); a WebSocket upgrade must carry a well-formed Sec-WebSocket-Key: 400;
//   9. the handler; an exception escaping it is a bug and becomes a 500 without details.
// Every /api/ response gets X-RateLimit-* headers; CORS headers only for allow-listed origins.
//
// Thread safety: Handle() may be called from any number of threads at once.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "server/app_context.h"
#include "server/auth.h"
#include "server/client_address.h"
#include "server/http_types.h"
#include "server/origin_policy.h"
#include "server/rate_limiter.h"
#include "server/router.h"
#include "server/streams.h"
#include "server/v1_gate.h"

namespace runicorn::web {
class StaticFiles;
}

namespace runicorn::server {

struct ApiOptions {
  std::string token;                        // empty: no authentication
  std::string local_token;                  // also accepted when `token` is set (local CLI)
  // Journal shipping only (PUT /api/ingest): accepted there beside `token`, refused elsewhere.
  // Set, it makes ingest need a token even when `token` is empty.
  std::string ingest_token;
  // Required by routes with needs_token_always (the task routes) even when `token` is empty; the
  // viewer makes one per start. Empty: those routes accept only `token`, and without one, nothing.
  std::string task_token;
  RateLimitConfig rate_limits = RateLimitConfig::Defaults();
  OriginPolicy origin_policy;               // default: loopback Host names, no cross-origin access
  ClientAddressResolver client_addresses;   // default: rate limits keyed on the peer address
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
  // `websocket_upgrade` says whether the request asks for a WebSocket; `local_ip` is the address
  // the connection arrived at (a Host naming it is accepted; empty: unknown).
  Outcome Handle(Request request, bool websocket_upgrade, std::string_view local_ip = {}) const;
  // Whether the request goes to a route marked heavy (router.h): the server then calls Handle on
  // its worker pool instead of an I/O thread.
  bool IsHeavy(std::string_view method, const std::vector<std::string>& segments) const;

  const Router& router() const { return router_; }

 private:
  Response Static(const Request& request) const;
  // `cors_origin`: the request's Origin when it is allow-listed (it then gets CORS headers).
  void Decorate(Response& r, const RateLimiter::Decision* rate, std::string_view cors_origin) const;

  const AppContext& ctx_;
  ApiOptions options_;
  Router router_;
  // /api/v1 (training service API): its own tokens, per-user limits and error envelope.
  V1Gate v1_{ctx_, router_};
  TokenAuth auth_;
  TokenAuth task_auth_;
  mutable RateLimiter limiter_;
  std::unique_ptr<web::StaticFiles> static_files_;
};

}  // namespace runicorn::server
