#include "service/ssh/ssh_session.h"

#include <fcntl.h>
#include <libssh/libssh.h>
#include <libssh/sftp.h>

#include <algorithm>
#include <cstdlib>
#include <mutex>

#include "service/ssh/ssh_session_impl.h"

namespace runicorn::service::ssh {
using runtrack::Result;
using runtrack::Status;

namespace {

struct KeyDeleter {
  void operator()(ssh_key k) const { ssh_key_free(k); }
};
using KeyPtr = std::unique_ptr<std::remove_pointer_t<ssh_key>, KeyDeleter>;

std::string Where(const std::string& host, int port) { return host + ":" + std::to_string(port); }

// A session with our options and none of the user's (~/.ssh/config, ~/.ssh/known_hosts).
Result<SessionPtr> NewSession(const std::string& host, int port, const std::string& user, int timeout_seconds,
                              const std::filesystem::path& known_hosts) {
  if (host.empty()) return Status::InvalidArgument("host is required");
  if (port < 1 || port > 65535) return Status::InvalidArgument("port must be 1..65535");
  SessionPtr s(ssh_new());
  if (!s) return Status::Internal("ssh_new failed");
  bool no = false;
  long timeout = timeout_seconds;
  const std::string kh = known_hosts.string();
  unsigned int uport = static_cast<unsigned int>(port);
  if (ssh_options_set(s.get(), SSH_OPTIONS_PROCESS_CONFIG, &no) != SSH_OK ||
      ssh_options_set(s.get(), SSH_OPTIONS_HOST, host.c_str()) != SSH_OK ||
      ssh_options_set(s.get(), SSH_OPTIONS_PORT, &uport) != SSH_OK ||
      ssh_options_set(s.get(), SSH_OPTIONS_TIMEOUT, &timeout) != SSH_OK ||
      ssh_options_set(s.get(), SSH_OPTIONS_KNOWNHOSTS, kh.c_str()) != SSH_OK ||
      // Only our file decides: the system-wide list is not consulted either.
      ssh_options_set(s.get(), SSH_OPTIONS_GLOBAL_KNOWNHOSTS, "/dev/null") != SSH_OK)
    return Status::InvalidArgument("invalid SSH options for " + Where(host, port) + ": " + ssh_get_error(s.get()));
  if (!user.empty() && ssh_options_set(s.get(), SSH_OPTIONS_USER, user.c_str()) != SSH_OK)
    return Status::InvalidArgument("invalid SSH user name");
  if (ssh_connect(s.get()) != SSH_OK)
    return Status::IOError("cannot connect to " + Where(host, port) + ": " + ssh_get_error(s.get()));
  return s;
}

Result<HostKeyInfo> ServerKey(ssh_session s, const std::string& host, int port) {
  ssh_key raw = nullptr;
  if (ssh_get_server_publickey(s, &raw) != SSH_OK) return Status::IOError("the server sent no host key");
  KeyPtr key(raw);
  HostKeyInfo info;
  info.host = host;
  info.port = port;
  info.key_type = ssh_key_type_to_char(ssh_key_type(key.get()));
  unsigned char* hash = nullptr;
  size_t hlen = 0;
  if (ssh_get_publickey_hash(key.get(), SSH_PUBLICKEY_HASH_SHA256, &hash, &hlen) != SSH_OK)
    return Status::Internal("cannot hash the host key");
  char* fp = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash, hlen);
  ssh_clean_pubkey_hash(&hash);
  if (fp == nullptr) return Status::Internal("cannot format the host key fingerprint");
  info.fingerprint_sha256 = fp;
  ssh_string_free_char(fp);
  char* b64 = nullptr;
  if (ssh_pki_export_pubkey_base64(key.get(), &b64) == SSH_OK && b64 != nullptr) {
    info.public_key = b64;
    ssh_string_free_char(b64);
  }
  return info;
}

bool Authenticate(ssh_session s, const SshCredentials& c, std::string* tried) {
  if (!c.private_key.empty()) {
    *tried += "key";
    ssh_key raw = nullptr;
    if (ssh_pki_import_privkey_base64(c.private_key.c_str(), c.passphrase.empty() ? nullptr : c.passphrase.c_str(),
                                      nullptr, nullptr, &raw) == SSH_OK) {
      KeyPtr key(raw);
      if (ssh_userauth_publickey(s, nullptr, key.get()) == SSH_AUTH_SUCCESS) return true;
    } else {
      *tried += " (unreadable, or wrong passphrase)";
    }
  }
  if (!c.private_key_path.empty()) {
    *tried += tried->empty() ? "key file" : ", key file";
    ssh_key raw = nullptr;
    if (ssh_pki_import_privkey_file(c.private_key_path.c_str(), c.passphrase.empty() ? nullptr : c.passphrase.c_str(),
                                    nullptr, nullptr, &raw) == SSH_OK) {
      KeyPtr key(raw);
      if (ssh_userauth_publickey(s, nullptr, key.get()) == SSH_AUTH_SUCCESS) return true;
    } else {
      *tried += " (unreadable, or wrong passphrase)";
    }
  }
  if (c.use_agent && std::getenv("SSH_AUTH_SOCK") != nullptr) {
    *tried += tried->empty() ? "agent" : ", agent";
    if (ssh_userauth_agent(s, nullptr) == SSH_AUTH_SUCCESS) return true;
  }
  if (!c.password.empty()) {
    *tried += tried->empty() ? "password" : ", password";
    if (ssh_userauth_password(s, nullptr, c.password.c_str()) == SSH_AUTH_SUCCESS) return true;
  }
  return false;
}

}  // namespace

