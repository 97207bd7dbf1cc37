#include "server/read_forwarding.h"

#include <algorithm>
#include <charconv>
#include <deque>
#include <limits>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>
#include <fmt/format.h>

#include "runtrack/json_parse.h"
#include "runtrack/validation.h"
#include "server/deadline_io.h"
#include "server/ingest_forwarding.h"
#include "server/params.h"
#include "server/stream_following.h"
#include "server/url.h"

namespace runicorn::server {
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using runtrack::Result;
using runtrack::Status;

namespace {

// Headers never copied to the owner: those of one hop, those the forward sets itself, and the
// browser's origin headers, which were checked here (the owner would compare them with its own
// address and refuse).
bool NotForwarded(const std::string& name) {
  return IsHopByHopHeader(name) || name == "x-forwarded-for" || name == "origin" || name.rfind("sec-fetch-", 0) == 0 ||
         name.rfind("sec-websocket-", 0) == 0;
}

// Headers of the owner's answer not relayed: those of its hop, and those this replica's own
// middleware adds to every answer (Server, rate-limit and CORS headers, Vary: Origin).
bool NotRelayed(beast::string_view name) {
  auto is = [&](beast::string_view other) { return beast::iequals(name, other); };
  auto starts = [&](beast::string_view prefix) {
    return name.size() >= prefix.size() && beast::iequals(name.substr(0, prefix.size()), prefix);
  };
  return is("connection") || is("keep-alive") || is("transfer-encoding") || is("content-length") ||
         is("content-type") || is("server") || is("date") || is("vary") || starts("x-ratelimit-") ||
         starts("access-control-");
}

std::string HostHeader(const ReplicaAddress& a) {
  const bool v6 = a.host.find(':') != std::string::npos;
  return fmt::format("{}{}{}:{}", v6 ? "[" : "", a.host, v6 ? "]" : "", a.port);
}

}  // namespace

// One kept-alive connection to an owner, with its own io_context (used by one thread at a time).
struct OwnerConnection {
  explicit OwnerConnection(size_t max_buffer) : stream(io), buffer(max_buffer) {}
  net::io_context io;
  beast::tcp_stream stream;
  beast::flat_buffer buffer;  // its limit is the proxy's cap: more is an error, never growth
};

struct ReadForwarding::Shared {
  explicit Shared(ReadForwardingOptions o) : options(o) {}
  const ReadForwardingOptions options;
  std::atomic<size_t> in_flight{0};
  std::atomic<uint64_t> forwarded{0};
  std::atomic<uint64_t> streams{0};
  std::atomic<size_t> peak_buffer{0};
  std::mutex mu;
  std::vector<std::pair<std::string, std::unique_ptr<OwnerConnection>>> idle;

  void NoteBuffer(size_t bytes) {
    size_t seen = peak_buffer.load();
    while (bytes > seen && !peak_buffer.compare_exchange_weak(seen, bytes)) {
    }
  }
  std::unique_ptr<OwnerConnection> TakeIdle(const std::string& url) {
    std::lock_guard lock(mu);
    for (auto it = idle.begin(); it != idle.end(); ++it)
      if (it->first == url) {
        auto conn = std::move(it->second);
        idle.erase(it);
        return conn;
      }
    return nullptr;
  }
  void GiveBack(const std::string& url, std::unique_ptr<OwnerConnection> conn) {
    std::lock_guard lock(mu);
    size_t same = 0;
    for (const auto& [u, c] : idle) same += u == url;
    if (same < options.idle_connections_per_owner) idle.emplace_back(url, std::move(conn));
  }
};

namespace {

// A slot of Shared::in_flight, held while a forward waits on or relays from an owner.
class InFlight {
 public:
  static std::optional<InFlight> Take(const std::shared_ptr<ReadForwarding::Shared>& s) {
    if (s->in_flight.fetch_add(1) >= s->options.max_in_flight) {
      s->in_flight.fetch_sub(1);
      return std::nullopt;
    }
    return InFlight(s);
  }
  InFlight(InFlight&& o) noexcept : s_(std::move(o.s_)) {}
  InFlight& operator=(InFlight&&) = delete;
  ~InFlight() {
    if (s_) s_->in_flight.fetch_sub(1);
  }

