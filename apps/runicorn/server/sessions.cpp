#include "server/sessions.h"

#include <algorithm>
#include <cctype>
#include <deque>
#include <optional>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include "server/url.h"

namespace runicorn::server::detail {
namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;

uint64_t SessionRegistry::Add(std::weak_ptr<Member> member) {
  std::lock_guard lock(mu_);
  uint64_t id = next_++;
  members_.emplace(id, std::move(member));
  return id;
}

void SessionRegistry::Remove(uint64_t id) {
  std::lock_guard lock(mu_);
  members_.erase(id);
}

void SessionRegistry::StopAll() {
  std::vector<std::shared_ptr<Member>> live;
  {
    std::lock_guard lock(mu_);
    for (auto& [id, weak] : members_)
      if (auto m = weak.lock()) live.push_back(std::move(m));
  }
  for (auto& m : live) m->Stop();
}

size_t SessionRegistry::CloseIdle(size_t n) {
  std::vector<std::pair<int64_t, std::shared_ptr<Member>>> idle;
  {
    std::lock_guard lock(mu_);
    for (auto& [id, weak] : members_)
      if (auto m = weak.lock())
        if (int64_t since = m->IdleSince(); since != 0) idle.emplace_back(since, std::move(m));
  }
  n = std::min(n, idle.size());
  std::partial_sort(idle.begin(), idle.begin() + static_cast<std::ptrdiff_t>(n), idle.end(),
                    [](const auto& a, const auto& b) { return a.first < b.first; });
  for (size_t i = 0; i < n; ++i) idle[i].second->Stop();
  return n;
}

size_t SessionRegistry::size() const {
  std::lock_guard lock(mu_);
  return members_.size();
}

namespace {

bool IsHttpParseError(const beast::error_code& ec) {
  return ec.category() == beast::http::make_error_code(http::error::bad_target).category();
}

// ---------------------------------------------------------------------------------------------
// WebSocket session: accepts the upgrade, then pumps its StreamSource every stream_poll until the
// client goes away or the server shuts down. Incoming messages are read (to see close frames and
// answer pings) and ignored.
//
// Memory per connection is bounded: the source is polled only when the previous poll's messages
// are all written, so a slow reader throttles its own stream (what it has not taken stays in the
// catalog, not in this session); a reader that takes nothing for stream_stall_timeout is dropped.
class WsSession : public std::enable_shared_from_this<WsSession>, public SessionRegistry::Member {
 public:
  WsSession(tcp::socket socket, ConnectionSlot slot, std::unique_ptr<StreamSource> source,
            std::shared_ptr<SharedState> state)
      : state_(std::move(state)),
        slot_(std::move(slot)),
        ws_(std::move(socket)),
        timer_(ws_.get_executor()),
        stall_timer_(ws_.get_executor()),
        source_(std::move(source)) {}
  ~WsSession() override { state_->registry.Remove(reg_id_); }

