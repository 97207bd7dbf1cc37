// GET /openapi.json and GET /docs: an OpenAPI 3.1 description generated from the one routing
// table (routes.cpp) and a self-contained page to read and try it (no CDN: the viewer may run
// offline).
//
// Every route of the table appears with its method, its path parameters (from the pattern) and a
// generic response; the route's summary, query parameters and response schema come from a side
// table keyed by "METHOD pattern" (openapi_table.cpp), so routes.cpp stays a plain table. A route
// missing from the side table is still listed, marked undocumented (see UndocumentedRoutes).
//
// Thread safety: pure functions over an immutable router.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include "server/http_types.h"
#include "server/router.h"

namespace runicorn::server {

struct QueryDoc {
  const char* name;
  const char* type;  // JSON schema type: "string", "integer", "number", "boolean"
  const char* description;
  bool required = false;
};

struct RouteDoc {
  const char* key;          // "GET /api/runs/{run_id}"
  const char* summary;
  std::vector<QueryDoc> query;
  const char* response;     // a schema name of components.schemas, or "binary" / "text"
};

// The side table (openapi_table.cpp) and the component schemas it names.
const std::vector<RouteDoc>& RouteDocs();
boost::json::object ComponentSchemas();

// The OpenAPI 3.1 document of `router`'s routes; `version` is the viewer's.
boost::json::object BuildOpenApi(const Router& router, const std::string& version);
// "METHOD pattern" of the routes the side table does not describe.
std::vector<std::string> UndocumentedRoutes(const Router& router);

// GET /openapi.json, GET /docs (and /docs/); nullopt for any other request. `authorized` says
// whether the request may see the route list (false only when a token is set and not sent).
std::optional<Response> ServeApiDocs(const Request& req, const Router& router, bool authorized);

}  // namespace runicorn::server
