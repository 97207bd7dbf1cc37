#include "server/http_server.h"

#include <sys/resource.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <fmt/format.h>

#include "server/sessions.h"

namespace runicorn::server {
namespace net = boost::asio;
using tcp = net::ip::tcp;
using detail::SessionRegistry;
using detail::SharedState;

size_t EffectiveMaxConnections(const ServerOptions& options) {
  if (options.max_connections > 0) return options.max_connections;
  rlimit limit{};
  rlim_t soft = ::getrlimit(RLIMIT_NOFILE, &limit) == 0 ? limit.rlim_cur : 1024;
  if (soft == RLIM_INFINITY) soft = 8192;
  return std::clamp<size_t>(static_cast<size_t>(soft / 2), 16, 4096);
}

namespace {

// Accepts connections and starts a session for each, until stopped; pauses while every connection
// slot is in use, and backs off while the process is out of file descriptors.
class Listener : public std::enable_shared_from_this<Listener>, public SessionRegistry::Member {
 public:
  Listener(net::io_context& ioc, tcp::acceptor acceptor, std::shared_ptr<SharedState> state)
      : ioc_(ioc), acceptor_(std::move(acceptor)), retry_timer_(acceptor_.get_executor()), state_(std::move(state)) {}

  void Start() {
    reg_id_ = state_->registry.Add(weak_from_this());
    DoAccept();
  }
  void Stop() override {
    net::post(acceptor_.get_executor(), [self = shared_from_this()] {
      boost::system::error_code ec;
      self->acceptor_.close(ec);
      self->retry_timer_.cancel();
      self->state_->registry.Remove(self->reg_id_);
    });
  }

 private:
  // Connections closed per round when the limit is reached or descriptors run out: a few at a
  // time, so a flood of idle connections costs one pass over the registry per batch, not per accept.
  static constexpr size_t kCloseIdleBatch = 8;

  // Runs on the acceptor's strand, from Start, an accept's completion, a freed slot or the retry
  // timer; at most one accept is outstanding.
  void DoAccept() {
    if (!acceptor_.is_open() || accepting_) return;
    std::weak_ptr<Listener> weak = shared_from_this();
    bool full = state_->connections.WaitForSlot([weak] {
      if (auto self = weak.lock()) net::post(self->acceptor_.get_executor(), [self] { self->DoAccept(); });
    });
    if (full) {
      // Resumed by the release of a slot. The sessions asked to close may have received a request
      // meanwhile (or not started reading yet), so look again after a pause as well.
      state_->registry.CloseIdle(kCloseIdleBatch);
      return RetryAfter(std::chrono::milliseconds(50));
    }
    accepting_ = true;
    // Each connection gets its own strand: its handlers never run concurrently.
    acceptor_.async_accept(net::make_strand(ioc_), [self = shared_from_this()](boost::system::error_code ec,
                                                                                tcp::socket socket) {
      self->accepting_ = false;
      if (ec == net::error::operation_aborted || !self->acceptor_.is_open()) return;
      if (ec) return self->OnAcceptError(ec);
      self->backoff_ = std::chrono::milliseconds(0);
      detail::ConnectionSlot slot;
      if (self->state_->connections.TryAcquire(&slot)) {
        detail::StartHttpSession(std::move(socket), std::move(slot), self->state_);
      } else {
        boost::system::error_code ignored;  // only this listener acquires, so this cannot happen
        socket.close(ignored);
      }
      self->DoAccept();
    });
  }

  void OnAcceptError(boost::system::error_code ec) {
    const bool out_of_descriptors = ec == net::error::no_descriptors ||
                                    ec == boost::system::errc::too_many_files_open_in_system ||
                                    ec == net::error::no_buffer_space || ec == net::error::no_memory;
    if (!out_of_descriptors) return DoAccept();  // e.g. ECONNABORTED: that connection is gone, try the next
    // The pending connection stays queued, so accepting again at once would fail again at once.
    if (backoff_.count() == 0)
      std::fprintf(stderr, "runicorn viewer: accept failed (%s); closing idle connections and retrying\n",
                   ec.message().c_str());
    backoff_ = std::clamp(backoff_ * 2, std::chrono::milliseconds(10), std::chrono::milliseconds(1000));
    state_->registry.CloseIdle(kCloseIdleBatch);
    RetryAfter(backoff_);
  }