  void Start(http::request<http::string_body> req) {
    reg_id_ = state_->registry.Add(weak_from_this());
    beast::get_lowest_layer(ws_).expires_never();
    auto timeouts = websocket::stream_base::timeout::suggested(beast::role_type::server);
    timeouts.keep_alive_pings = true;
    ws_.set_option(timeouts);
    ws_.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& res) { res.set(http::field::server, "runicorn"); }));
    ws_.read_message_max(64 * 1024);
    ws_.async_accept(req, beast::bind_front_handler(&WsSession::OnAccept, shared_from_this()));
  }

  void Stop() override {
    net::post(ws_.get_executor(), [self = shared_from_this()] {
      self->closing_ = true;
      self->timer_.cancel();
      self->CloseIfIdle();
    });
  }

 private:
  void OnAccept(beast::error_code ec) {
    if (ec) return;
    DoRead();
    Tick();
  }

  void DoRead() {
    ws_.async_read(read_buf_, beast::bind_front_handler(&WsSession::OnRead, shared_from_this()));
  }
  void OnRead(beast::error_code ec, size_t) {
    if (ec) {  // closed by the peer, or failed: stop polling, let the handlers drain
      closing_ = true;
      close_sent_ = true;
      timer_.cancel();
      return;
    }
    read_buf_.consume(read_buf_.size());
    DoRead();
  }

  void Tick() {
    if (closing_) return CloseIfIdle();
    if (!writing_ && queue_.empty()) {
      auto messages = source_->Poll();
      if (!messages.ok()) {
        closing_ = true;
        close_reason_ = messages.status().message().substr(0, 120);  // a close reason is <= 123 bytes
        return CloseIfIdle();
      }
      for (auto& m : *messages) queue_.push_back(std::move(m));
      if (!queue_.empty()) WriteNext();
    }
    timer_.expires_after(state_->options.stream_poll);
    timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec != net::error::operation_aborted) self->Tick();
    });
  }

  void WriteNext() {
    writing_ = true;
    // A peer that stops reading leaves this write pending forever (its TCP window is full): drop
    // it after stream_stall_timeout, which also frees the message being written.
    stall_timer_.expires_after(state_->options.stream_stall_timeout);
    stall_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec == net::error::operation_aborted || !self->writing_) return;
      self->closing_ = true;
      self->close_sent_ = true;
      self->timer_.cancel();
      beast::get_lowest_layer(self->ws_).close();  // fails the pending write: OnWrite cleans up
    });
    ws_.text(true);
    ws_.async_write(net::buffer(queue_.front()), beast::bind_front_handler(&WsSession::OnWrite, shared_from_this()));
  }
  void OnWrite(beast::error_code ec, size_t) {
    writing_ = false;
    stall_timer_.cancel();
    if (ec) {
      queue_.clear();
      closing_ = true;
      close_sent_ = true;
      timer_.cancel();
      return;
    }
    queue_.pop_front();
    if (!queue_.empty() && !close_sent_) return WriteNext();
    if (closing_) CloseIfIdle();
  }

  // Sends the close frame once no write is in flight (a WebSocket allows one write at a time).
  void CloseIfIdle() {
    if (writing_ || close_sent_) return;
    close_sent_ = true;
    websocket::close_reason reason(close_reason_.empty() ? websocket::close_code::going_away
                                                         : websocket::close_code::policy_error);
    reason.reason = close_reason_;
    ws_.async_close(reason, [self = shared_from_this()](beast::error_code) {});
  }

  // Declared first so they are destroyed last: the socket closes before its slot is released
  // (the listener may then accept), and the slot before the state it points into.
  std::shared_ptr<SharedState> state_;
  ConnectionSlot slot_;
  websocket::stream<beast::tcp_stream> ws_;
  net::steady_timer timer_;
  net::steady_timer stall_timer_;
  std::unique_ptr<StreamSource> source_;
  uint64_t reg_id_ = 0;
  beast::flat_buffer read_buf_;
  std::deque<std::string> queue_;
  bool writing_ = false, closing_ = false, close_sent_ = false;
  std::string close_reason_;
};

// ---------------------------------------------------------------------------------------------
// HTTP session: reads one request at a time (keep-alive), answers it, and hands the connection to
// a WsSession when the API accepts a WebSocket upgrade.
class HttpSession : public std::enable_shared_from_this<HttpSession>, public SessionRegistry::Member {
 public:
  HttpSession(tcp::socket socket, ConnectionSlot slot, std::shared_ptr<SharedState> state)
      : state_(std::move(state)), slot_(std::move(slot)), stream_(std::move(socket)) {
    beast::error_code ec;
    auto ep = stream_.socket().remote_endpoint(ec);
    if (!ec) client_ip_ = ep.address().to_string();
    auto local = stream_.socket().local_endpoint(ec);
    if (!ec) local_ip_ = local.address().to_string();
  }
  ~HttpSession() override { state_->registry.Remove(reg_id_); }

  void Run() {
    reg_id_ = state_->registry.Add(weak_from_this());
    net::dispatch(stream_.get_executor(), beast::bind_front_handler(&HttpSession::DoRead, shared_from_this()));
  }

  // A connection that has not sent its first request yet is not offered for closing during its
  // first kFirstRequestGrace: its client may be descheduled between connect() and write(), and
  // closing it then answers a request on its way with EOF (seen under load). A flood of idle
  // connections is closed that much later, no more.
  int64_t IdleSince() const override {
    if (!received_any_.load(std::memory_order_relaxed) &&
        std::chrono::steady_clock::now() - accepted_at_ < kFirstRequestGrace)
      return 0;
    return idle_since_.load(std::memory_order_relaxed);
  }

