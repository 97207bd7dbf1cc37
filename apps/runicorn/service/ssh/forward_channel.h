// A direct-tcpip channel (RFC 4254 7.2, what `ssh -L` opens per connection) over an SshSession:
// bytes written go to host:port as seen from the SSH server, bytes read come back from there.
//
// Every call takes the session's lock and none waits for the network (Open aside): the tunnel's
// pump (tunnel.h) drives many channels and its local sockets from one thread.
//
// Lifetime: a ForwardChannel must be destroyed before its SshSession (the tunnel holds both).
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "runtrack/status.h"
#include "service/ssh/ssh_session.h"

namespace runicorn::service::ssh {

class ForwardChannel {
 public:
  // Waits for the server to open the channel: IOError when it refuses (nothing listens on
  // host:port there, or forwarding is disabled), with the server's reason.
  static runtrack::Result<std::unique_ptr<ForwardChannel>> Open(SshSession& session, const std::string& host, int port);
  ~ForwardChannel();  // closes the channel
  ForwardChannel(const ForwardChannel&) = delete;
  ForwardChannel& operator=(const ForwardChannel&) = delete;

  // Up to `max` bytes that have arrived (0: none yet). `*eof` is set once the far side has sent
  // its EOF and every byte before it was read.
  runtrack::Result<size_t> Read(char* buf, size_t max, bool* eof);
  // Writes as much of `data` as the peer's window takes now (0: none); never waits for it.
  runtrack::Result<size_t> Write(std::string_view data);
  // No more bytes will be written (the local client closed its side).
  void SendEof();
  // The server closed the channel (after the far side's connection closed).
  bool Closed();

 private:
  struct Handle;
  ForwardChannel(SshSession::Impl* session, std::unique_ptr<Handle> handle);
  SshSession::Impl* session_;
  std::unique_ptr<Handle> handle_;
};

}  // namespace runicorn::service::ssh