 private:
  explicit InFlight(std::shared_ptr<ReadForwarding::Shared> s) : s_(std::move(s)) {}
  std::shared_ptr<ReadForwarding::Shared> s_;
};

Result<std::unique_ptr<OwnerConnection>> Connect(const ReplicaAddress& address, const ReadForwardingOptions& o) {
  auto conn = std::make_unique<OwnerConnection>(o.max_buffer_bytes);
  beast::error_code ec;
  tcp::resolver resolver(conn->io);
  auto endpoints = resolver.resolve(address.host, address.port, ec);
  if (!ec) {
    conn->stream.expires_after(o.connect_timeout);
    ec = RunWithDeadline(conn->io, [&](auto handler) { conn->stream.async_connect(endpoints, std::move(handler)); });
  }
  if (ec) return Status::IOError(ec.message());
  return conn;
}

// The owner's body, pulled by the session one piece at a time into the session's own buffer.
class OwnerBody final : public BodySource {
 public:
  OwnerBody(std::shared_ptr<ReadForwarding::Shared> shared, InFlight slot, std::string url, std::string owner_label,
            std::unique_ptr<OwnerConnection> conn, std::unique_ptr<http::response_parser<http::buffer_body>> parser)
      : shared_(std::move(shared)),
        slot_(std::move(slot)),
        url_(std::move(url)),
        owner_label_(std::move(owner_label)),
        conn_(std::move(conn)),
        parser_(std::move(parser)) {}

  std::optional<uint64_t> size() const override {
    if (parser_->chunked()) return std::nullopt;
    if (auto length = parser_->content_length()) return *length;
    return std::nullopt;
  }

  Result<size_t> Read(char* out, size_t capacity) override {
    if (!conn_) return size_t{0};
    for (;;) {
      if (parser_->is_done()) {
        if (parser_->keep_alive()) shared_->GiveBack(url_, std::move(conn_));
        conn_.reset();
        return size_t{0};
      }
      auto& body = parser_->get().body();
      body.data = out;
      body.size = capacity;
      conn_->stream.expires_after(shared_->options.read_timeout);
      beast::error_code ec = RunWithDeadline(conn_->io, [&](auto handler) {
        http::async_read_some(conn_->stream, conn_->buffer, *parser_, std::move(handler));
      });
      if (ec == http::error::need_buffer) ec = {};
      shared_->NoteBuffer(conn_->buffer.capacity());
      if (ec) {
        conn_.reset();
        return Status::IOError(fmt::format("{} at {} stopped answering: {}", owner_label_, url_, ec.message()));
      }
      const size_t n = capacity - body.size;
      if (n > 0) return n;
    }
  }

 private:
  std::shared_ptr<ReadForwarding::Shared> shared_;
  InFlight slot_;
  std::string url_;
  std::string owner_label_;
  std::unique_ptr<OwnerConnection> conn_;
  std::unique_ptr<http::response_parser<http::buffer_body>> parser_;
};

// The answer to a forwarded HEAD: the owner's length, and no bytes.
class HeadOnlyBody final : public BodySource {
 public:
  explicit HeadOnlyBody(std::optional<uint64_t> length) : length_(length) {}
  std::optional<uint64_t> size() const override { return length_; }
  Result<size_t> Read(char*, size_t) override { return size_t{0}; }

