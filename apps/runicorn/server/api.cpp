#include "server/api.h"

#include <exception>

#include <fmt/format.h>

#include "server/errors.h"
#include "server/routes.h"
#include "static/static_files.h"

namespace runicorn::server {

namespace {

constexpr std::string_view kBuiltInPage =
    "<!doctype html><html><head><meta charset=\"utf-8\"><title>runicorn viewer</title></head>"
    "<body><h1>runicorn viewer</h1><p>The web UI files were not found (start the viewer with "
    "<code>--web-root DIR</code>). The REST API is served under <a href=\"/api/health\">/api/</a>; "
    "see docs/API.md.</p></body></html>";

bool IsApiPath(const Request& r) { return !r.segments.empty() && r.segments[0] == "api"; }

}  // namespace

Api::Api(const AppContext& ctx, ApiOptions options)
    : ctx_(ctx),
      options_(std::move(options)),
      router_(BuildApiRouter()),
      auth_(options_.token),
      limiter_(options_.rate_limits) {
  if (options_.web_root) static_files_ = std::make_unique<web::StaticFiles>(*options_.web_root);
}

Api::~Api() = default;

void Api::Decorate(Response& r, const RateLimiter::Decision* rate) const {
  r.AddHeader("Access-Control-Allow-Origin", options_.cors_origin);
  r.AddHeader("Access-Control-Expose-Headers",
              "X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, Retry-After, Content-Disposition");
  if (options_.cors_origin != "*") r.AddHeader("Vary", "Origin");
  if (rate != nullptr && rate->limited) {
    r.AddHeader("X-RateLimit-Limit", std::to_string(rate->limit));
    r.AddHeader("X-RateLimit-Remaining", std::to_string(rate->remaining));
    r.AddHeader("X-RateLimit-Reset", std::to_string(rate->reset_seconds));
  }
}

Response Api::Static(const Request& req) const {
  if (req.method != "GET" && req.method != "HEAD") {
    Response r = Response::Error(405, "Method Not Allowed");
    r.AddHeader("Allow", "GET, HEAD");
    return r;
  }
  if (!static_files_) {
    if (req.segments.empty()) return Response::Text(std::string(kBuiltInPage), "text/html; charset=utf-8");
    return Response::Error(404, "Not Found");
  }
  // Asked as a GET even for HEAD: the session drops a HEAD response's body but sends the
  // Content-Length of the body it had, which must be the file's.
  web::StaticResponse s = static_files_->Serve("GET", req.target, req.Header("if-none-match"));
  Response r = Response::Text(std::move(s.body), s.content_type, static_cast<unsigned>(s.status));
  r.AddHeader("Cache-Control", s.cache_control);
  if (!s.etag.empty()) r.AddHeader("ETag", s.etag);
  return r;
}

Api::Outcome Api::Handle(Request req, bool websocket_upgrade) const {
  Outcome out;
  if (!IsApiPath(req)) {
    out.response = Static(req);
    return out;
  }
  if (req.method == "OPTIONS") {
    Response r;
    r.status = 204;
    r.content_type.clear();
    r.AddHeader("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE, OPTIONS");
    r.AddHeader("Access-Control-Allow-Headers", "Authorization, Content-Type");
    r.AddHeader("Access-Control-Max-Age", "600");
    Decorate(r, nullptr);
    out.response = std::move(r);
    return out;
  }

  Router::Match match = router_.Find(req.method, req.segments);
  if (match.kind != Router::Match::kFound) {
    // Unknown routes share the default class, so probing for routes is rate limited too.
    auto rate = limiter_.Check("", req.client_ip);
    if (!rate.allowed) {
      out.response = Response::Error(429, "Rate limit exceeded");
    } else if (match.kind == Router::Match::kMethodNotAllowed) {
      out.response = Response::Error(405, "Method Not Allowed");
      out.response.AddHeader("Allow", match.allow);
    } else {
      out.response = Response::Error(404, "Not Found");
    }
    if (!rate.allowed) out.response.AddHeader("Retry-After", std::to_string(rate.reset_seconds));
    Decorate(out.response, &rate);
    return out;
  }
  const Route& route = *match.route;
  for (auto& [k, v] : match.params) req.path_params[k] = std::move(v);

  auto rate = limiter_.Check(route.rate_class, req.client_ip);
  if (!rate.allowed) {
    boost::json::object body{{"detail", "Rate limit exceeded"}, {"retry_after", rate.reset_seconds}};
    out.response = Response::Json(body, 429);
    out.response.AddHeader("Retry-After", std::to_string(rate.reset_seconds));
    Decorate(out.response, &rate);
    return out;
  }

  if (route.needs_auth && auth_.enabled()) {
    bool ok = auth_.Allows(req.Header("authorization"));
    // Browsers cannot set headers on a WebSocket; those routes also take ?token=.
    if (!ok && route.websocket) {
      if (const std::string* t = req.query.Get("token")) ok = auth_.AllowsToken(*t);
    }
    if (!ok) {
      out.response = Response::Error(401, "Not authenticated");
      out.response.AddHeader("WWW-Authenticate", "Bearer");
      Decorate(out.response, &rate);
      return out;
    }
  }

  try {
    if (route.websocket) {
      if (!websocket_upgrade) {
        out.response = Response::Error(426, "This endpoint is a WebSocket: send an Upgrade request");
        out.response.AddHeader("Upgrade", "websocket");
      } else {
        auto stream = route.stream(ctx_, req);
        if (stream.ok()) {
          out.stream = std::move(*stream);
          out.response.status = 101;
        } else {
          out.response = ErrorResponse(stream.status());
        }
      }
    } else {
      out.response = route.handler(ctx_, req);
    }
  } catch (const std::exception& e) {
    // Handlers return errors as values; reaching this is a bug in the server, not bad input.
    std::fprintf(stderr, "runicorn viewer: handler for %s %s threw: %s\n", req.method.c_str(),
                 route.pattern.c_str(), e.what());
    out.response = Response::Error(500, "Internal Server Error");
    out.stream.reset();
  }
  Decorate(out.response, &rate);
  return out;
}

}  // namespace runicorn::server
