#include "server/openapi.h"

#include <map>
#include <string_view>

#include <boost/json.hpp>

#include "service/build_info.h"

namespace runicorn::server {
namespace bj = boost::json;

// The /docs page (openapi_page.cpp).
extern const char kDocsPage[];

namespace {

std::string Key(const Route& r) { return r.method + " " + r.pattern; }

const RouteDoc* FindDoc(const std::string& key) {
  static const std::map<std::string, const RouteDoc*> index = [] {
    std::map<std::string, const RouteDoc*> m;
    for (const auto& d : RouteDocs()) m.emplace(d.key, &d);
    return m;
  }();
  auto it = index.find(key);
  return it == index.end() ? nullptr : it->second;
}

// Path parameters of a pattern in order: "{run_id}", and the parameter of "v{version}".
std::vector<std::string> PathParams(std::string_view pattern) {
  std::vector<std::string> out;
  for (size_t open = pattern.find('{'); open != std::string_view::npos; open = pattern.find('{', open + 1)) {
    size_t close = pattern.find('}', open);
    if (close == std::string_view::npos) break;
    out.emplace_back(pattern.substr(open + 1, close - open - 1));
  }
  return out;
}

bj::object Content(const char* response) {
  std::string_view r = response;
  if (r == "binary") return bj::object{{"application/octet-stream", bj::object{{"schema", bj::object{{"type", "string"}, {"format", "binary"}}}}}};
  if (r == "text") return bj::object{{"text/plain", bj::object{{"schema", bj::object{{"type", "string"}}}}}};
  return bj::object{{"application/json", bj::object{{"schema", bj::object{{"$ref", "#/components/schemas/" + std::string(r)}}}}}};
}

bj::object Operation(const Route& route, const RouteDoc* doc) {
  bj::array params;
  for (const auto& p : PathParams(route.pattern))
    params.push_back(bj::object{{"name", p},
                                {"in", "path"},
                                {"required", true},
                                {"schema", bj::object{{"type", p == "version" ? "integer" : "string"}}}});
  if (doc != nullptr)
    for (const auto& q : doc->query)
      params.push_back(bj::object{{"name", q.name},
                                  {"in", "query"},
                                  {"required", q.required},
                                  {"description", q.description},
                                  {"schema", bj::object{{"type", q.type}}}});
  std::string summary = doc != nullptr ? doc->summary : "(undocumented) " + Key(route);
  std::string tag = route.pattern.size() > 5 ? route.pattern.substr(5, route.pattern.find('/', 5) - 5) : "api";
  bj::object op{{"summary", summary},
                {"operationId", Key(route)},
                {"tags", bj::array{bj::value(tag)}},
                {"parameters", std::move(params)}};
  bj::object responses;
  if (route.websocket) {
    op["description"] = "WebSocket: send an Upgrade request; text frames follow (docs/API.md).";
    responses["101"] = bj::object{{"description", "Switching Protocols"}};
  } else {
    responses["200"] = bj::object{{"description", "OK"}, {"content", Content(doc != nullptr ? doc->response : "Object")}};
  }
  responses["default"] = bj::object{{"description", "Error"}, {"content", Content("Error")}};
  op["responses"] = std::move(responses);
  if (route.method == "POST" || route.method == "PUT" || route.method == "PATCH") {
    const char* type = route.raw_body         ? "application/octet-stream"
                       : route.multipart_body ? "multipart/form-data"
                                              : "application/json";
    bj::object schema{{"type", route.raw_body ? "string" : "object"}};
    bj::object media{{"schema", std::move(schema)}};
    bj::object content;
    content[type] = std::move(media);
    op["requestBody"] = bj::object{{"content", std::move(content)}};
  }
  if (route.needs_auth || route.needs_token_always) op["security"] = bj::array{bj::object{{"bearer", bj::array{}}}};
  return op;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

bj::object BuildOpenApi(const Router& router, const std::string& version) {
  bj::object paths;
  for (const Route& route : router.routes()) {
    bj::value& item = paths[route.pattern];
    if (!item.is_object()) item = bj::object();
    item.as_object()[Lower(route.method)] = Operation(route, FindDoc(Key(route)));
  }
  bj::object components{{"schemas", ComponentSchemas()},
                        {"securitySchemes", bj::object{{"bearer", bj::object{{"type", "http"}, {"scheme", "bearer"}}}}}};
  return bj::object{{"openapi", "3.1.0"},
                    {"info", bj::object{{"title", "runicorn viewer"},
                                        {"version", version},
                                        {"description", "The REST API of `runicorn viewer` (docs/API.md). Generated "
                                                        "from the routing table."}}},
                    {"paths", std::move(paths)},
                    {"components", std::move(components)}};
}

std::vector<std::string> UndocumentedRoutes(const Router& router) {
  std::vector<std::string> out;
  for (const Route& route : router.routes())
    if (FindDoc(Key(route)) == nullptr) out.push_back(Key(route));
  return out;
}

std::optional<Response> ServeApiDocs(const Request& req, const Router& router, bool authorized) {
  const bool json = req.segments.size() == 1 && req.segments[0] == "openapi.json";
  const bool page = (req.segments.size() == 1 || (req.segments.size() == 2 && req.segments[1].empty())) &&
                    req.segments[0] == "docs";
  if (!json && !page) return std::nullopt;
  if (req.method != "GET" && req.method != "HEAD") {
    Response r = Response::Error(405, "Method Not Allowed");
    r.AddHeader("Allow", "GET, HEAD");
    return r;
  }
  if (page) {
    // The page holds no data: it fetches /openapi.json with the tab's token, as the web UI does.
    Response r = Response::Text(kDocsPage, "text/html; charset=utf-8");
    r.AddHeader("Cache-Control", "no-cache");
    return r;
  }
  if (!authorized) {
    // With a token set, which routes exist is not public (as for unknown /api/ routes).
    Response r = Response::Error(401, "Not authenticated");
    r.AddHeader("WWW-Authenticate", "Bearer");
    return r;
  }
  return Response::Json(BuildOpenApi(router, service::RunicornVersion()));
}

}  // namespace runicorn::server
