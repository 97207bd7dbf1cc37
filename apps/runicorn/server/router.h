// The one routing table: (method, path pattern) -> plain handler function.
//
// Patterns are '/'-separated; a segment is a literal ("runs"), a parameter ("{run_id}") or a
// literal prefix plus a parameter ("v{version}"). When several routes match a path, the one with
// the most literal characters wins, so "/api/artifacts/{name}/versions" beats
// "/api/artifacts/{name}/v{version}" for ".../versions". A path that matches some route but not
// with this method is 405 (with Allow), a path that matches nothing is 404.
//
// Thread safety: build the table before the server starts; Match() is then read-only.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "server/http_types.h"
#include "server/streams.h"

namespace runicorn::server {

struct AppContext;

using Handler = std::function<Response(const AppContext&, const Request&)>;

struct Route {
  std::string method;
  std::string pattern;
  Handler handler;          // plain HTTP routes
  StreamFactory stream;     // WebSocket routes
  std::string rate_class;   // key into the rate-limit table
  bool needs_auth = true;   // false only for /api/health
  bool websocket = false;   // served after a WebSocket upgrade (see streams.h)
  // Routes that start or change processes (the task runner): they need the viewer's task token
  // even when the viewer runs without --token (api.cpp).
  bool needs_token_always = false;
  // Accepts an application/octet-stream body instead of JSON (journal shipping only). Safe from
  // cross-site forgery: a browser sends that type cross-origin only after a CORS preflight, which
  // the origin policy answers for allow-listed origins only, and the route still needs the token.
  bool raw_body = false;
  // A query whose cost grows with the data (metric reads, exports): served on the server's worker
  // pool instead of an I/O thread, so it cannot hold up /api/health or other connections
  // (http_server.h, ServerOptions::heavy_threads).
  bool heavy = false;
  // Journal shipping's ingest route: authorised by a token with the ingest scope (the viewer's
  // token or its ingest token, TokenAuth::AllowsIngest) instead of the read token check.
  bool ingest_scope = false;
  // Accepts a multipart/form-data body instead of JSON (archive upload only). A page on another
  // site can send that type without a preflight, so this relies on the origin policy refusing
  // cross-site Origins (origin_policy.h) and on the token when one is set.
  bool multipart_body = false;
};

class Router {
 public:
  void Add(Route route);

  struct Match {
    enum Kind { kFound, kNotFound, kMethodNotAllowed } kind = kNotFound;
    const Route* route = nullptr;
    std::vector<std::pair<std::string, std::string>> params;
    std::string allow;  // for 405: "GET, POST"
  };
  Match Find(std::string_view method, const std::vector<std::string>& segments) const;

  const std::vector<Route>& routes() const { return routes_; }

 private:
  struct Segment {
    std::string literal;  // whole literal, or the prefix before a parameter
    std::string param;    // empty for a pure literal
  };
  struct Compiled {
    std::vector<Segment> segments;
    size_t literal_chars = 0;
  };
  static bool MatchOne(const Compiled& c, const std::vector<std::string>& segments,
                       std::vector<std::pair<std::string, std::string>>* params);

  std::vector<Route> routes_;
  std::vector<Compiled> compiled_;
};

}  // namespace runicorn::server