 private:
  std::optional<uint64_t> length_;
};

// How a forward's failures name what was read and who answers it: "run X is live" / "the run's
// owner" for a live run; a training job's log says so instead (ReadForwarding::ForwardTo).
struct ForwardSubject {
  std::string busy;   // "<subject> on replica R at URL, which does not answer"
  std::string owner;  // "<owner>, replica R, registered an unusable address", "<owner> at URL stopped answering"
};

// Sends `req` to the owner and reads its answer's header; the body stays in the connection.
Response ForwardRead(const std::shared_ptr<ReadForwarding::Shared>& shared, InFlight slot, const Request& req,
                     const service::RunOwner& owner, const std::string& self_id, const ForwardSubject& subject) {
  const ReadForwardingOptions& o = shared->options;
  auto address = ParseReplicaUrl(owner.url);
  if (!address.ok())
    return ForwardUnavailable(fmt::format("{}, replica {}, registered an unusable address: {}", subject.owner,
                                          owner.replica_id, address.status().message()));
  http::request<http::empty_body> out{http::string_to_verb(req.method), req.target, 11};
  for (const auto& [name, value] : req.headers)
    if (!NotForwarded(name)) out.set(name, value);
  out.set(http::field::host, HostHeader(*address));
  out.set(kForwardedByHeader, self_id);
  if (!req.client_ip.empty()) {
    std::string chain(req.Header("x-forwarded-for"));
    out.set("x-forwarded-for", chain.empty() ? req.client_ip : chain + ", " + req.client_ip);
  }
  out.keep_alive(true);

  std::string failure;
  // A kept-alive connection the owner closed meanwhile: once more on a fresh one (a read is
  // idempotent).
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::unique_ptr<OwnerConnection> conn = attempt == 0 ? shared->TakeIdle(owner.url) : nullptr;
    const bool reused = conn != nullptr;
    if (!conn) {
      auto fresh = Connect(*address, o);
      if (!fresh.ok()) {
        failure = fresh.status().message();
        break;
      }
      conn = std::move(*fresh);
    }
    conn->stream.expires_after(o.read_timeout);
    beast::error_code ec =
        RunWithDeadline(conn->io, [&](auto handler) { http::async_write(conn->stream, out, std::move(handler)); });
    auto parser = std::make_unique<http::response_parser<http::buffer_body>>();
    parser->body_limit(boost::none);  // bounded by the buffer, not by a size: bodies stream
    parser->header_limit(static_cast<uint32_t>(std::min<size_t>(o.max_buffer_bytes, 64u << 10)));
    if (req.method == "HEAD") parser->skip(true);
    if (!ec)
      ec = RunWithDeadline(conn->io,
                    [&](auto handler) { http::async_read_header(conn->stream, conn->buffer, *parser, std::move(handler)); });
    shared->NoteBuffer(conn->buffer.capacity());
    if (ec) {
      failure = ec.message();
      if (reused) continue;
      break;
    }
    shared->forwarded.fetch_add(1);
    auto& head = parser->get();
    Response r;
    r.status = head.result_int();
    r.content_type = std::string(head[http::field::content_type]);
    for (const auto& field : head)
      if (!NotRelayed(field.name_string())) r.AddHeader(std::string(field.name_string()), std::string(field.value()));
    if (parser->is_done()) {  // no body (304, HEAD, an empty one): nothing to stream
      if (parser->keep_alive()) shared->GiveBack(owner.url, std::move(conn));
      if (req.method != "HEAD") return r;
      // HEAD: the session would send Content-Length 0 for an empty body; the owner's length (or
      // its chunked encoding) is what a GET would have, so it goes back unchanged.
      std::optional<uint64_t> length;
      if (!head.chunked()) {
        length = 0;
        auto text = head[http::field::content_length];
        std::from_chars(text.data(), text.data() + text.size(), *length);
      }
      Response headers_only = Response::Stream(std::make_shared<HeadOnlyBody>(length), r.content_type, r.status);
      headers_only.headers = std::move(r.headers);
      return headers_only;
    }
    const std::string content_type = r.content_type;
    Response streamed = Response::Stream(
        std::make_shared<OwnerBody>(shared, std::move(slot), owner.url, subject.owner, std::move(conn), std::move(parser)),
        content_type, r.status);
    streamed.headers = std::move(r.headers);
    return streamed;
  }
  return ForwardUnavailable(fmt::format("{} on replica {} at {}, which does not answer ({}); retry later", subject.busy,
                                        owner.replica_id, owner.url, failure));
}

// A WebSocket stream relayed from the owner. Poll runs what the private io_context has ready
// (never blocks): completed reads queue the owner's messages; a read is outstanding only while
// less than kQueueCap bytes wait, so a client that does not take them stops the reads.
class OwnerStream final : public StreamSource {
 public:
  static constexpr size_t kQueueCap = 1u << 20;
  static constexpr size_t kMaxMessage = 4u << 20;  // an owner's poll is at most ~1 MiB (streams.h)

