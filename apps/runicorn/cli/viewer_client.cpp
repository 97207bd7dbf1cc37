#include "cli/viewer_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <fmt/format.h>
#include "runtrack/json_parse.h"

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

namespace {

// One request to the viewer: connects, sends, reads the header; the caller reads the body.
class Exchange {
 public:
  Exchange(const service::ViewerEndpoint& endpoint, const ApiCall& call) : stream_(io_) {
    stream_.expires_after(std::chrono::minutes(10));  // exports of huge runs take a while
    const std::string host = ConnectHost(endpoint.host);
    tcp::resolver resolver(io_);
    stream_.connect(resolver.resolve(host, std::to_string(endpoint.port)));
    http::request<http::string_body> req{http::string_to_verb(call.method), Target(call), 11};
    req.set(http::field::host, fmt::format("{}:{}", host.find(':') != std::string::npos ? "[" + host + "]" : host,
                                           endpoint.port));
    req.set(http::field::authorization, "Bearer " + endpoint.token);
    req.set(http::field::user_agent, "runicorn-cli");
    if (!call.body.empty() || call.method == "POST" || call.method == "PUT") {
      req.set(http::field::content_type, "application/json");
      req.body() = call.body;
      req.prepare_payload();
    }
    http::write(stream_, req);
    http::read_header(stream_, buffer_, header_);
  }
  ~Exchange() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
  }

  unsigned status() const { return header_.get().result_int(); }

  // The whole body (answers that are not streamed: JSON bodies and errors).
  std::string ReadBody() {
    http::response_parser<http::string_body> parser(std::move(header_));
    parser.body_limit(boost::none);
    http::read(stream_, buffer_, parser);
    return std::move(parser.get().body());
  }

  // The body a buffer at a time.
  Status ReadBodyTo(const ViewerClient::Sink& sink) {
    http::response_parser<http::buffer_body> parser(std::move(header_));
    parser.body_limit(boost::none);
    char piece[64 * 1024];
    while (!parser.is_done()) {
      parser.get().body().data = piece;
      parser.get().body().size = sizeof piece;
      beast::error_code ec;
      http::read(stream_, buffer_, parser, ec);
      if (ec && ec != http::error::need_buffer)
        return Status::IOError(fmt::format("the viewer's answer was cut short: {}", ec.message()));
      const size_t n = sizeof piece - parser.get().body().size;
      if (n != 0) RUNTRACK_RETURN_IF_ERROR(sink(std::string_view(piece, n)));
    }
    return Status::Ok();
  }

 private:
  boost::asio::io_context io_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  http::response_parser<http::empty_body> header_;
};

// The API's error body {"detail": ...} as a Status.
Status ErrorFor(unsigned status, const std::string& body) {
  std::string detail = body;
  boost::system::error_code jec;
  boost::json::value v = runtrack::ParseJson(body, jec);
  if (!jec && v.is_object())
    if (const auto* d = v.as_object().if_contains("detail"); d && d->is_string()) detail = std::string(d->as_string());
  return Status(StatusCodeForHttp(status), detail);
}

}  // namespace

Result<std::string> ViewerClient::Send(const ApiCall& call) const {
  try {
    Exchange exchange(endpoint_, call);
    const unsigned status = exchange.status();
    std::string body = exchange.ReadBody();
    if (status >= 200 && status < 300) return body;
    return ErrorFor(status, body);
  } catch (const std::exception& e) {
    return Status::IOError(fmt::format("cannot reach the viewer at {}:{}: {}", endpoint_.host, endpoint_.port, e.what()));
  }
}

Status ViewerClient::SendTo(const ApiCall& call, const Sink& sink) const {
  try {
    Exchange exchange(endpoint_, call);
    const unsigned status = exchange.status();
    if (status >= 200 && status < 300) return exchange.ReadBodyTo(sink);
    return ErrorFor(status, exchange.ReadBody());
  } catch (const std::exception& e) {
    return Status::IOError(fmt::format("cannot reach the viewer at {}:{}: {}", endpoint_.host, endpoint_.port, e.what()));
  }
}

}  // namespace runicorn::cli
