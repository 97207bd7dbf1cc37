#include "server/v1_gate.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <exception>

#include "server/v1_envelope.h"
#include "service/jwt.h"
#include "service/user_store.h"

namespace runicorn::server {

namespace {

bool IsStateChanging(std::string_view method) {
  return method == "POST" || method == "PUT" || method == "PATCH" || method == "DELETE";
}

std::string MediaType(std::string_view content_type) {
  content_type = content_type.substr(0, content_type.find(';'));
  while (!content_type.empty() && (content_type.back() == ' ' || content_type.back() == '\t')) content_type.remove_suffix(1);
  while (!content_type.empty() && (content_type.front() == ' ' || content_type.front() == '\t')) content_type.remove_prefix(1);
  std::string out(content_type);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

int64_t NowUnix() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

void AddRateHeaders(Response& r, const V1RateLimiter::Decision& d) {
  r.AddHeader("X-RateLimit-Limit", std::to_string(d.limit));
  r.AddHeader("X-RateLimit-Remaining", std::to_string(d.remaining));
  r.AddHeader("X-RateLimit-Reset", std::to_string(d.reset_at));
}

// The user a bearer token names, or the envelope to answer with.
struct AuthOutcome {
  std::string user;
  std::optional<Response> refusal;
};

AuthOutcome Authenticate(const AppContext& ctx, std::string_view authorization) {
  auto refuse = [](std::string_view message, std::string_view reason) {
    Response r = V1Error(401, message, reason);
    r.AddHeader("WWW-Authenticate", "Bearer");
    return AuthOutcome{{}, std::move(r)};
  };
  if (authorization.empty()) return refuse("Missing bearer token: log in with POST /api/v1/login", "missing_token");
  if (authorization.size() < 7 || MediaType(authorization.substr(0, 6)) != "bearer" || authorization[6] != ' ')
    return refuse("Authorization must be 'Bearer <token>'", "invalid_token");
  std::string_view token = authorization.substr(7);
  auto issuer = service::TokenIssuer::Open(*ctx.services->users);
  if (!issuer.ok()) return {{}, V1ErrorFor(issuer.status())};
  auto claims = issuer->Verify(token, NowUnix());
  if (!claims.ok()) {
    const std::string& m = claims.status().message();
    return refuse("Invalid token: " + m, m == "token expired" ? "token_expired" : "invalid_token");
  }
  auto user = ctx.services->users->Find(claims->sub, claims->uid);
  if (!user.ok()) return {{}, V1ErrorFor(user.status())};
  if (!*user) return refuse("Invalid token: the user no longer exists", "unknown_user");
  return {claims->sub, std::nullopt};
}

}  // namespace

bool IsV1Path(const std::vector<std::string>& segments) {
  return segments.size() >= 2 && segments[0] == "api" && segments[1] == "v1";
}

Response V1Gate::Handle(Request req, const std::string& client) const {
  const V1RateClass rate_class = V1RateClassFor(req.segments);
  Router::Match match = router_.Find(req.method, req.segments);
  const bool open_route = match.kind == Router::Match::kFound && !match.route->needs_auth;

  std::string rate_key = "ip:" + client;
  if (!open_route) {
    AuthOutcome auth = Authenticate(ctx_, req.Header("authorization"));
    if (auth.refusal) {
      // Failed attempts count against the address, so guessing tokens is rate limited too.
      auto d = limiter_.Check(V1RateClass::kOther, rate_key);
      Response r = d.allowed ? std::move(*auth.refusal) : V1Error(429, "Rate limit exceeded", "rate_limited");
      if (!d.allowed) r.AddHeader("Retry-After", std::to_string(d.reset_at - NowUnix()));
      AddRateHeaders(r, d);
      return r;
    }
    rate_key = "user:" + auth.user;
    req.path_params["@user"] = std::move(auth.user);
  }
  auto decision = limiter_.Check(open_route ? V1RateClass::kOther : rate_class, rate_key);
  Response r;
  if (!decision.allowed) {
    r = V1Error(429, "Rate limit exceeded", "rate_limited");
    r.AddHeader("Retry-After", std::to_string(std::max<int64_t>(1, decision.reset_at - NowUnix())));
  } else if (match.kind == Router::Match::kMethodNotAllowed) {
    r = V1Error(405, "Method not allowed", "method_not_allowed");
    r.AddHeader("Allow", match.allow);
  } else if (match.kind == Router::Match::kNotFound) {
    r = V1Error(404, "Not found", "not_found");
  } else {
    const Route& route = *match.route;
    for (auto& [k, v] : match.params) req.path_params[k] = std::move(v);
    const std::string media = MediaType(req.Header("content-type"));
    const bool multipart_route = route.pattern == "/api/v1/datasets/upload";
    const char* wanted = multipart_route ? "multipart/form-data" : "application/json";
    if (IsStateChanging(req.method) && (!req.body.empty() || !req.Header("content-type").empty()) && media != wanted) {
      r = V1Error(415, std::string("Content-Type must be ") + wanted, "unsupported_media_type", "Content-Type");
    } else {
      try {
        r = route.handler(ctx_, req);
      } catch (const std::exception& e) {
        // Handlers return errors as values; reaching this is a bug in the server, not bad input.
        std::fprintf(stderr, "runicorn viewer: handler for %s %s threw: %s\n", req.method.c_str(),
                     route.pattern.c_str(), e.what());
        r = V1Error(500, "Internal server error", "internal");
      }
    }
  }
  AddRateHeaders(r, decision);
  return r;
}

}  // namespace runicorn::server
