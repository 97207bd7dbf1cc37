#include "server/api.h"

#include "server/bodies.h"

#include <cctype>
#include <cstdio>
#include <exception>

#include <fmt/format.h>

#include "server/errors.h"
#include "server/routes.h"
#include "server/openapi.h"
#include "server/v1_envelope.h"
#include "server/websocket_key.h"
#include "static/static_files.h"

namespace runicorn::server {

namespace {

constexpr std::string_view kBuiltInPage =
    "<!doctype html><html><head><meta charset=\"utf-8\"><title>runicorn viewer</title></head>"
    "<body><h1>runicorn viewer</h1><p>The web UI files were not found (start the viewer with "
    "<code>--web-root DIR</code>). The REST API is served under <a href=\"/api/health\">/api/</a>; "
    "see docs/API.md.</p></body></html>";

bool IsApiPath(const Request& r) { return !r.segments.empty() && r.segments[0] == "api"; }

bool IsStateChanging(std::string_view method) {
  return method == "POST" || method == "PUT" || method == "PATCH" || method == "DELETE";
}

// The media type of a Content-Type value, lower-case, without parameters ("; charset=utf-8").
std::string MediaType(std::string_view content_type) {
  content_type = content_type.substr(0, content_type.find(';'));
  while (!content_type.empty() && (content_type.back() == ' ' || content_type.back() == '\t')) content_type.remove_suffix(1);
  while (!content_type.empty() && (content_type.front() == ' ' || content_type.front() == '\t')) content_type.remove_prefix(1);
  std::string out(content_type);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Browsers label every request with where it comes from; a state-changing request that a page of
// another site caused is refused even if the browser sent no Origin.
bool CrossSiteFetch(const Request& r) {
  std::string_view site = r.Header("sec-fetch-site");
  return site == "cross-site" || site == "same-site";
}

// The origin checks' 403, in the /api/v1 error envelope for /api/v1 paths (v1_envelope.h).
Response OriginRefusal(const Request& r, std::string_view message) {
  return IsV1Path(r.segments) ? V1Error(403, message, "origin_refused") : Response::Error(403, message);
}

}  // namespace

Api::Api(const AppContext& ctx, ApiOptions options)
    : ctx_(ctx),
      options_(std::move(options)),
      router_(BuildApiRouter()),
      auth_(options_.token, options_.local_token, options_.ingest_token),
      task_auth_(options_.task_token.empty() ? options_.token : options_.task_token),
      limiter_(options_.rate_limits) {
  if (options_.web_root) static_files_ = std::make_unique<web::StaticFiles>(*options_.web_root);
}

Api::~Api() = default;

void Api::Decorate(Response& r, const RateLimiter::Decision* rate, std::string_view cors_origin) const {
  if (!cors_origin.empty()) {
    r.AddHeader("Access-Control-Allow-Origin", std::string(cors_origin));
    r.AddHeader("Access-Control-Expose-Headers",
                "X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, Retry-After, Content-Disposition");
  }
  // Answers differ by Origin (CORS headers or 403), so caches must not share them across origins.
  r.AddHeader("Vary", "Origin");
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
  web::StaticResponse s =
      static_files_->Serve("GET", req.target, req.Header("if-none-match"), /*read_large_files=*/false);
  Response r = Response::Text(std::move(s.body), s.content_type, static_cast<unsigned>(s.status));
  if (!s.file.empty()) {
    // A large file is streamed from disk (bounded memory per request), not held whole.
    auto body = FileBody::Open(s.file, s.content_length);
    if (!body.ok()) return Response::Error(404, "Not Found");
    r = Response::Stream(std::move(*body), s.content_type, 200);
  }
  r.AddHeader("Cache-Control", s.cache_control);
  if (!s.etag.empty()) r.AddHeader("ETag", s.etag);
  return r;
}

bool Api::IsHeavy(std::string_view method, const std::vector<std::string>& segments) const {
  if (segments.empty() || segments[0] != "api") return false;
  Router::Match match = router_.Find(method, segments);
  return match.kind == Router::Match::kFound && match.route->heavy;
}

Api::Outcome Api::Handle(Request req, bool websocket_upgrade, std::string_view local_ip) const {
  Outcome out;
  switch (options_.origin_policy.CheckHost(req.Header("host"), local_ip)) {
    case OriginPolicy::HostVerdict::kAllowed:
      break;
    case OriginPolicy::HostVerdict::kMissing:
      out.response = Response::Error(400, "Missing Host header");
      return out;
    case OriginPolicy::HostVerdict::kMalformed:
      out.response = Response::Error(400, "Malformed Host header");
      return out;
    case OriginPolicy::HostVerdict::kRefused:
      // DNS rebinding: a page of another site reached us under its own name.
      out.response = Response::Error(
          403, "Host not allowed: use localhost or this server's address, or start the viewer with --allowed-host NAME");
      return out;
  }
  // GET /openapi.json and /docs (openapi.h): generated from this router, beside the static files.
  if (auto docs = ServeApiDocs(req, router_, !auth_.enabled() || auth_.Allows(req.Header("authorization")))) {
    out.response = std::move(*docs);
    return out;
  }
  if (!IsApiPath(req)) {
    out.response = Static(req);
    return out;
  }

  std::string_view cors_origin;
  switch (options_.origin_policy.CheckOrigin(req.Header("origin"), req.Header("host"))) {
    case OriginPolicy::OriginVerdict::kAbsent:
      if (IsStateChanging(req.method) && CrossSiteFetch(req)) {
        out.response = OriginRefusal(req, "Cross-site request refused");
        Decorate(out.response, nullptr, {});
        return out;
      }
      break;
    case OriginPolicy::OriginVerdict::kSameOrigin:
      break;
    case OriginPolicy::OriginVerdict::kAllowListed:
      cors_origin = req.Header("origin");
      break;
    case OriginPolicy::OriginVerdict::kRefused:
      out.response = OriginRefusal(req, "Origin not allowed: start the viewer with --allowed-origin ORIGIN to allow it");
      Decorate(out.response, nullptr, {});
      return out;
  }

  if (req.method == "OPTIONS") {
    Response r;
    r.status = 204;
    r.content_type.clear();
    r.AddHeader("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE, OPTIONS");
    r.AddHeader("Access-Control-Allow-Headers", "Authorization, Content-Type");
    r.AddHeader("Access-Control-Max-Age", "600");
    Decorate(r, nullptr, cors_origin);
    out.response = std::move(r);
    return out;
  }

  const std::string client = options_.client_addresses.Resolve(req.client_ip, req.Header("x-forwarded-for"));
  // The training service API (/api/v1) authenticates with its own users' tokens, limits per user
  // and answers errors in its own envelope (v1_gate.h): it leaves this pipeline here, after the
  // Host, Origin and preflight checks every /api/ request gets.
  if (IsV1Path(req.segments)) {
    out.response = v1_.Handle(std::move(req), client);
    Decorate(out.response, nullptr, cors_origin);
    return out;
  }
  auto authenticated = [&](bool websocket) {
    if (!auth_.enabled() || auth_.Allows(req.Header("authorization"))) return true;
    // Browsers cannot set headers on a WebSocket; those routes also take ?token=.
    const std::string* t = websocket ? req.query.Get("token") : nullptr;
    return t != nullptr && auth_.AllowsToken(*t);
  };
  auto unauthenticated = [](Response& r) {
    r = Response::Error(401, "Not authenticated");
    r.AddHeader("WWW-Authenticate", "Bearer");
  };

  Router::Match match = router_.Find(req.method, req.segments);
  if (match.kind != Router::Match::kFound) {
    // Unknown routes share the default class, so probing for routes is rate limited too.
    auto rate = limiter_.Check("", client);
    if (!rate.allowed) {
      out.response = Response::Error(429, "Rate limit exceeded");
      out.response.AddHeader("Retry-After", std::to_string(rate.reset_seconds));
    } else if (!authenticated(false)) {
      unauthenticated(out.response);  // with a token set, which routes exist is not public either
    } else if (match.kind == Router::Match::kMethodNotAllowed) {
      out.response = Response::Error(405, "Method Not Allowed");
      out.response.AddHeader("Allow", match.allow);
    } else {
      out.response = Response::Error(404, "Not Found");
    }
    Decorate(out.response, &rate, cors_origin);
    return out;
  }
  const Route& route = *match.route;
  for (auto& [k, v] : match.params) req.path_params[k] = std::move(v);

  auto rate = limiter_.Check(route.rate_class, client);
  if (!rate.allowed) {
    boost::json::object body{{"detail", "Rate limit exceeded"}, {"retry_after", rate.reset_seconds}};
    out.response = Response::Json(body, 429);
    out.response.AddHeader("Retry-After", std::to_string(rate.reset_seconds));
    Decorate(out.response, &rate, cors_origin);
    return out;
  }

  if (route.needs_auth && !(route.ingest_scope ? auth_.AllowsIngest(req.Header("authorization"))
                                               : authenticated(route.websocket))) {
    unauthenticated(out.response);
    Decorate(out.response, &rate, cors_origin);
    return out;
  }

  // Routes marked raw_body take application/octet-stream (journal shipping: see router.h).
  const bool raw_ok = (route.raw_body && MediaType(req.Header("content-type")) == "application/octet-stream") ||
                      (route.multipart_body && MediaType(req.Header("content-type")) == "multipart/form-data");
  // Task routes run commands: a page that slipped past the Host/Origin checks still lacks the token.
  if (route.needs_token_always) {
    const std::string* t = route.websocket ? req.query.Get("token") : nullptr;
    bool ok = task_auth_.enabled() &&
              (task_auth_.Allows(req.Header("authorization")) || (t != nullptr && task_auth_.AllowsToken(*t)));
    if (!ok) {
      out.response = Response::Error(401, "Task routes need the viewer's task token (printed at start): "
                                          "send Authorization: Bearer TOKEN");
      out.response.AddHeader("WWW-Authenticate", "Bearer");
      Decorate(out.response, &rate, cors_origin);
      return out;
    }
  }

  if (IsStateChanging(req.method) && (!req.body.empty() || !req.Header("content-type").empty()) && !raw_ok &&
      MediaType(req.Header("content-type")) != "application/json") {
    out.response = Response::Error(415, "Content-Type must be application/json");
    Decorate(out.response, &rate, cors_origin);
    return out;
  }

  try {
    if (route.websocket) {
      if (!websocket_upgrade) {
        out.response = Response::Error(426, "This endpoint is a WebSocket: send an Upgrade request");
        out.response.AddHeader("Upgrade", "websocket");
      } else if (!IsValidWebSocketKey(req.Header("sec-websocket-key"))) {
        out.response = Response::Error(400, "Malformed Sec-WebSocket-Key: it must be 16 bytes in base64");
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
  Decorate(out.response, &rate, cors_origin);
  return out;
}

}  // namespace runicorn::server