  void RetryAfter(std::chrono::milliseconds delay) {
    retry_timer_.expires_after(delay);  // replaces a pending retry
    retry_timer_.async_wait([self = shared_from_this()](boost::system::error_code wait_ec) {
      if (!wait_ec) self->DoAccept();
    });
  }

  net::io_context& ioc_;
  tcp::acceptor acceptor_;
  net::steady_timer retry_timer_;
  std::shared_ptr<SharedState> state_;
  std::chrono::milliseconds backoff_{0};
  bool accepting_ = false;
  uint64_t reg_id_ = 0;
};

}  // namespace

class HttpServer::Impl {
 public:
  net::io_context ioc;
  net::executor_work_guard<net::io_context::executor_type> guard = net::make_work_guard(ioc);
  std::shared_ptr<SharedState> state;
  std::shared_ptr<Listener> listener;
  std::vector<std::thread> threads;
  uint16_t port = 0;

  std::mutex mu;
  std::condition_variable cv;
  bool shutdown_requested = false;
  bool joined = false;
};

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() {
  Shutdown();
  Wait();
}

runtrack::Result<std::unique_ptr<HttpServer>> HttpServer::Start(const Api& api, const ServerOptions& options,
                                                                 bool has_token) {
  auto impl = std::make_unique<Impl>();
  impl->state = std::make_shared<SharedState>(api, options, EffectiveMaxConnections(options));
  boost::system::error_code ec;
  tcp::resolver resolver(impl->ioc);
  auto endpoints = resolver.resolve(options.host, std::to_string(options.port),
                                    tcp::resolver::numeric_service | tcp::resolver::passive, ec);
  if (ec || endpoints.empty())
    return runtrack::Status::InvalidArgument(fmt::format("cannot resolve host '{}': {}", options.host, ec.message()));
  tcp::endpoint endpoint = endpoints.begin()->endpoint();
  if (!endpoint.address().is_loopback() && !has_token && !options.insecure)
    return runtrack::Status::InvalidArgument(fmt::format(
        "refusing to serve {} on non-loopback address {} without a token: set --token / RUNICORN_TOKEN, "
        "or pass --insecure to accept unauthenticated access from the network",
        options.host, endpoint.address().to_string()));

  tcp::acceptor acceptor(net::make_strand(impl->ioc));
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec)
    return runtrack::Status::IOError(
        fmt::format("cannot listen on {}:{}: {}", endpoint.address().to_string(), endpoint.port(), ec.message()));
  impl->port = acceptor.local_endpoint().port();
  impl->listener = std::make_shared<Listener>(impl->ioc, std::move(acceptor), impl->state);
  impl->listener->Start();
  int threads = std::max(1, options.threads);
  for (int i = 0; i < threads; ++i) impl->threads.emplace_back([io = &impl->ioc] { io->run(); });
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

uint16_t HttpServer::port() const { return impl_->port; }

void HttpServer::Shutdown() {
  {
    std::lock_guard lock(impl_->mu);
    if (impl_->shutdown_requested) return;
    impl_->shutdown_requested = true;
  }
  impl_->state->registry.shutting_down = true;
  impl_->state->registry.StopAll();
  impl_->cv.notify_all();
}

void HttpServer::Wait() {
  std::unique_lock lock(impl_->mu);
  impl_->cv.wait(lock, [&] { return impl_->shutdown_requested; });
  if (impl_->joined) return;
  impl_->joined = true;
  lock.unlock();
  // Drain: sessions finish their request in flight and go away; then the pool may stop.
  auto deadline = std::chrono::steady_clock::now() + impl_->state->options.drain_timeout;
  while (impl_->state->registry.size() > 0 && std::chrono::steady_clock::now() < deadline) {
    impl_->state->registry.StopAll();  // sessions that finished a request since the last pass
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  impl_->guard.reset();
  impl_->ioc.stop();
  for (auto& t : impl_->threads) t.join();
  // Queries still running on the pool finish (their answers are dropped with the io_context);
  // after this nothing uses the services, so the caller may close the catalog.
  impl_->state->heavy_pool.join();
}

}  // namespace runicorn::server
