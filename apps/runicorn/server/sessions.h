// Internal to http_server.cpp / sessions.cpp: the per-connection sessions and the registry the
// server uses to stop them on shutdown.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>

#include <boost/asio/ip/tcp.hpp>

#include "server/api.h"
#include "server/http_server.h"

namespace runicorn::server::detail {

// Live sessions (and the listener), so Shutdown() can reach every one of them.
class SessionRegistry {
 public:
  struct Member {
    virtual ~Member() = default;
    // Called from any thread; must post to the member's own strand.
    virtual void Stop() = 0;
  };
  uint64_t Add(std::weak_ptr<Member> member);
  void Remove(uint64_t id);
  void StopAll();
  size_t size() const;

  std::atomic<bool> shutting_down{false};

 private:
  mutable std::mutex mu_;
  uint64_t next_ = 1;
  std::unordered_map<uint64_t, std::weak_ptr<Member>> members_;
};

struct SharedState {
  SharedState(const Api& a, ServerOptions o) : api(a), options(std::move(o)) {}
  const Api& api;
  ServerOptions options;
  SessionRegistry registry;
};

// Takes over an accepted connection and serves it until it closes.
void StartHttpSession(boost::asio::ip::tcp::socket socket, std::shared_ptr<SharedState> state);

}  // namespace runicorn::server::detail