  explicit OwnerStream(std::string owner_id) : ws_(io_), owner_id_(std::move(owner_id)) {}

  Status Open(const ReplicaAddress& address, const Request& req, const std::string& self_id,
              const ReadForwardingOptions& o) {
    beast::error_code ec;
    tcp::resolver resolver(io_);
    auto endpoints = resolver.resolve(address.host, address.port, ec);
    auto& lowest = beast::get_lowest_layer(ws_);
    if (!ec) {
      lowest.expires_after(o.connect_timeout);
      ec = RunWithDeadline(io_, [&](auto handler) { lowest.async_connect(endpoints, std::move(handler)); });
    }
    if (ec) return Status::Busy(fmt::format("cannot reach it ({})", ec.message()));
    std::vector<std::pair<std::string, std::string>> headers;
    for (const auto& [name, value] : req.headers)
      if (!NotForwarded(name)) headers.emplace_back(name, value);
    headers.emplace_back(kForwardedByHeader, self_id);
    if (!req.client_ip.empty()) {
      std::string chain(req.Header("x-forwarded-for"));
      headers.emplace_back("x-forwarded-for", chain.empty() ? req.client_ip : chain + ", " + req.client_ip);
    }
    ws_.set_option(websocket::stream_base::decorator([headers](websocket::request_type& r) {
      for (const auto& [k, v] : headers) r.set(k, v);
    }));
    ws_.read_message_max(kMaxMessage);
    lowest.expires_after(o.read_timeout);
    websocket::response_type res;
    ec = RunWithDeadline(io_, [&](auto handler) { ws_.async_handshake(res, HostHeader(address), req.target, std::move(handler)); });
    if (ec == websocket::error::upgrade_declined) return Refusal(res);
    if (ec) return Status::Busy(fmt::format("its upgrade failed ({})", ec.message()));
    lowest.expires_never();
    return Status::Ok();
  }

  Result<std::vector<std::string>> Poll() override {
    if (!reading_ && !closed_ && queued_ < kQueueCap) Arm();
    io_.restart();
    io_.poll();
    std::vector<std::string> out(std::make_move_iterator(queue_.begin()), std::make_move_iterator(queue_.end()));
    queue_.clear();
    queued_ = 0;
    if (out.empty() && closed_) return end_;
    return out;
  }

 private:
  void Arm() {
    reading_ = true;
    ws_.async_read(buffer_, [this](beast::error_code ec, size_t) {
      reading_ = false;
      if (ec) {
        closed_ = true;
        std::string why = ec == websocket::error::closed ? std::string(ws_.reason().reason.data(), ws_.reason().reason.size()) : ec.message();
        end_ = Status::IOError(fmt::format("the run's owner, replica {}, ended the stream{}{}", owner_id_,
                                           why.empty() ? "" : ": ", why));
        return;
      }
      queue_.push_back(beast::buffers_to_string(buffer_.data()));
      queued_ += queue_.back().size();
      buffer_.consume(buffer_.size());
      if (queued_ < kQueueCap) Arm();
    });
  }

