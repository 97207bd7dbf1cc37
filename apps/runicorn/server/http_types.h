// The server's own request/response values: what a handler sees and returns.
//
// Handlers never touch Beast types; the session converts a parsed Beast request into a Request
// (path split into percent-decoded segments, query parsed) and a Response back into Beast's.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/value.hpp>

namespace runicorn::server {

// Query parameters in arrival order; a repeated key keeps every value (Get returns the first).
class QueryParams {
 public:
  void Add(std::string key, std::string value) { items_.emplace_back(std::move(key), std::move(value)); }
  const std::string* Get(std::string_view key) const {
    for (const auto& [k, v] : items_)
      if (k == key) return &v;
    return nullptr;
  }
  bool Has(std::string_view key) const { return Get(key) != nullptr; }
  const std::vector<std::pair<std::string, std::string>>& items() const { return items_; }

 private:
  std::vector<std::pair<std::string, std::string>> items_;
};

struct Request {
  std::string method;                  // "GET", "POST", ...
  std::string target;                  // as received, e.g. "/api/runs?x=1"
  std::vector<std::string> segments;   // path split on '/', each percent-decoded
  QueryParams query;
  std::map<std::string, std::string> path_params;  // filled by the router
  std::map<std::string, std::string> headers;      // lower-case names
  std::string body;
  std::string client_ip;

  const std::string& Param(const std::string& name) const {
    static const std::string kEmpty;
    auto it = path_params.find(name);
    return it == path_params.end() ? kEmpty : it->second;
  }
  std::string_view Header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string_view() : std::string_view(it->second);
  }
};

struct Response {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;

  // Serialises `value` (non-finite doubles must already be null: see json_codec.h).
  static Response Json(const boost::json::value& value, unsigned status = 200);
  // {"detail": "..."} with the given status.
  static Response Error(unsigned status, std::string_view detail);
  static Response Text(std::string body, std::string content_type, unsigned status = 200);
  void AddHeader(std::string name, std::string value) { headers.emplace_back(std::move(name), std::move(value)); }
};

}  // namespace runicorn::server
