// A fault-injecting TCP proxy for the journal-shipping tests: it forwards 127.0.0.1:<port()> to
// an upstream port and, at random, refuses connections (accept then close), cuts them in the
// middle of a transfer and delays chunks. Counts what it forwarded.
//
// Thread safety: Start/Stop from the test thread; the proxy runs its own threads.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <list>
#include <mutex>
#include <random>
#include <thread>

namespace runicorn::testing {

struct FaultRates {
  double refuse = 0.05;  // per accepted connection: closed before anything is forwarded
  double cut = 0.02;     // per forwarded chunk: both sides closed instead
  double delay = 0.10;   // per forwarded chunk: held 1..20 ms first
};

class FaultProxy {
 public:
  FaultProxy(uint16_t upstream, FaultRates rates) : upstream_(upstream), rates_(rates) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(listen_fd_, 128);
    socklen_t len = sizeof a;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    acceptor_ = std::thread([this] { Accept(); });
  }
  ~FaultProxy() {
    stopping_ = true;
    ::shutdown(listen_fd_, SHUT_RDWR);
    acceptor_.join();
    ::close(listen_fd_);
    std::lock_guard l(mu_);
    for (auto& t : pumps_) t.join();
  }

  uint16_t port() const { return port_; }
  void set_rates(FaultRates r) {
    std::lock_guard l(mu_);
    rates_ = r;
  }
  uint64_t connections() const { return connections_; }
  uint64_t refused() const { return refused_; }
  uint64_t cuts() const { return cuts_; }
  uint64_t bytes_up() const { return bytes_up_; }  // client -> server

 private:
  void Accept() {
    while (!stopping_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (client < 0) continue;
      ++connections_;
      if (Roll(&FaultRates::refuse)) {
        ++refused_;
        ::close(client);
        continue;
      }
      std::lock_guard l(mu_);
      pumps_.emplace_back([this, client] { Pump(client); });
    }
  }

  bool Roll(double FaultRates::*rate) {
    std::lock_guard l(mu_);
    return std::uniform_real_distribution<double>(0, 1)(rng_) < rates_.*rate;
  }

  void Pump(int client) {
    int server = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(upstream_);
    if (::connect(server, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ::close(server);
      ::close(client);  // the viewer is down: the client sees the connection drop
      return;
    }
    char buf[16384];
    pollfd fds[2] = {{client, POLLIN, 0}, {server, POLLIN, 0}};
    while (!stopping_) {
      if (::poll(fds, 2, 100) <= 0) continue;
      bool closed = false;
      for (int i = 0; i < 2 && !closed; ++i) {
        if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
        ssize_t n = ::recv(fds[i].fd, buf, sizeof buf, 0);
        if (n <= 0) {
          closed = true;
          break;
        }
        if (Roll(&FaultRates::cut)) {
          ++cuts_;
          closed = true;
          break;
        }
        if (Roll(&FaultRates::delay)) {
          int ms = 1;
          {
            std::lock_guard l(mu_);
            ms = std::uniform_int_distribution<int>(1, 20)(rng_);
          }
          std::this_thread::sleep_for(std::chrono::milliseconds(ms));
        }
        if (i == 0) bytes_up_ += static_cast<uint64_t>(n);
        const int to = i == 0 ? server : client;
        for (ssize_t sent = 0; sent < n;) {
          ssize_t w = ::send(to, buf + sent, static_cast<size_t>(n - sent), MSG_NOSIGNAL);
          if (w <= 0) {
            closed = true;
            break;
          }
          sent += w;
        }
      }
      if (closed) break;
    }
    ::close(server);
    ::close(client);
  }

  const uint16_t upstream_;
  std::mutex mu_;
  FaultRates rates_;
  std::mt19937 rng_{20261203};
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> connections_{0}, refused_{0}, cuts_{0}, bytes_up_{0};
  std::thread acceptor_;
  std::list<std::thread> pumps_;
};

// A port nobody listens on right now (bound to 0, read, closed).
inline uint16_t FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

// Whether something accepts connections on 127.0.0.1:port.
inline bool Listening(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

}  // namespace runicorn::testing
