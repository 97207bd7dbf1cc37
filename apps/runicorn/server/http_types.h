// The server's own request/response values: what a handler sees and returns.
//
// Handlers never touch Beast types; the session converts a parsed Beast request into a Request
// (path split into percent-decoded segments, query parsed) and a Response back into Beast's.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/value.hpp>

#include "runtrack/status.h"

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

// A response body produced in pieces (artifact downloads, static files, exports): the session
// pulls it into one buffer of its own, so a response of any size costs bounded memory per
// connection. Used by one session thread at a time.
class BodySource {
 public:
  virtual ~BodySource() = default;
  // The length when known up front (sent as Content-Length), else nullopt (chunked encoding).
  virtual std::optional<uint64_t> size() const = 0;
  // Copies up to `capacity` next bytes into `out`; 0 at the end. An error after the headers were
  // sent ends the connection (the client sees a short body, never a wrong one).
  virtual runtrack::Result<size_t> Read(char* out, size_t capacity) = 0;
};

struct Response {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;                     // the whole body, unless `stream` is set
  std::shared_ptr<BodySource> stream;   // set: the body comes from here instead of `body`
  std::vector<std::pair<std::string, std::string>> headers;

  // Serialises `value` (non-finite doubles must already be null: see json_codec.h).
  static Response Json(const boost::json::value& value, unsigned status = 200);
  // {"detail": "..."} with the given status.
  static Response Error(unsigned status, std::string_view detail);
  static Response Text(std::string body, std::string content_type, unsigned status = 200);
  static Response Stream(std::shared_ptr<BodySource> source, std::string content_type, unsigned status = 200);
  void AddHeader(std::string name, std::string value) { headers.emplace_back(std::move(name), std::move(value)); }
};

}  // namespace runicorn::server
