// SshSession::Exec: one remote command over an exec channel (RFC 4254 6.5).
#include <chrono>

#include "service/ssh/ssh_session.h"
#include "service/ssh/ssh_session_impl.h"

namespace runicorn::service::ssh {
using runtrack::Result;
using runtrack::Status;

namespace {

constexpr size_t kMaxOutput = 64 * 1024;

// Keeps the tail: the end of a failing command's stderr is where its reason is.
void AppendTail(std::string* to, const char* data, size_t n) {
  to->append(data, n);
  if (to->size() > kMaxOutput) to->erase(0, to->size() - kMaxOutput);
}

}  // namespace

Result<ExecResult> SshSession::Exec(const std::string& command, int timeout_seconds) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  ssh_session s = impl_->session.get();
  ChannelPtr channel(ssh_channel_new(s));
  if (!channel) return Status::IOError(std::string("cannot open an SSH channel: ") + ssh_get_error(s));
  if (ssh_channel_open_session(channel.get()) != SSH_OK)
    return Status::IOError(std::string("cannot open an SSH channel: ") + ssh_get_error(s));
  if (ssh_channel_request_exec(channel.get(), command.c_str()) != SSH_OK)
    return Status::IOError(std::string("the SSH server refused to run a command: ") + ssh_get_error(s));
  ssh_channel_send_eof(channel.get());

  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds);
  ExecResult result;
  char buf[8192];
  for (;;) {
    bool eof = true;
    for (int is_stderr : {0, 1}) {
      // stdout waits a little for data; stderr is only drained (it was polled by that wait too).
      const int n = is_stderr ? ssh_channel_read_nonblocking(channel.get(), buf, sizeof buf, 1)
                              : ssh_channel_read_timeout(channel.get(), buf, sizeof buf, 0, 50);
      if (n == SSH_ERROR) return Status::IOError(std::string("the SSH command channel failed: ") + ssh_get_error(s));
      if (n > 0) AppendTail(is_stderr ? &result.err : &result.out, buf, static_cast<size_t>(n));
      if (n != SSH_EOF && !(n == 0 && ssh_channel_is_eof(channel.get()))) eof = false;
    }
    if (eof) break;
    if (std::chrono::steady_clock::now() > deadline)
      return Status::IOError("the remote command did not finish within " + std::to_string(timeout_seconds) + " s");
  }
  // Sent by the server with (or just before) its EOF; -1 when it sent none (killed by a signal).
  result.exit_status = ssh_channel_get_exit_status(channel.get());
  return result;
}

}  // namespace runicorn::service::ssh
