#include "service/ssh/forward_channel.h"

#include <algorithm>

#include "service/ssh/ssh_session_impl.h"

namespace runicorn::service::ssh {
using runtrack::Result;
using runtrack::Status;

struct ForwardChannel::Handle {
  ChannelPtr channel;
};

ForwardChannel::ForwardChannel(SshSession::Impl* session, std::unique_ptr<Handle> handle)
    : session_(session), handle_(std::move(handle)) {}

ForwardChannel::~ForwardChannel() {
  std::lock_guard<std::mutex> lock(session_->mu);
  handle_->channel.reset();
}

Result<std::unique_ptr<ForwardChannel>> ForwardChannel::Open(SshSession& session, const std::string& host, int port) {
  SshSession::Impl* impl = session.impl_.get();
  std::lock_guard<std::mutex> lock(impl->mu);
  ssh_session s = impl->session.get();
  auto handle = std::make_unique<Handle>();
  handle->channel.reset(ssh_channel_new(s));
  if (!handle->channel) return Status::IOError(std::string("cannot open an SSH channel: ") + ssh_get_error(s));
  // The originator address is informational (the server may log it); ours is always loopback.
  if (ssh_channel_open_forward(handle->channel.get(), host.c_str(), port, "127.0.0.1", 0) != SSH_OK)
    return Status::IOError("the SSH server could not connect to " + host + ":" + std::to_string(port) + ": " +
                           ssh_get_error(s));
  return std::unique_ptr<ForwardChannel>(new ForwardChannel(impl, std::move(handle)));
}

Result<size_t> ForwardChannel::Read(char* buf, size_t max, bool* eof) {
  std::lock_guard<std::mutex> lock(session_->mu);
  ssh_channel c = handle_->channel.get();
  const int n = ssh_channel_read_nonblocking(c, buf, static_cast<uint32_t>(std::min<size_t>(max, 1u << 20)), 0);
  if (n == SSH_ERROR) return Status::IOError(std::string("SSH channel read: ") + ssh_get_error(session_->session.get()));
  if (n == SSH_EOF || (n == 0 && (ssh_channel_is_eof(c) || ssh_channel_is_closed(c)))) {
    *eof = true;
    return size_t{0};
  }
  return static_cast<size_t>(n);
}

Result<size_t> ForwardChannel::Write(std::string_view data) {
  std::lock_guard<std::mutex> lock(session_->mu);
  ssh_channel c = handle_->channel.get();
  if (ssh_channel_is_closed(c)) return Status::IOError("SSH channel closed by the server");
  // Within the window libssh sends without waiting for an adjustment.
  const size_t n = std::min<size_t>(data.size(), ssh_channel_window_size(c));
  if (n == 0) return size_t{0};
  const int w = ssh_channel_write(c, data.data(), static_cast<uint32_t>(n));
  if (w == SSH_ERROR) return Status::IOError(std::string("SSH channel write: ") + ssh_get_error(session_->session.get()));
  return static_cast<size_t>(w);
}

void ForwardChannel::SendEof() {
  std::lock_guard<std::mutex> lock(session_->mu);
  ssh_channel_send_eof(handle_->channel.get());
}

bool ForwardChannel::Closed() {
  std::lock_guard<std::mutex> lock(session_->mu);
  return ssh_channel_is_closed(handle_->channel.get()) != 0;
}

}  // namespace runicorn::service::ssh
