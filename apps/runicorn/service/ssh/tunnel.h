// LocalTunnel: what `ssh -L 127.0.0.1:LOCAL:HOST:PORT` does, in process. A listening socket on
// 127.0.0.1 (never another address: the tunnel reaches a viewer with the SSH user's rights); each
// accepted connection gets its own direct-tcpip channel (forward_channel.h) to host:port as seen
// from the SSH server, and bytes are pumped both ways.
//
// One pump thread per tunnel, poll-based, drives the listener and every connection. Buffers are
// bounded per direction (`buffer_bytes`): a side that does not read stops the other side being
// read, nothing grows without limit. Half-closes are forwarded (a client's EOF becomes the
// channel's EOF and the reverse), and a connection ends when both directions have ended or
// either fails. Stop() (and the destructor) closes the listener, every connection and channel,
// and joins the thread; afterwards the local port refuses connections.
//
// Thread safety: Stop(), local_port() and open_connections() may be called from any thread.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "runtrack/status.h"
#include "service/ssh/ssh_session.h"

namespace runicorn::service::ssh {

struct TunnelOptions {
  std::string target_host = "127.0.0.1";  // as the SSH server resolves it
  int target_port = 0;
  int local_port = 0;                      // 0: a free port is chosen
  size_t buffer_bytes = 64 * 1024;         // per connection and direction
};

class LocalTunnel {
 public:
  // InvalidArgument for a bad port; Busy when `local_port` is taken.
  static runtrack::Result<std::unique_ptr<LocalTunnel>> Open(std::shared_ptr<SshSession> session, TunnelOptions options);
  ~LocalTunnel();
  LocalTunnel(const LocalTunnel&) = delete;
  LocalTunnel& operator=(const LocalTunnel&) = delete;

  void Stop();  // idempotent
  int local_port() const { return local_port_; }
  size_t open_connections() const { return open_connections_.load(); }

 private:
  struct Connection;
  LocalTunnel(std::shared_ptr<SshSession> session, TunnelOptions options, int listen_fd, int port);
  void Pump();

  const std::shared_ptr<SshSession> session_;
  const TunnelOptions options_;
  int listen_fd_ = -1;
  int wake_[2] = {-1, -1};  // a pipe: Stop() writes a byte so poll() returns
  int local_port_ = 0;
  std::mutex stop_mu_;  // one Stop() at a time joins and closes
  std::atomic<bool> stop_{false};
  std::atomic<size_t> open_connections_{0};
  std::thread pump_;
};

}  // namespace runicorn::service::ssh
