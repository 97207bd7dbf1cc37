// The fixture's HTTP and WebSocket clients (server_fixture.h, raw_http.h): Beast's client
// templates instantiated once, here, rather than in every test file.
#include <sys/socket.h>
#include <sys/time.h>

#include <cctype>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include "raw_http.h"
#include "server_fixture.h"

namespace runicorn::testing {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;

namespace {

HttpResult ToResult(http::response<http::string_body>& res) {
  HttpResult out;
  out.status = res.result_int();
  out.body = std::move(res.body());
  for (const auto& f : res) {
    std::string name(f.name_string());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.headers[name] = std::string(f.value());
  }
  return out;
}

}  // namespace

struct HttpClient::Connection {
  net::io_context ioc;
  beast::tcp_stream stream{ioc};
};

HttpClient::HttpClient(uint16_t port) : port_(port) {}
HttpClient::~HttpClient() = default;

HttpResult HttpClient::Request(http::verb method, const std::string& target, const std::string& body,
                               const std::map<std::string, std::string>& headers) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    try {
      if (!connection_) {
        connection_ = std::make_unique<Connection>();
        connection_->stream.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port_));
        connection_->stream.expires_never();
      }
      http::request<http::string_body> req(method, target, 11);
      req.set(http::field::host, "127.0.0.1");
      for (const auto& [k, v] : headers) req.set(k, v);
      if (!body.empty() || method == http::verb::post || method == http::verb::put) {
        req.set(http::field::content_type, "application/json");
        req.body() = body;
        req.prepare_payload();
      }
      http::write(connection_->stream, req);
      beast::flat_buffer buffer;
      http::response_parser<http::string_body> parser;
      parser.body_limit(512u << 20);
      if (method == http::verb::head) parser.skip(true);  // no body follows a HEAD response
      http::read(connection_->stream, buffer, parser);
      auto& res = parser.get();
      const bool keep_alive = res.keep_alive();
      HttpResult out = ToResult(res);
      if (!keep_alive) connection_.reset();
      return out;
    } catch (const std::exception&) {
      connection_.reset();
      if (attempt == 1) throw;
    }
  }
  return {};
}

std::string HttpClient::Raw(const std::string& bytes, std::chrono::milliseconds timeout) {
  net::io_context ioc;
  beast::tcp_stream s(ioc);
  s.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port_));
  net::write(s, net::buffer(bytes));
  std::string out;
  char buf[4096];
  s.expires_after(timeout);
  for (;;) {
    beast::error_code ec;
    size_t n = s.read_some(net::buffer(buf), ec);
    out.append(buf, n);
    if (ec) break;
    if (out.find("\r\n\r\n") != std::string::npos) {
      // Enough for a status line + headers; read the body by Content-Length if present.
      size_t cl = out.find("Content-Length: ");
      size_t hdr_end = out.find("\r\n\r\n") + 4;
      if (cl != std::string::npos && cl < hdr_end) {
        size_t len = std::stoul(out.substr(cl + 16));
        if (out.size() >= hdr_end + len) break;
      }
    }
  }
  return out;
}

struct WsClient::Stream {
  net::io_context ioc;
  websocket::stream<beast::tcp_stream> ws{ioc};
};

WsClient::WsClient(uint16_t port, const std::string& target, const std::map<std::string, std::string>& headers)
    : stream_(std::make_unique<Stream>()) {
  auto& ws = stream_->ws;
  beast::get_lowest_layer(ws).connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
  ws.set_option(websocket::stream_base::decorator([headers](websocket::request_type& req) {
    for (const auto& [k, v] : headers) req.set(k, v);
  }));
  websocket::response_type res;
  beast::error_code ec;
  ws.handshake(res, "127.0.0.1", target, ec);
  status = res.result_int();
  if (ec) throw beast::system_error(ec);
}

WsClient::~WsClient() = default;

// Beast's synchronous reads ignore stream timeouts, so this runs an async read for at most `timeout`.
std::optional<std::string> WsClient::Next(std::chrono::milliseconds timeout) {
  if (dead_) return std::nullopt;
  beast::flat_buffer buf;
  bool done = false;
  beast::error_code result;
  beast::get_lowest_layer(stream_->ws).expires_after(timeout);
  stream_->ws.async_read(buf, [&](beast::error_code ec, size_t) {
    done = true;
    result = ec;
  });
  stream_->ioc.restart();
  stream_->ioc.run();
  if (!done || result) {
    last_error = done ? result : beast::error::timeout;
    dead_ = true;  // a timed-out WebSocket read leaves the stream unusable
    return std::nullopt;
  }
  return beast::buffers_to_string(buf.data());
}

void WsClient::Close() {
  beast::error_code ec;
  if (dead_) return;
  beast::get_lowest_layer(stream_->ws).expires_after(std::chrono::seconds(2));
  stream_->ws.close(websocket::close_code::normal, ec);
}

std::string WsClient::close_reason() const { return std::string(stream_->ws.reason().reason.c_str()); }

HttpResult Send(uint16_t port, http::verb method, const std::string& target,
                const std::map<std::string, std::string>& headers, const std::string& body, int timeout_s) {
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
  return ToResult(res);
}

}  // namespace runicorn::testing
