#include "service/ssh/tunnel.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "service/ssh/forward_channel.h"

namespace runicorn::service::ssh {
using runtrack::Result;
using runtrack::Status;

struct LocalTunnel::Connection {
  int fd = -1;
  std::unique_ptr<ForwardChannel> channel;
  std::string to_channel;  // read from the local client, not yet taken by the channel
  std::string to_local;    // read from the channel, not yet taken by the local socket
  bool local_eof = false;    // the client sent its EOF
  bool eof_sent = false;     // ... and it was passed on, after every byte before it
  bool channel_eof = false;  // the far side sent its EOF
  bool local_shut = false;   // ... and it was passed on (shutdown(SHUT_WR))
  bool failed = false;

  ~Connection() {
    channel.reset();
    if (fd >= 0) ::close(fd);
  }
  bool Finished() const { return failed || (eof_sent && local_shut); }

  // One round of pumping both ways; `revents` is what poll() said about the local socket.
  void Step(short revents, size_t cap, char* buf, size_t buf_size) {
    if (!local_eof && to_channel.size() < cap && (revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      const ssize_t n = ::recv(fd, buf, std::min(buf_size, cap - to_channel.size()), 0);
      if (n > 0) {
        to_channel.append(buf, static_cast<size_t>(n));
      } else if (n == 0) {
        local_eof = true;
      } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        failed = true;
        return;
      }
    }
    if (!to_channel.empty()) {
      auto written = channel->Write(to_channel);
      if (!written.ok()) {
        failed = true;
        return;
      }
      to_channel.erase(0, *written);
    }
    if (local_eof && to_channel.empty() && !eof_sent) {
      channel->SendEof();
      eof_sent = true;
    }
    if (!channel_eof && to_local.size() < cap) {
      bool eof = false;
      auto got = channel->Read(buf, std::min(buf_size, cap - to_local.size()), &eof);
      if (!got.ok()) {
        failed = true;
        return;
      }
      to_local.append(buf, *got);
      channel_eof = eof;
    }
    if (!to_local.empty()) {
      const ssize_t n = ::send(fd, to_local.data(), to_local.size(), MSG_NOSIGNAL);
      if (n > 0) {
        to_local.erase(0, static_cast<size_t>(n));
      } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        failed = true;
        return;
      }
    }
    if (channel_eof && to_local.empty() && !local_shut) {
      ::shutdown(fd, SHUT_WR);
      local_shut = true;
    }
  }
};

Result<std::unique_ptr<LocalTunnel>> LocalTunnel::Open(std::shared_ptr<SshSession> session, TunnelOptions options) {
  if (!session) return Status::InvalidArgument("a tunnel needs an SSH session");
  if (options.target_port < 1 || options.target_port > 65535)
    return Status::InvalidArgument("the tunnel's remote port must be 1..65535");
  if (options.local_port < 0 || options.local_port > 65535)
    return Status::InvalidArgument("local_port must be 0..65535");
  if (options.buffer_bytes == 0) options.buffer_bytes = 64 * 1024;
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::IOError(std::string("socket: ") + std::strerror(errno));
  // A port a stopped tunnel just released (its connections in TIME_WAIT) can be taken again.
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(options.local_port));
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    const int err = errno;
    ::close(fd);
    if (err == EADDRINUSE) return Status::Busy("local port " + std::to_string(options.local_port) + " is in use");
    return Status::IOError("cannot listen on 127.0.0.1:" + std::to_string(options.local_port) + ": " + std::strerror(err));
  }
  socklen_t len = sizeof a;
  if (::listen(fd, 64) != 0 || ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    const int err = errno;
    ::close(fd);
    return Status::IOError(std::string("cannot listen on 127.0.0.1: ") + std::strerror(err));
  }
  std::unique_ptr<LocalTunnel> t(new LocalTunnel(std::move(session), std::move(options), fd, ntohs(a.sin_port)));
  if (::pipe2(t->wake_, O_CLOEXEC | O_NONBLOCK) != 0) return Status::IOError(std::string("pipe: ") + std::strerror(errno));
  t->pump_ = std::thread([raw = t.get()] { raw->Pump(); });
  return t;
}

LocalTunnel::LocalTunnel(std::shared_ptr<SshSession> session, TunnelOptions options, int listen_fd, int port)
    : session_(std::move(session)), options_(std::move(options)), listen_fd_(listen_fd), local_port_(port) {}

LocalTunnel::~LocalTunnel() { Stop(); }

void LocalTunnel::Stop() {
  std::lock_guard<std::mutex> lock(stop_mu_);
  stop_ = true;
  if (wake_[1] >= 0) {
    const char byte = 1;
    (void)!::write(wake_[1], &byte, 1);
  }
  if (pump_.joinable()) pump_.join();
  // Closed only once the pump is gone: it polls these descriptors.
  for (int* fd : {&listen_fd_, &wake_[0], &wake_[1]}) {
    if (*fd >= 0) ::close(*fd);
    *fd = -1;
  }
}

void LocalTunnel::Pump() {
  std::vector<std::unique_ptr<Connection>> conns;
  std::vector<pollfd> fds;
  const size_t cap = options_.buffer_bytes;
  std::vector<char> buf(16 * 1024);
  while (!stop_) {
    fds.clear();
    fds.push_back({wake_[0], POLLIN, 0});
    fds.push_back({listen_fd_, POLLIN, 0});
    for (const auto& c : conns) {
      short events = 0;
      if (!c->local_eof && c->to_channel.size() < cap) events |= POLLIN;
      if (!c->to_local.empty()) events |= POLLOUT;
      fds.push_back({c->fd, events, 0});
    }
    // Channel data arrives on the SSH socket, which libssh reads under the session's lock (in
    // this thread or in another call on the session), so open channels are polled every 10 ms.
    if (::poll(fds.data(), fds.size(), conns.empty() ? -1 : 10) < 0 && errno != EINTR) break;
    if (stop_) break;
    if ((fds[0].revents & POLLIN) != 0) {
      char drain[64];
      while (::read(wake_[0], drain, sizeof drain) > 0) {
      }
    }
    for (size_t i = 0; i < conns.size(); ++i) conns[i]->Step(fds[i + 2].revents, cap, buf.data(), buf.size());
    std::erase_if(conns, [](const std::unique_ptr<Connection>& c) { return c->Finished(); });
    if ((fds[1].revents & POLLIN) != 0) {
      for (;;) {
        const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) break;
        auto channel = ForwardChannel::Open(*session_, options_.target_host, options_.target_port);
        if (!channel.ok()) {
          ::close(fd);  // the client sees its connection closed, as with `ssh -L`
          continue;
        }
        const int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        auto c = std::make_unique<Connection>();
        c->fd = fd;
        c->channel = std::move(*channel);
        conns.push_back(std::move(c));
      }
    }
    open_connections_ = conns.size();
  }
  conns.clear();
  open_connections_ = 0;
}

}  // namespace runicorn::service::ssh