SshSession::SshSession(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SshSession::~SshSession() = default;

std::unique_ptr<SshSession> SshSession::Connect(const SshCredentials& c, const std::filesystem::path& known_hosts,
                                                ConnectError* error) {
  auto fail = [error](Status st) {
    error->status = std::move(st);
    return nullptr;
  };
  if (c.username.empty()) return fail(Status::InvalidArgument("username is required"));
  auto s = NewSession(c.host, c.port, c.username, c.timeout_seconds, known_hosts);
  if (!s.ok()) return fail(s.status());
  SessionPtr session = std::move(*s);

  const ssh_known_hosts_e known = ssh_session_is_known_server(session.get());
  if (known != SSH_KNOWN_HOSTS_OK) {
    auto key = ServerKey(session.get(), c.host, c.port);
    if (!key.ok()) return fail(key.status());
    if (known == SSH_KNOWN_HOSTS_UNKNOWN || known == SSH_KNOWN_HOSTS_NOT_FOUND) {
      key->reason = "unknown";
      error->host_key = *key;
      return fail(Status::FailedPrecondition("Host key verification failed: " + Where(c.host, c.port) +
                                             " is not a known host; confirm its key " + key->fingerprint_sha256));
    }
    if (known == SSH_KNOWN_HOSTS_CHANGED || known == SSH_KNOWN_HOSTS_OTHER) {
      key->reason = "changed";
      error->host_key = *key;
      return fail(Status::FailedPrecondition("Host key verification failed: the key of " + Where(c.host, c.port) +
                                             " differs from the one recorded; refusing to connect"));
    }
    return fail(Status::IOError(std::string("cannot read the known_hosts file: ") + ssh_get_error(session.get())));
  }

  std::string tried;
  if (!Authenticate(session.get(), c, &tried)) {
    error->auth_failed = true;
    return fail(Status::FailedPrecondition("SSH authentication failed for " + c.username + "@" + Where(c.host, c.port) +
                                           " (tried: " + (tried.empty() ? "nothing: give a password, key or agent" : tried) +
                                           ")"));
  }

  auto impl = std::make_unique<Impl>();
  impl->sftp = sftp_new(session.get());
  if (impl->sftp == nullptr || sftp_init(impl->sftp) != SSH_OK)
    return fail(Status::IOError("the server offers no SFTP subsystem: " + std::string(ssh_get_error(session.get()))));
  impl->session = std::move(session);
  std::unique_ptr<SshSession> out(new SshSession(std::move(impl)));
  out->host_ = c.host;
  out->port_ = c.port;
  out->username_ = c.username;
  return out;
}

Status SshSession::ConfirmHostKey(const std::string& host, int port, const std::string& fingerprint_sha256,
                                  const std::filesystem::path& known_hosts) {
  if (fingerprint_sha256.empty()) return Status::InvalidArgument("fingerprint_sha256 is required");
  RUNTRACK_ASSIGN_OR_RETURN(SessionPtr s, NewSession(host, port, "", 10, known_hosts));
  const ssh_known_hosts_e known = ssh_session_is_known_server(s.get());
  if (known == SSH_KNOWN_HOSTS_OK) return Status::Ok();
  if (known == SSH_KNOWN_HOSTS_CHANGED || known == SSH_KNOWN_HOSTS_OTHER)
    return Status::FailedPrecondition("known_hosts holds another key for " + Where(host, port) +
                                      "; a changed host key is never accepted here (remove the old entry first)");
  RUNTRACK_ASSIGN_OR_RETURN(HostKeyInfo key, ServerKey(s.get(), host, port));
  // The key must be the one the person saw: otherwise someone may have stepped in between.
  if (key.fingerprint_sha256 != fingerprint_sha256)
    return Status::FailedPrecondition("the host key of " + Where(host, port) + " is now " + key.fingerprint_sha256 +
                                      ", not the confirmed " + fingerprint_sha256);
  std::error_code ec;
  if (known_hosts.has_parent_path()) std::filesystem::create_directories(known_hosts.parent_path(), ec);
  if (ssh_session_update_known_hosts(s.get()) != SSH_OK)
    return Status::IOError(std::string("cannot write known_hosts: ") + ssh_get_error(s.get()));
  return Status::Ok();
}

Result<std::vector<RemoteEntry>> SshSession::ListDirectory(const std::string& path) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  sftp_dir dir = sftp_opendir(impl_->sftp, path.empty() ? "." : path.c_str());
  if (dir == nullptr) {
    if (sftp_get_error(impl_->sftp) == SSH_FX_NO_SUCH_FILE) return Status::NotFound("no remote directory '" + path + "'");
    return Status::IOError("cannot list remote directory '" + path + "' (SFTP error " + impl_->Error() + ")");
  }
  std::vector<RemoteEntry> out;
  while (sftp_attributes a = sftp_readdir(impl_->sftp, dir)) {
    std::string name = a->name != nullptr ? a->name : "";
    if (name != "." && name != "..")
      out.push_back({name, a->type == SSH_FILEXFER_TYPE_DIRECTORY, a->size, static_cast<int64_t>(a->mtime)});
    sftp_attributes_free(a);
  }
  sftp_closedir(dir);
  return out;
}

