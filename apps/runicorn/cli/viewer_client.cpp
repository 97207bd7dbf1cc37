#include "cli/viewer_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <fmt/format.h>

namespace runicorn::cli {
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;
using runtrack::Result;
using runtrack::Status;
using runtrack::StatusCode;

std::string PercentEncode(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') out.push_back(static_cast<char>(c));
    else out += fmt::format("%{:02X}", c);
  }
  return out;
}

namespace {

std::string Target(const ApiCall& call) {
  std::string target;
  target += call.path;
  for (size_t i = 0; i < call.query.size(); ++i)
    target += fmt::format("{}{}={}", i == 0 ? "?" : "&", PercentEncode(call.query[i].first),
                          PercentEncode(call.query[i].second));
  return target;
}

// A viewer bound to every interface is reached through loopback.
std::string ConnectHost(const std::string& bound) {
  if (bound == "0.0.0.0" || bound.empty()) return "127.0.0.1";
  if (bound == "::") return "::1";
  return bound;
}

}  // namespace

StatusCode StatusCodeForHttp(unsigned s) {
  if (s == 400 || s == 413 || s == 415 || s == 422) return StatusCode::kInvalidArgument;
  if (s == 404) return StatusCode::kNotFound;
  if (s == 409 || s == 401 || s == 403) return StatusCode::kFailedPrecondition;
  if (s == 503) return StatusCode::kBusy;
  return StatusCode::kInternal;
}

Result<std::string> ViewerClient::Send(const ApiCall& call) const {
  try {
    boost::asio::io_context io;
    tcp::resolver resolver(io);
    beast::tcp_stream stream(io);
    stream.expires_after(std::chrono::minutes(10));  // exports of huge runs take a while
    const std::string host = ConnectHost(endpoint_.host);
    stream.connect(resolver.resolve(host, std::to_string(endpoint_.port)));
    http::request<http::string_body> req{http::string_to_verb(call.method), Target(call), 11};
    req.set(http::field::host, fmt::format("{}:{}", host.find(':') != std::string::npos ? "[" + host + "]" : host,
                                           endpoint_.port));
    req.set(http::field::authorization, "Bearer " + endpoint_.token);
    req.set(http::field::user_agent, "runicorn-cli");
    if (!call.body.empty() || call.method == "POST" || call.method == "PUT") {
      req.set(http::field::content_type, "application/json");
      req.body() = call.body;
      req.prepare_payload();
    }
    http::write(stream, req);
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(boost::none);
    http::read(stream, buffer, parser);
    auto res = parser.release();
    beast::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_both, ec);
    const unsigned status = res.result_int();
    if (status >= 200 && status < 300) return std::move(res.body());
    std::string detail = res.body();
    boost::system::error_code jec;
    boost::json::value v = boost::json::parse(res.body(), jec);
    if (!jec && v.is_object())
      if (const auto* d = v.as_object().if_contains("detail"); d && d->is_string()) detail = std::string(d->as_string());
    return Status(StatusCodeForHttp(status), detail);
  } catch (const std::exception& e) {
    return Status::IOError(fmt::format("cannot reach the viewer at {}:{}: {}", endpoint_.host, endpoint_.port, e.what()));
  }
}

}  // namespace runicorn::cli