  // The owner refused the upgrade: its status as the Status the local factory would have returned.
  Status Refusal(const websocket::response_type& res) {
    std::string detail = fmt::format("the run's owner, replica {}, answered {}", owner_id_, res.result_int());
    boost::json::error_code ec;
    boost::json::value v = runtrack::ParseJson(res.body(), ec);
    if (!ec && v.is_object())
      if (const auto* d = v.as_object().if_contains("detail"); d && d->is_string()) detail = std::string(d->as_string());
    switch (res.result_int()) {
      case 400:
      case 422: return Status::InvalidArgument(detail);
      case 404: return Status::NotFound(detail);
      case 409: return Status::FailedPrecondition(detail);
      case 503: return Status::Busy(detail);
      default: return Status::IOError(detail);
    }
  }

  net::io_context io_;
  websocket::stream<beast::tcp_stream> ws_;
  std::string owner_id_;
  beast::flat_buffer buffer_;
  std::deque<std::string> queue_;
  size_t queued_ = 0;
  bool reading_ = false, closed_ = false;
  Status end_;
};

}  // namespace

ReadForwarding::ReadForwarding(std::shared_ptr<service::RunOwnership> ownership, ReadForwardingOptions options)
    : ownership_(std::move(ownership)), shared_(std::make_shared<Shared>(options)) {}

ReadForwarding::~ReadForwarding() = default;

uint64_t ReadForwarding::forwarded() const { return shared_->forwarded.load(); }
uint64_t ReadForwarding::streams_proxied() const { return shared_->streams.load(); }
size_t ReadForwarding::peak_buffer_bytes() const { return shared_->peak_buffer.load(); }

bool ReadForwarding::Ended(const std::string& run_id, const service::RunCatalog& catalog) const {
  const auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(state_mu_);
    if (auto it = ended_.find(run_id); it != ended_.end() && now < it->second.second) return it->second.first;
  }
  // Unknown here (another replica's run, not yet mirrored) counts as live: the owner knows.
  auto detail = catalog.GetRun(run_id);
  const bool ended = detail.ok() && detail->run.status != runtrack::RunStatus::kRunning;
  std::lock_guard lock(state_mu_);
  if (ended_.size() >= 4096) ended_.clear();  // bounded: a state is re-read at most once a TTL anyway
  ended_[run_id] = {ended, now + shared_->options.state_ttl};
  return ended;
}

ReadForwarding::Decision ReadForwarding::Decide(const Request& req, const service::RunCatalog& catalog,
                                                bool for_stream) const {
  const std::string& run_id = req.Param("run_id");
  if (!runtrack::ValidateRunId(run_id).ok()) return {};  // refused locally, as always
  // Ownership unknown (PostgreSQL down): local data is all there is, as with one viewer.
  auto owner = ownership_->Find(run_id, /*allow_cached=*/true);
  if (!owner.ok()) return {};
  const bool forwarded = !req.Header(kForwardedByHeader).empty();
  if (!owner->has_value() || (*owner)->here) {
    // Served here; a stream of a live run may still have to follow a later owner (not one another
    // replica relays: that replica follows).
    Decision here;
    here.live = for_stream && !forwarded && ctx_ && !Ended(run_id, catalog);
    return here;
  }
  if (Ended(run_id, catalog)) return {};
  if (forwarded)
    return {std::nullopt, fmt::format("run {} was forwarded here by replica {}, but replica {} owns it now; retry",
                                      run_id, req.Header(kForwardedByHeader).substr(0, 200), (*owner)->replica_id)};
  return {**owner, std::nullopt, true};
}