  // Closes the connection now if it is between requests; otherwise the request in flight is
  // answered with "Connection: close".
  void Stop() override {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      // A request whose bytes wait in the socket but were not read yet is on its way (a client
      // that connected just before the server ran out of slots, say): it is read and answered.
      beast::error_code ec;
      const bool bytes_waiting = self->stream_.socket().available(ec) > 0;
      if (self->waiting_ && self->parser_ && !self->parser_->got_some() && !bytes_waiting) {
        self->stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
        self->stream_.socket().close(ec);
      }
    });
  }

 private:
  void DoRead() {
    if (state_->registry.shutting_down) return DoClose();
    parser_.emplace();
    parser_->header_limit(state_->options.header_limit);
    parser_->body_limit(state_->options.body_limit);
    waiting_ = true;
    idle_since_.store(std::max<int64_t>(1, std::chrono::steady_clock::now().time_since_epoch().count()),
                      std::memory_order_relaxed);
    stream_.expires_after(state_->options.read_timeout);
    http::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&HttpSession::OnRead, shared_from_this()));
  }

  void OnRead(beast::error_code ec, size_t) {
    waiting_ = false;
    idle_since_.store(0, std::memory_order_relaxed);
    received_any_.store(true, std::memory_order_relaxed);
    if (ec == http::error::end_of_stream) return DoClose();
    if (ec == http::error::body_limit) return SendError(413, "Request body too large");
    if (ec == http::error::header_limit) return SendError(431, "Request header fields too large");
    if (ec && IsHttpParseError(ec)) return SendError(400, "Malformed HTTP request");
    if (ec) return;  // timeout, reset or shutdown: nothing to answer

    http::request<http::string_body>& breq = parser_->get();
    Request req;
    req.method = std::string(breq.method_string());
    req.target = std::string(breq.target());
    auto parsed = ParseTarget(req.target);
    if (!parsed.ok()) return Send(Response::Error(400, parsed.status().message()), breq.keep_alive(), false);
    req.segments = std::move(parsed->segments);
    req.query = std::move(parsed->query);
    for (const auto& field : breq) {
      std::string name(field.name_string());
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      req.headers[std::move(name)] = std::string(field.value());
    }
    req.body = std::move(breq.body());
    req.client_ip = client_ip_;
    const bool head = breq.method() == http::verb::head;
    const bool upgrade = websocket::is_upgrade(breq);

    if (state_->api.IsHeavy(req.method, req.segments)) {
      // Computed on the worker pool; the answer comes back to this connection's strand. The
      // connection reads nothing meanwhile (one request at a time, as always).
      net::post(state_->heavy_pool, [self = shared_from_this(), req = std::move(req), upgrade, head,
                                     keep_alive = breq.keep_alive()]() mutable {
        auto outcome =
            std::make_shared<Api::Outcome>(self->state_->api.Handle(std::move(req), upgrade, self->local_ip_));
        net::post(self->stream_.get_executor(), [self, outcome, keep_alive, head] {
          self->Answer(std::move(*outcome), keep_alive, head);
        });
      });
      return;
    }
    Answer(state_->api.Handle(std::move(req), upgrade, local_ip_), breq.keep_alive(), head);
  }

  // On the strand, with the request still in parser_: upgrade to a WebSocket or send the response.
  void Answer(Api::Outcome outcome, bool keep_alive, bool head) {
    // The read's deadline also covers writes: a query that waited for a worker must not find it
    // already passed (the write would fail at once).
    stream_.expires_after(state_->options.read_timeout);
    if (outcome.stream) {
      auto ws = std::make_shared<WsSession>(stream_.release_socket(), std::move(slot_), std::move(outcome.stream),
                                            state_);
      ws->Start(parser_->release());
      return;
    }
    Send(std::move(outcome.response), keep_alive, head);
  }

  void SendError(unsigned status, std::string_view detail) {
    Response r = Response::Error(status, detail);
    Send(std::move(r), false, false);  // the rest of the request was not read: close afterwards
  }

  void Send(Response r, bool keep_alive, bool head) {
    if (r.stream) return SendStream(std::move(r), keep_alive, head);
    auto res = std::make_shared<http::response<http::string_body>>(static_cast<http::status>(r.status), 11);
    res->set(http::field::server, "runicorn");
    if (!r.content_type.empty()) res->set(http::field::content_type, r.content_type);
    for (auto& [name, value] : r.headers) res->insert(name, value);
    res->keep_alive(keep_alive && !state_->registry.shutting_down);
    res->body() = std::move(r.body);
    res->prepare_payload();
    if (head) {
      // HEAD: the headers a GET would have, no body.
      auto length = res->body().size();
      res->body().clear();
      res->content_length(length);
    }
    res_ = res;
    http::async_write(stream_, *res_, beast::bind_front_handler(&HttpSession::OnWrite, shared_from_this(), res->need_eof()));
  }

  // A streamed body (BodySource): the headers, then one buffer at a time, so a response of any size
  // holds at most kStreamBuffer bytes of it in this session. Content-Length when the source knows
  // its size, chunked encoding otherwise. A source error after the headers closes the connection:
  // the client sees a truncated body, never wrong bytes.
  static constexpr size_t kStreamBuffer = 256 * 1024;

  void SendStream(Response r, bool keep_alive, bool head) {
    auto res = std::make_shared<http::response<http::buffer_body>>(static_cast<http::status>(r.status), 11);
    res->set(http::field::server, "runicorn");
    if (!r.content_type.empty()) res->set(http::field::content_type, r.content_type);
    for (auto& [name, value] : r.headers) res->insert(name, value);
    res->keep_alive(keep_alive && !state_->registry.shutting_down);
    if (auto size = r.stream->size()) res->content_length(*size);
    else res->chunked(true);
    if (head) {
      // HEAD: the headers a GET would have, no body.
      auto header = std::make_shared<http::response<http::empty_body>>(res->base(), http::empty_body::value_type{});
      header_res_ = header;
      return http::async_write(stream_, *header_res_,
                               beast::bind_front_handler(&HttpSession::OnWrite, shared_from_this(), header->need_eof()));
    }
    stream_res_ = res;
    stream_sr_.emplace(*stream_res_);
    source_ = std::move(r.stream);
    stream_buffer_.resize(kStreamBuffer);
    res->body().data = nullptr;
    res->body().more = true;
    http::async_write_header(stream_, *stream_sr_,
                             beast::bind_front_handler(&HttpSession::OnStreamWrite, shared_from_this()));
  }

  void OnStreamWrite(beast::error_code ec, size_t) {
    if (ec == http::error::need_buffer) ec = {};
    if (ec) return;
    if (stream_sr_->is_done()) {
      const bool close = stream_res_->need_eof();
      stream_sr_.reset();
      stream_res_.reset();
      source_.reset();
      stream_buffer_ = {};
      return OnWrite(close, ec, 0);
    }
    auto n = source_->Read(stream_buffer_.data(), stream_buffer_.size());
    if (!n.ok()) return DoClose();
    auto& body = stream_res_->body();
    body.data = *n > 0 ? stream_buffer_.data() : nullptr;
    body.size = *n;
    body.more = *n > 0;
    stream_.expires_after(state_->options.read_timeout);  // a reader that stalls is dropped
    http::async_write(stream_, *stream_sr_, beast::bind_front_handler(&HttpSession::OnStreamWrite, shared_from_this()));
  }

  void OnWrite(bool close, beast::error_code ec, size_t) {
    if (ec) return;
    res_.reset();
    header_res_.reset();
    if (close) return DoClose();
    DoRead();
  }

  void DoClose() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  }

  // Declared first so they are destroyed last: the socket closes before its slot is released
  // (the listener may then accept), and the slot before the state it points into.
  std::shared_ptr<SharedState> state_;
  ConnectionSlot slot_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<http::response<http::string_body>> res_;
  std::shared_ptr<http::response<http::empty_body>> header_res_;      // HEAD of a streamed body
  std::shared_ptr<http::response<http::buffer_body>> stream_res_;     // a streamed body in flight
  std::optional<http::response_serializer<http::buffer_body>> stream_sr_;
  std::shared_ptr<BodySource> source_;
  std::vector<char> stream_buffer_;
  std::string client_ip_;
  std::string local_ip_;  // the address the client connected to (Host validation)
  uint64_t reg_id_ = 0;
  bool waiting_ = false;
  std::atomic<int64_t> idle_since_{0};
  static constexpr std::chrono::milliseconds kFirstRequestGrace{500};
  const std::chrono::steady_clock::time_point accepted_at_ = std::chrono::steady_clock::now();
  std::atomic<bool> received_any_{false};
};

}  // namespace

void StartHttpSession(tcp::socket socket, ConnectionSlot slot, std::shared_ptr<SharedState> state) {
  std::make_shared<HttpSession>(std::move(socket), std::move(slot), std::move(state))->Run();
}

}  // namespace runicorn::server::detail
