// One SSH connection to a remote host (libssh), with its SFTP channel: the transport under
// Runicorn's SSH remote (docs/REMOTE.md "SSH remote").
//
// Host keys are checked against a known_hosts file of our own (StoreLayout::ssh_known_hosts_path),
// never ~/.ssh/known_hosts: a key that file does not hold yet is not trusted until a person has
// confirmed its fingerprint (ConfirmHostKey); a key that differs from the recorded one is refused
// outright (a confirmation cannot override it: the entry must be removed by hand).
//
// Secrets (password, key passphrase) are used for authentication and dropped; they are never part
// of an error message, a log line or a process's argv.
//
// Thread safety: an SshSession serialises its own calls (libssh sessions are not thread-safe);
// sessions are independent.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runtrack/status.h"

namespace runicorn::service::ssh {

struct SshCredentials {
  std::string host;
  int port = 22;
  std::string username;
  // Tried in this order, each only when given: inline key, key file, agent, password.
  std::string password;
  std::string private_key;  // an OpenSSH private key's text
  std::string private_key_path;
  std::string passphrase;
  bool use_agent = true;
  int timeout_seconds = 10;
};

// The server's host key, as shown to the person who must confirm it.
struct HostKeyInfo {
  std::string host;
  int port = 22;
  std::string key_type;            // "ssh-ed25519", ...
  std::string public_key;          // base64, as in known_hosts
  std::string fingerprint_sha256;  // "SHA256:..." (OpenSSH's form)
  std::string reason;              // "unknown" or "changed"
};

// Why a connection failed: `status` always; `host_key` when the host key needs a confirmation
// (reason "unknown") or was refused (reason "changed"); `auth_failed` when the server refused
// every credential given.
struct ConnectError {
  runtrack::Status status;
  std::optional<HostKeyInfo> host_key;
  bool auth_failed = false;
};

// What a remote command left: its exit status and the tail of its output.
struct ExecResult {
  int exit_status = -1;
  std::string out;  // stdout (its last 64 KiB)
  std::string err;  // stderr (its last 64 KiB)
};

struct RemoteEntry {
  std::string name;
  bool is_dir = false;
  uint64_t size = 0;
  int64_t mtime = 0;  // Unix seconds
};

class SshSession {
 public:
  ~SshSession();
  SshSession(const SshSession&) = delete;
  SshSession& operator=(const SshSession&) = delete;

  // Connects, checks the host key against `known_hosts`, authenticates and opens SFTP.
  static std::unique_ptr<SshSession> Connect(const SshCredentials& creds, const std::filesystem::path& known_hosts,
                                             ConnectError* error);

  // Connects to host:port, and records its key in `known_hosts` if its SHA-256 fingerprint is
  // `fingerprint_sha256` (what the person confirmed). FailedPrecondition when the key presented
  // now differs from it, or when known_hosts already holds another key for the host.
  static runtrack::Status ConfirmHostKey(const std::string& host, int port, const std::string& fingerprint_sha256,
                                         const std::filesystem::path& known_hosts);

  // SFTP. Paths are remote paths; "~" and relative paths are resolved by the server (home).
  runtrack::Result<std::vector<RemoteEntry>> ListDirectory(const std::string& path);
  // NotFound when absent.
  runtrack::Result<RemoteEntry> Stat(const std::string& path);
  // The absolute, canonical form of `path` as the server resolves it (SFTP realpath; "." is the
  // home directory). NotFound when it does not exist.
  runtrack::Result<std::string> RealPath(const std::string& path);
  // Up to `max_bytes` from `offset` (fewer at end of file).
  runtrack::Result<std::string> ReadRange(const std::string& path, uint64_t offset, uint64_t max_bytes);

  // Creates `path` with `mode` and writes `content` (an existing file is truncated; its mode is
  // set again), so a secret is never readable by others on the remote host, not even briefly.
  runtrack::Status WriteFile(const std::string& path, const std::string& content, int mode);
  // Creates a directory with `mode`; an existing one is left as it is (Ok).
  runtrack::Status MakeDirectory(const std::string& path, int mode);
  // Ok when the file is gone (also when it was never there).
  runtrack::Status RemoveFile(const std::string& path);

  // Runs `command` through the remote user's shell (as `ssh host command` does), with stdin
  // closed at once. IOError when the channel fails or `timeout_seconds` pass first; a command
  // that ran and failed is an ExecResult with its exit status. `command` must never hold a
  // secret: it can be seen in the remote host's process list.
  runtrack::Result<ExecResult> Exec(const std::string& command, int timeout_seconds = 30);

  const std::string& host() const { return host_; }
  int port() const { return port_; }
  const std::string& username() const { return username_; }

 private:
  friend class ForwardChannel;  // forward_channel.h: channels share this session's lock
  struct Impl;
  explicit SshSession(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  std::string host_;
  int port_ = 22;
  std::string username_;
};

}  // namespace runicorn::service::ssh
