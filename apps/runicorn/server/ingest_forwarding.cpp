#include "server/ingest_forwarding.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>

#include "runtrack/validation.h"
#include "server/deadline_io.h"

namespace runicorn::server {
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;
using runtrack::Result;
using runtrack::Status;

Response ForwardUnavailable(std::string detail) {
  Response r = Response::Error(503, detail);
  r.AddHeader("Retry-After", "1");
  return r;
}

bool IsHopByHopHeader(const std::string& name) {
  return name == "connection" || name == "keep-alive" || name == "transfer-encoding" || name == "te" ||
         name == "trailer" || name == "upgrade" || name == "proxy-authorization" || name == "proxy-connection" ||
         name == "host" || name == "content-length" || name == kForwardedByHeader;
}

Result<ReplicaAddress> ParseReplicaUrl(std::string_view url) {
  auto bad = [&](const char* why) {
    return Status::InvalidArgument(
        fmt::format("--replica-url '{}': {} (expected http://HOST:PORT, the address other replicas reach this one at)",
                    url.substr(0, 200), why));
  };
  constexpr std::string_view kScheme = "http://";
  if (url.substr(0, kScheme.size()) != kScheme) return bad("only http:// is supported");
  std::string_view rest = url.substr(kScheme.size());
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  if (rest.find_first_of("/?#@ ") != std::string_view::npos) return bad("no path, query, user or spaces allowed");
  ReplicaAddress a;
  std::string_view port;
  if (!rest.empty() && rest.front() == '[') {
    size_t close = rest.find(']');
    if (close == std::string_view::npos || close + 1 >= rest.size() || rest[close + 1] != ':')
      return bad("an IPv6 address needs brackets and a port");
    a.host = std::string(rest.substr(1, close - 1));
    port = rest.substr(close + 2);
  } else {
    size_t colon = rest.rfind(':');
    if (colon == std::string_view::npos) return bad("the port is missing");
    a.host = std::string(rest.substr(0, colon));
    port = rest.substr(colon + 1);
  }
  if (a.host.empty()) return bad("the host is missing");
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string_view::npos ||
      std::stoul(std::string(port)) == 0 || std::stoul(std::string(port)) > 65535)
    return bad("the port must be a number in [1, 65535]");
  a.port = std::string(port);
  return a;
}

// One kept-alive connection to an owner.
class IngestForwarding::Connection {
 public:
  Connection() : stream(io) {}
  boost::asio::io_context io;
  beast::tcp_stream stream;
  beast::flat_buffer buffer;
};

IngestForwarding::IngestForwarding(std::shared_ptr<service::RunOwnership> ownership,
                                   IngestForwardingOptions options)
    : ownership_(std::move(ownership)), options_(options) {}

IngestForwarding::~IngestForwarding() = default;

std::optional<Response> IngestForwarding::Route(const Request& req, const std::string& run_id) const {
  if (!runtrack::ValidateRunId(run_id).ok()) return std::nullopt;  // refused locally, as always
  auto owner = ownership_->Claim(run_id);
  if (!owner.ok()) return ForwardUnavailable(owner.status().message());
  if (owner->here) return std::nullopt;
  if (std::string_view by = req.Header(kForwardedByHeader); !by.empty())
    return ForwardUnavailable(fmt::format("run {} was forwarded here by replica {}, but replica {} {} now; retry", run_id,
                                          by.substr(0, 200), owner->replica_id,
                                          owner->unclaimed ? "is the one its bucket belongs to" : "owns it"));
  if (in_flight_.fetch_add(1) >= options_.max_in_flight) {
    in_flight_.fetch_sub(1);
    return ForwardUnavailable(fmt::format("run {} is owned by replica {}, and this replica is already forwarding as many "
                                   "requests as it may; retry",
                                   run_id, owner->replica_id));
  }
  std::string failure;
  std::optional<Response> answer = Forward(req, *owner, failure);
  in_flight_.fetch_sub(1);
  if (answer) {
    ownership_->NoteReachable(owner->replica_id);
    return answer;
  }
  unanswered_.fetch_add(1);
  if (owner->unclaimed) {
    // Nobody holds the bucket and its replica did not answer: take it here (see the header). Not
    // forwarded anywhere else, so no loop; a holder that appeared meanwhile keeps it.
    auto taken = ownership_->ClaimInsteadOf(run_id, owner->replica_id, options_.remember_unreachable);
    if (taken.ok() && taken->here) return std::nullopt;
  }
  return ForwardUnavailable(fmt::format("run {} {} replica {} at {}, which does not answer ({}); retry later", run_id,
                                        owner->unclaimed ? "belongs to" : "is owned by", owner->replica_id, owner->url,
                                        failure));
}

