#include "server/http_server.h"

#include <condition_variable>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <fmt/format.h>

#include "server/sessions.h"

namespace runicorn::server {
namespace net = boost::asio;
using tcp = net::ip::tcp;
using detail::SessionRegistry;
using detail::SharedState;

namespace {

// Accepts connections and starts a session for each, until stopped.
class Listener : public std::enable_shared_from_this<Listener>, public SessionRegistry::Member {
 public:
  Listener(net::io_context& ioc, tcp::acceptor acceptor, std::shared_ptr<SharedState> state)
      : ioc_(ioc), acceptor_(std::move(acceptor)), state_(std::move(state)) {}

  void Start() {
    reg_id_ = state_->registry.Add(weak_from_this());
    DoAccept();
  }
  void Stop() override {
    net::post(acceptor_.get_executor(), [self = shared_from_this()] {
      boost::system::error_code ec;
      self->acceptor_.close(ec);
      self->state_->registry.Remove(self->reg_id_);
    });
  }

 private:
  void DoAccept() {
    // Each connection gets its own strand: its handlers never run concurrently.
    acceptor_.async_accept(net::make_strand(ioc_), [self = shared_from_this()](boost::system::error_code ec,
                                                                                tcp::socket socket) {
      if (ec == net::error::operation_aborted || !self->acceptor_.is_open()) return;
      if (!ec) detail::StartHttpSession(std::move(socket), self->state_);
      self->DoAccept();
    });
  }

  net::io_context& ioc_;
  tcp::acceptor acceptor_;
  std::shared_ptr<SharedState> state_;
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
  impl->state = std::make_shared<SharedState>(api, options);
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
}

}  // namespace runicorn::server
