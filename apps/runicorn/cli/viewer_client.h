// A minimal synchronous HTTP client for one running viewer (service/viewer_endpoint.h), used by
// CLI commands when that viewer holds the store's catalog. Errors come back as a Status whose code
// is the inverse of the server's Status -> HTTP mapping and whose message is the API's "detail",
// so the CLI prints and exits exactly as it would locally.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "runtrack/status.h"
#include "service/viewer_endpoint.h"

namespace runicorn::cli {

struct ApiCall {
  std::string method;  // GET, POST, PUT, DELETE
  std::string path;    // "/api/runs"
  std::vector<std::pair<std::string, std::string>> query;
  std::string body;    // JSON, for POST/PUT

  static ApiCall Get(std::string path, std::vector<std::pair<std::string, std::string>> query = {}) {
    return {"GET", std::move(path), std::move(query), {}};
  }
};

class ViewerClient {
 public:
  explicit ViewerClient(service::ViewerEndpoint endpoint) : endpoint_(std::move(endpoint)) {}
  // The response body of a 2xx answer; otherwise the error as described above.
  runtrack::Result<std::string> Send(const ApiCall& call) const;
  // A 2xx answer's body handed to `sink` a buffer at a time as it arrives (exports of any size);
  // a sink error stops the transfer and is returned. Other answers as Send.
  using Sink = std::function<runtrack::Status(std::string_view piece)>;
  runtrack::Status SendTo(const ApiCall& call, const Sink& sink) const;

 private:
  service::ViewerEndpoint endpoint_;
};

// RFC 3986 percent-encoding of everything but unreserved characters (for path segments and query
// values built from names).
std::string PercentEncode(std::string_view text);

// 400/413/422 invalid_argument, 404 not_found, 409 failed_precondition, 503 busy, 401/403
// failed_precondition (a credential the viewer no longer accepts), everything else internal.
runtrack::StatusCode StatusCodeForHttp(unsigned http_status);

}  // namespace runicorn::cli