std::optional<Response> ReadForwarding::Route(const Request& req, const service::RunCatalog& catalog) const {
  Decision d = Decide(req, catalog, /*for_stream=*/false);
  if (d.refusal) return ForwardUnavailable(std::move(*d.refusal));
  if (!d.owner) return std::nullopt;
  auto slot = InFlight::Take(shared_);
  if (!slot)
    return ForwardUnavailable(fmt::format("run {} is live on replica {}, and this replica is already forwarding as many "
                                   "requests as it may; retry",
                                   req.Param("run_id"), d.owner->replica_id));
  Response r = ForwardRead(shared_, std::move(*slot), req, *d.owner, ownership_->replica_id(),
                           {fmt::format("run {} is live", req.Param("run_id")), "the run's owner"});
  if (r.status != 503 || r.stream) return r;
  // The owner did not answer: if it died meanwhile (its lock is free), what is here is the answer.
  auto now = ownership_->Find(req.Param("run_id"), /*allow_cached=*/false);
  if (now.ok() && (!now->has_value() || (*now)->here)) return std::nullopt;
  return r;
}

Response ReadForwarding::ForwardTo(const Request& req, const service::RunOwner& owner, const std::string& subject,
                                   const std::string& owner_label) const {
  auto slot = InFlight::Take(shared_);
  if (!slot)
    return ForwardUnavailable(fmt::format(
        "{} on replica {}, and this replica is already forwarding as many requests as it may; retry", subject,
        owner.replica_id));
  return ForwardRead(shared_, std::move(*slot), req, owner, ownership_->replica_id(), {subject, owner_label});
}

const std::string& ReadForwarding::replica_id() const { return ownership_->replica_id(); }

namespace {
// Set while a following stream opens its upstream here through the stream factories, which call
// RouteStream again: that call must serve here, never route a second time.
thread_local bool tl_serving_here = false;

// The request with ?after_step= replaced (metric streams), in its parameters and its target.
Request WithAfterStep(const Request& req, std::optional<int64_t> after) {
  if (!after) return req;
  Request out = req;
  QueryParams query;
  std::string encoded;
  for (const auto& [k, v] : req.query.items()) {
    if (k == "after_step") continue;
    query.Add(k, v);
    encoded += fmt::format("{}{}={}", encoded.empty() ? "" : "&", PercentEncode(k), PercentEncode(v));
  }
  query.Add("after_step", std::to_string(*after));
  encoded += fmt::format("{}after_step={}", encoded.empty() ? "" : "&", *after);
  out.query = std::move(query);
  out.target = req.target.substr(0, req.target.find('?')) + "?" + encoded;
  return out;
}
}  // namespace

Result<std::unique_ptr<StreamSource>> ReadForwarding::OpenRelay(const Request& req, const service::RunOwner& owner) const {
  const std::string& run_id = req.Param("run_id");
  auto address = ParseReplicaUrl(owner.url);
  if (!address.ok()) return address.status();
  auto stream = std::make_unique<OwnerStream>(owner.replica_id);
  Status opened;
  {
    auto slot = InFlight::Take(shared_);
    if (!slot)
      return Status::Busy(fmt::format(
          "run {} is live on replica {}, and this replica is already forwarding as many requests as it may; retry",
          run_id, owner.replica_id));
    opened = stream->Open(*address, req, ownership_->replica_id(), shared_->options);
  }
  if (opened.code() == runtrack::StatusCode::kBusy)
    return Status::Busy(fmt::format("run {} is live on replica {} at {}, which does not answer: {}; retry later", run_id,
                                    owner.replica_id, owner.url, opened.message()));
  if (!opened.ok()) return opened;
  shared_->streams.fetch_add(1);
  return std::unique_ptr<StreamSource>(std::move(stream));
}

Result<std::unique_ptr<StreamSource>> ReadForwarding::OpenLocal(const Request& req) const {
  const bool logs = req.segments.size() >= 2 && req.segments[req.segments.size() - 2] == "logs";
  tl_serving_here = true;
  auto made = logs ? MakeLogStream(*ctx_, req) : MakeMetricStream(*ctx_, req);
  tl_serving_here = false;
  return made;
}

