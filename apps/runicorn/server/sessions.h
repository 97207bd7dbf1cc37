// Internal to http_server.cpp / sessions.cpp: the per-connection sessions and the registry the
// server uses to stop them on shutdown.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/thread_pool.hpp>

#include "server/api.h"
#include "server/connection_limit.h"
#include "server/http_server.h"

namespace runicorn::server::detail {

// Live sessions (and the listener), so Shutdown() can reach every one of them.
class SessionRegistry {
 public:
  struct Member {
    virtual ~Member() = default;
    // Called from any thread; must post to the member's own strand. An HTTP session between
    // requests closes; one in the middle of a request answers it with "Connection: close".
    virtual void Stop() = 0;
    // Since when (steady_clock ticks) the member has been waiting for a request with nothing
    // received; 0 when it is busy or not an HTTP session. Read from any thread.
    virtual int64_t IdleSince() const { return 0; }
  };
  uint64_t Add(std::weak_ptr<Member> member);
  void Remove(uint64_t id);
  void StopAll();
  // Stops (see Member::Stop) the `n` members idle the longest, to make room for new connections
  // when all are in use — the same as nginx reusing its keep-alive connections. Returns how many
  // were asked to stop; a member that received a request meanwhile stays open.
  size_t CloseIdle(size_t n);
  size_t size() const;

  std::atomic<bool> shutting_down{false};

 private:
  mutable std::mutex mu_;
  uint64_t next_ = 1;
  std::unordered_map<uint64_t, std::weak_ptr<Member>> members_;
};

struct SharedState {
  SharedState(const Api& a, ServerOptions o, size_t max_connections)
      : api(a),
        options(std::move(o)),
        heavy_pool(static_cast<size_t>(std::max(1, options.heavy_threads))),
        connections(max_connections) {}
  const Api& api;
  ServerOptions options;
  // Runs Api::Handle for heavy routes (http_server.h); joined by HttpServer::Wait.
  boost::asio::thread_pool heavy_pool;
  SessionRegistry registry;
  ConnectionLimit connections;
};

// Takes over an accepted connection and serves it until it closes; `slot` is released then.
void StartHttpSession(boost::asio::ip::tcp::socket socket, ConnectionSlot slot, std::shared_ptr<SharedState> state);

}  // namespace runicorn::server::detail
