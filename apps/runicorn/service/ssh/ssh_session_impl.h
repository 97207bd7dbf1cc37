// SshSession's private state, shared by the files that implement its parts: ssh_session.cpp
// (connect, SFTP), ssh_exec.cpp (remote commands) and forward_channel.cpp (direct-tcpip
// channels). Include it only from those files: libssh stays out of every other header.
#pragma once

#include <libssh/libssh.h>
#include <libssh/sftp.h>

#include <memory>
#include <mutex>
#include <string>
#include <type_traits>

#include "service/ssh/ssh_session.h"

namespace runicorn::service::ssh {

struct SessionDeleter {
  void operator()(ssh_session s) const {
    if (ssh_is_connected(s)) ssh_disconnect(s);
    ssh_free(s);
  }
};
using SessionPtr = std::unique_ptr<std::remove_pointer_t<ssh_session>, SessionDeleter>;

// A channel closed (if still open) and freed; the caller holds the session's lock.
struct ChannelDeleter {
  void operator()(ssh_channel c) const {
    if (ssh_channel_is_open(c)) ssh_channel_close(c);
    ssh_channel_free(c);
  }
};
using ChannelPtr = std::unique_ptr<std::remove_pointer_t<ssh_channel>, ChannelDeleter>;

// Every libssh call on `session` (SFTP, exec and forward channels alike) is made holding `mu`:
// a libssh session is not thread-safe, and any call may read packets meant for other channels.
struct SshSession::Impl {
  std::mutex mu;
  SessionPtr session;
  sftp_session sftp = nullptr;
  ~Impl() {
    if (sftp != nullptr) sftp_free(sftp);
  }
  std::string Error() const { return sftp != nullptr ? std::to_string(sftp_get_error(sftp)) : "?"; }
};

}  // namespace runicorn::service::ssh
