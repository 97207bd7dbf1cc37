// One HTTP request on a fresh connection with full control over the headers (the fixture's
// HttpClient always sets Host and Content-Type): for tests of Host, Origin and Content-Type checks.
#pragma once

#include <sys/socket.h>
#include <sys/time.h>

#include <cctype>
#include <map>
#include <string>

#include "server_fixture.h"

namespace runicorn::testing {

// Host is sent only when `headers` names it. Throws when the server is silent for `timeout_s`.
inline HttpResult Send(uint16_t port, http::verb method, const std::string& target,
                       const std::map<std::string, std::string>& headers, const std::string& body = {},
                       int timeout_s = 5) {
  net::io_context ioc;
  tcp::socket socket(ioc);
  socket.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
  timeval tv{timeout_s, 0};
  ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  http::request<http::string_body> req(method, target, 11);
  for (const auto& [k, v] : headers) req.set(k, v);
  if (!body.empty() || method == http::verb::post) {
    req.body() = body;
    req.prepare_payload();
  }
  http::write(socket, req);
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(socket, buffer, res);
  HttpResult out;
  out.status = res.result_int();
  out.body = res.body();
  for (const auto& f : res) {
    std::string name(f.name_string());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.headers[name] = std::string(f.value());
  }
  return out;
}

}  // namespace runicorn::testing
