// A TCP load balancer for the replica tests, as a team would put in front of its viewers: each
// accepted connection goes to the next backend in turn that accepts a connection (a dead one is
// skipped), and stays there for its life (keep-alive connections stick to one replica). When a
// backend dies its connections break, and the clients' reconnections go to the survivors.
//
// Thread safety: constructed and destroyed by the test thread; runs its own threads.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <list>
#include <mutex>
#include <thread>
#include <vector>

namespace runicorn::testing {

class TcpBalancer {
 public:
  explicit TcpBalancer(std::vector<uint16_t> backends) : backends_(std::move(backends)) {
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
  ~TcpBalancer() {
    stopping_ = true;
    ::shutdown(listen_fd_, SHUT_RDWR);
    acceptor_.join();
    ::close(listen_fd_);
    std::lock_guard l(mu_);
    for (auto& t : pumps_) t.join();
  }

  uint16_t port() const { return port_; }
  // Connections handed to each backend so far (index as given).
  uint64_t connections_to(size_t backend) const { return counts_[backend]; }

 private:
  void Accept() {
    while (!stopping_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (client < 0) continue;
      std::lock_guard l(mu_);
      pumps_.emplace_back([this, client] { Pump(client); });
    }
  }

  // A connection to the next backend that accepts one, or -1 when none does.
  int ConnectNext() {
    for (size_t tried = 0; tried < backends_.size(); ++tried) {
      const size_t i = next_++ % backends_.size();
      int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      a.sin_port = htons(backends_[i]);
      if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
        ++counts_[i];
        return fd;
      }
      ::close(fd);
    }
    return -1;
  }

  void Pump(int client) {
    int server = ConnectNext();
    if (server < 0) {
      ::close(client);
      return;
    }
    char buf[65536];
    pollfd fds[2] = {{client, POLLIN, 0}, {server, POLLIN, 0}};
    bool closed = false;
    while (!stopping_ && !closed) {
      if (::poll(fds, 2, 100) <= 0) continue;
      for (int i = 0; i < 2 && !closed; ++i) {
        if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
        ssize_t n = ::recv(fds[i].fd, buf, sizeof buf, 0);
        if (n <= 0) {
          closed = true;
          break;
        }
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
    }
    ::close(server);
    ::close(client);
  }

  const std::vector<uint16_t> backends_;
  std::atomic<size_t> next_{0};
  std::atomic<uint64_t> counts_[8] = {};
  std::mutex mu_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;
  std::list<std::thread> pumps_;
};

}  // namespace runicorn::testing