Result<RemoteEntry> SshSession::Stat(const std::string& path) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  sftp_attributes a = sftp_stat(impl_->sftp, path.c_str());
  if (a == nullptr) {
    if (sftp_get_error(impl_->sftp) == SSH_FX_NO_SUCH_FILE) return Status::NotFound("no remote file '" + path + "'");
    return Status::IOError("cannot stat remote '" + path + "' (SFTP error " + impl_->Error() + ")");
  }
  RemoteEntry e{a->name != nullptr ? a->name : path, a->type == SSH_FILEXFER_TYPE_DIRECTORY, a->size,
                static_cast<int64_t>(a->mtime)};
  sftp_attributes_free(a);
  return e;
}

Result<std::string> SshSession::RealPath(const std::string& path) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  char* resolved = sftp_canonicalize_path(impl_->sftp, path.empty() ? "." : path.c_str());
  if (resolved == nullptr) {
    if (sftp_get_error(impl_->sftp) == SSH_FX_NO_SUCH_FILE) return Status::NotFound("no remote path '" + path + "'");
    return Status::IOError("cannot resolve remote '" + path + "' (SFTP error " + impl_->Error() + ")");
  }
  std::string out = resolved;
  ssh_string_free_char(resolved);
  return out;
}

Result<std::string> SshSession::ReadRange(const std::string& path, uint64_t offset, uint64_t max_bytes) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  sftp_file f = sftp_open(impl_->sftp, path.c_str(), O_RDONLY, 0);
  if (f == nullptr) {
    if (sftp_get_error(impl_->sftp) == SSH_FX_NO_SUCH_FILE) return Status::NotFound("no remote file '" + path + "'");
    return Status::IOError("cannot open remote '" + path + "' (SFTP error " + impl_->Error() + ")");
  }
  std::string out;
  if (sftp_seek64(f, offset) != 0) {
    sftp_close(f);
    return Status::IOError("cannot seek in remote '" + path + "'");
  }
  char buf[32768];
  while (out.size() < max_bytes) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(sizeof buf, max_bytes - out.size()));
    ssize_t n = sftp_read(f, buf, want);
    if (n < 0) {
      sftp_close(f);
      return Status::IOError("cannot read remote '" + path + "' (SFTP error " + impl_->Error() + ")");
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  sftp_close(f);
  return out;
}

Status SshSession::WriteFile(const std::string& path, const std::string& content, int mode) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  sftp_file f = sftp_open(impl_->sftp, path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, static_cast<mode_t>(mode));
  if (f == nullptr) return Status::IOError("cannot create remote '" + path + "' (SFTP error " + impl_->Error() + ")");
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = sftp_write(f, content.data() + done, content.size() - done);
    if (n <= 0) {
      sftp_close(f);
      return Status::IOError("cannot write remote '" + path + "' (SFTP error " + impl_->Error() + ")");
    }
    done += static_cast<size_t>(n);
  }
  sftp_close(f);
  // O_CREAT's mode applies to a new file only (and passes the remote umask).
  if (sftp_chmod(impl_->sftp, path.c_str(), static_cast<mode_t>(mode)) != 0)
    return Status::IOError("cannot set the mode of remote '" + path + "' (SFTP error " + impl_->Error() + ")");
  return Status::Ok();
}

Status SshSession::MakeDirectory(const std::string& path, int mode) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (sftp_mkdir(impl_->sftp, path.c_str(), static_cast<mode_t>(mode)) == 0) return Status::Ok();
  if (sftp_attributes a = sftp_stat(impl_->sftp, path.c_str()); a != nullptr) {
    const bool dir = a->type == SSH_FILEXFER_TYPE_DIRECTORY;
    sftp_attributes_free(a);
    if (dir) return Status::Ok();
    return Status::FailedPrecondition("remote '" + path + "' exists and is not a directory");
  }
  return Status::IOError("cannot create remote directory '" + path + "' (SFTP error " + impl_->Error() + ")");
}

Status SshSession::RemoveFile(const std::string& path) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (sftp_unlink(impl_->sftp, path.c_str()) == 0 || sftp_get_error(impl_->sftp) == SSH_FX_NO_SUCH_FILE)
    return Status::Ok();
  return Status::IOError("cannot remove remote '" + path + "' (SFTP error " + impl_->Error() + ")");
}

}  // namespace runicorn::service::ssh