std::optional<Response> IngestForwarding::Forward(const Request& req, const service::RunOwner& owner,
                                                  std::string& failure) const {
  auto address = ParseReplicaUrl(owner.url);
  if (!address.ok()) {
    failure = fmt::format("it registered an unusable address: {}", address.status().message());
    return std::nullopt;
  }
  http::request<http::string_body> out{http::string_to_verb(req.method), req.target, 11};
  for (const auto& [name, value] : req.headers)
    if (!IsHopByHopHeader(name)) out.set(name, value);
  const bool v6 = address->host.find(':') != std::string::npos;
  out.set(http::field::host, fmt::format("{}{}{}:{}", v6 ? "[" : "", address->host, v6 ? "]" : "", address->port));
  out.set(kForwardedByHeader, ownership_->replica_id());
  // As a reverse proxy does: the owner keys its rate limits on the writer, not on this replica,
  // when it lists the replicas as --trusted-proxy (client_address.h).
  if (!req.client_ip.empty()) {
    std::string chain(req.Header("x-forwarded-for"));
    out.set("x-forwarded-for", chain.empty() ? req.client_ip : chain + ", " + req.client_ip);
  }
  out.keep_alive(true);
  out.body() = req.body;
  out.prepare_payload();

  // An idle kept-alive connection may have been closed by the owner meanwhile: then once more on a
  // fresh one. Resending is safe: an ingest at an offset is idempotent (the owner compares the
  // overlap), so a request the owner applied before the connection broke is applied once.
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::unique_ptr<Connection> conn = attempt == 0 ? TakeIdle(owner.url) : nullptr;
    const bool reused = conn != nullptr;
    beast::error_code ec;
    if (!conn) {
      conn = std::make_unique<Connection>();
      tcp::resolver resolver(conn->io);
      auto endpoints = resolver.resolve(address->host, address->port, ec);
      if (!ec) {
        conn->stream.expires_after(options_.connect_timeout);
        ec = RunWithDeadline(conn->io, [&](auto handler) { conn->stream.async_connect(endpoints, std::move(handler)); });
      }
      if (ec) {
        failure = ec.message();
        break;
      }
    }
    // With deadlines (deadline_io.h): a replica that accepted the connection and never answers
    // (hung) is given up after request_timeout, not waited for forever.
    conn->stream.expires_after(options_.request_timeout);
    ec = RunWithDeadline(conn->io, [&](auto handler) { http::async_write(conn->stream, out, std::move(handler)); });
    http::response_parser<http::string_body> parser;
    parser.body_limit(options_.max_answer_bytes);
    if (!ec)
      ec = RunWithDeadline(conn->io,
                           [&](auto handler) { http::async_read(conn->stream, conn->buffer, parser, std::move(handler)); });
    if (ec) {
      failure = ec.message();
      if (reused) continue;
      break;
    }
    auto& answer = parser.get();
    Response r;
    r.status = answer.result_int();
    r.content_type = std::string(answer[http::field::content_type]);
    r.body = std::move(answer.body());
    if (auto retry = answer[http::field::retry_after]; !retry.empty()) r.AddHeader("Retry-After", std::string(retry));
    if (answer.keep_alive()) GiveBack(owner.url, std::move(conn));
    forwarded_.fetch_add(1);
    return r;
  }
  return std::nullopt;
}

std::unique_ptr<IngestForwarding::Connection> IngestForwarding::TakeIdle(const std::string& url) const {
  std::lock_guard lock(mu_);
  for (auto it = idle_.begin(); it != idle_.end(); ++it)
    if (it->first == url) {
      auto conn = std::move(it->second);
      idle_.erase(it);
      return conn;
    }
  return nullptr;
}

void IngestForwarding::GiveBack(const std::string& url, std::unique_ptr<Connection> conn) const {
  std::lock_guard lock(mu_);
  size_t same = 0;
  for (const auto& [u, c] : idle_) same += u == url;
  if (same < options_.idle_connections_per_owner) idle_.emplace_back(url, std::move(conn));
}

}  // namespace runicorn::server