std::optional<Result<std::unique_ptr<StreamSource>>> ReadForwarding::FollowStream(
    const Request& req, const Decision& d, const service::RunCatalog& catalog) const {
  using Following = OwnerFollowingStream;
  Following::Start start;
  start.kind = req.segments.size() >= 2 && req.segments[req.segments.size() - 2] == "logs" ? Following::Kind::kLogs
                                                                                          : Following::Kind::kMetrics;
  const bool explicit_start = req.query.Has("after_step");
  if (start.kind == Following::Kind::kMetrics && !explicit_start && !d.owner) {
    // Served here from the run's current end: the floors the local follower starts from, so a
    // switch resumes each metric exactly after them (read just before the follower starts: a point
    // indexed between the two reads is sent, never skipped).
    auto detail = catalog.GetRun(req.Param("run_id"));
    if (detail.ok())
      for (const auto& m : detail->metrics) start.floors[m.name] = m.max_step;
  }
  if (start.kind == Following::Kind::kMetrics && explicit_start) {
    auto after = GetInt(req.query, "after_step", std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max());
    if (!after.ok()) return Result<std::unique_ptr<StreamSource>>(after.status());
    if (*after) start.other_floor = **after;
  }
  start.floors_known = start.kind == Following::Kind::kLogs || explicit_start || !d.owner;
  if (d.owner) {
    auto relay = OpenRelay(req, *d.owner);
    if (relay.ok()) {
      start.owner = d.owner;
      start.source = std::move(*relay);
    } else if (relay.status().code() == runtrack::StatusCode::kBusy) {
      // The owner does not answer: if it died (its lock is free), what is here is the answer.
      auto now = ownership_->Find(req.Param("run_id"), /*allow_cached=*/false);
      if (!now.ok() || (now->has_value() && !(*now)->here)) return Result<std::unique_ptr<StreamSource>>(relay.status());
      return FollowStream(req, Decision{std::nullopt, std::nullopt, true}, catalog);
    } else {
      return Result<std::unique_ptr<StreamSource>>(relay.status());
    }
  } else {
    auto local = OpenLocal(req);
    if (!local.ok()) return Result<std::unique_ptr<StreamSource>>(local.status());
    start.source = std::move(*local);
  }
  const std::string run_id = req.Param("run_id");
  std::shared_ptr<service::RunOwnership> ownership = ownership_;
  auto find = [ownership, run_id](bool allow_cached) { return ownership->Find(run_id, allow_cached); };
  auto open = [this, req](const std::optional<service::RunOwner>& owner,
                          std::optional<int64_t> after) -> Result<std::unique_ptr<StreamSource>> {
    Request positioned = WithAfterStep(req, after);
    if (owner && !owner->here) return OpenRelay(positioned, *owner);
    return OpenLocal(positioned);
  };
  return Result<std::unique_ptr<StreamSource>>(
      std::unique_ptr<StreamSource>(std::make_unique<Following>(std::move(start), find, open)));
}

std::optional<Result<std::unique_ptr<StreamSource>>> ReadForwarding::RouteStream(
    const Request& req, const service::RunCatalog& catalog) const {
  if (tl_serving_here) return std::nullopt;
  Decision d = Decide(req, catalog, /*for_stream=*/true);
  if (d.refusal) return Result<std::unique_ptr<StreamSource>>(Status::Busy(std::move(*d.refusal)));
  if (d.live && ctx_) return FollowStream(req, d, catalog);
  if (!d.owner) return std::nullopt;
  auto relay = OpenRelay(req, *d.owner);
  if (!relay.ok() && relay.status().code() == runtrack::StatusCode::kBusy) {
    auto now = ownership_->Find(req.Param("run_id"), /*allow_cached=*/false);
    if (now.ok() && (!now->has_value() || (*now)->here)) return std::nullopt;  // the owner died: serve here
  }
  return relay;
}

}  // namespace runicorn::server
