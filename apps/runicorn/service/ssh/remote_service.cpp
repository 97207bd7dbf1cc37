#include "service/ssh/remote_service.h"

#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>

#include "runtrack/remote.h"
#include "runtrack/json_parse.h"
#include "service/ingest_service.h"
#include "service/secret_file.h"

namespace runicorn::service::ssh {
namespace json = boost::json;
namespace fs = std::filesystem;
using runtrack::Result;
using runtrack::Status;

namespace {

std::string ConnectionId(const std::string& user, const std::string& host, int port) {
  return user + "@" + host + ":" + std::to_string(port);
}

// Printable ASCII without spaces or control characters: names and hosts end up in JSON, in log
// lines and (host, user) in libssh options, never in a shell or a path.
Status CheckToken(const std::string& value, const char* what, size_t max_len) {
  if (value.empty()) return Status::InvalidArgument(std::string(what) + " is required");
  if (value.size() > max_len)
    return Status::InvalidArgument(std::string(what) + " is longer than " + std::to_string(max_len) + " characters");
  for (unsigned char c : value)
    if (c <= 0x20 || c >= 0x7f) return Status::InvalidArgument(std::string(what) + " must be printable ASCII without spaces");
  return Status::Ok();
}

Status CheckSaved(const SavedConnection& c) {
  RUNTRACK_RETURN_IF_ERROR(CheckToken(c.name, "name", 64));
  RUNTRACK_RETURN_IF_ERROR(CheckToken(c.host, "host", 255));
  RUNTRACK_RETURN_IF_ERROR(CheckToken(c.username, "username", 64));
  if (c.port < 1 || c.port > 65535) return Status::InvalidArgument("port must be 1..65535");
  if (c.private_key_path.size() > 4096) return Status::InvalidArgument("private_key_path is too long");
  return Status::Ok();
}

// The file's fields are exactly these: there is no field a secret could be written to.
Status WriteConnections(const fs::path& file, const std::vector<SavedConnection>& all) {
  json::array arr;
  for (const auto& c : all)
    arr.push_back(json::object{{"name", c.name},
                               {"host", c.host},
                               {"port", c.port},
                               {"username", c.username},
                               {"private_key_path", c.private_key_path},
                               {"use_agent", c.use_agent}});
  std::error_code ec;
  fs::create_directories(file.parent_path(), ec);
  return WriteSecretFile(file, json::serialize(json::object{{"version", 1}, {"connections", arr}}));
}

// SFTP starts in the home directory, so "~/x" is the relative "x" (as for the remote viewer).
std::string HomeRelative(const std::string& path) {
  if (path.empty() || path == "~" || path == "~/") return ".";
  if (path.starts_with("~/")) return path.substr(2);
  return path;
}

Status CheckRemotePath(const std::string& value, const char* what) {
  if (value.empty()) return Status::InvalidArgument(std::string(what) + " is required");
  if (value.size() > 4096) return Status::InvalidArgument(std::string(what) + " is longer than 4096 characters");
  for (unsigned char c : value)
    if (c < 0x20 || c == 0x7f) return Status::InvalidArgument(std::string(what) + " must not contain control characters");
  return Status::Ok();
}

}  // namespace

JournalAppender IngestAppender(IngestService& ingest) {
  return [&ingest](std::string_view run_id, std::string_view stream, uint64_t offset,
                   std::string_view bytes) -> Result<uint64_t> {
    RUNTRACK_ASSIGN_OR_RETURN(IngestAck ack, ingest.Ingest(run_id, stream, std::to_string(offset),
                                                           bytes.empty() ? std::string() : runtrack::CompressIngestBody(bytes)));
    return ack.offset;
  };
}

fs::path RemoteConnectionsFileFor(const fs::path& config_file) {
  return config_file.parent_path() / "remote_connections.json";
}

CompactedRunTarget IngestInstaller(IngestService& ingest, const runtrack::StoreLayout& layout) {
  return {layout, [&ingest](std::string_view run_id, const runtrack::CompactedRunFiles& run) {
            return ingest.InstallCompactedRun(run_id, run);
          }};
}

RemoteService::RemoteService(runtrack::StoreLayout layout, fs::path saved_file, JournalAppender append,
                             std::optional<CompactedRunTarget> compacted)
    : layout_(std::move(layout)),
      saved_file_(std::move(saved_file)),
      known_hosts_(layout_.ssh_known_hosts_path()),
      append_(std::move(append)),
      compacted_(std::move(compacted)) {}

RemoteService::~RemoteService() {
  // The mode's passes use the sessions and the appender: it ends before they go.
  std::unique_ptr<PeriodicPull> sync;
  {
    std::lock_guard<std::mutex> lock(sync_mu_);
    sync = std::move(sync_);
  }
}

Result<RemoteConnection> RemoteService::Connect(const SshCredentials& creds, ConnectError* error) {
  for (auto [value, what] : {std::pair{&creds.host, "host"}, std::pair{&creds.username, "username"}}) {
    if (Status st = CheckToken(*value, what, 255); !st.ok()) {
      error->status = st;
      return st;
    }
  }
  auto session = SshSession::Connect(creds, known_hosts_, error);
  if (!session) return error->status;
  RemoteConnection c;
  c.connection_id = ConnectionId(creds.username, creds.host, creds.port);
  c.host = creds.host;
  c.port = creds.port;
  c.username = creds.username;
  c.connected_at =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  std::lock_guard<std::mutex> lock(mu_);
  sessions_[c.connection_id] = {c, std::shared_ptr<SshSession>(std::move(session))};
  return c;
}

Status RemoteService::ConfirmHostKey(const std::string& host, int port, const std::string& fingerprint_sha256) {
  RUNTRACK_RETURN_IF_ERROR(CheckToken(host, "host", 255));
  std::lock_guard<std::mutex> lock(known_hosts_mu_);
  return SshSession::ConfirmHostKey(host, port, fingerprint_sha256, known_hosts_);
}

Status RemoteService::Disconnect(const std::string& connection_id) {
  viewers_.StopForConnection(connection_id);
  {
    std::unique_ptr<PeriodicPull> sync;  // joined outside the lock
    {
      std::lock_guard<std::mutex> lock(sync_mu_);
      if (sync_ && sync_->config().connection_id == connection_id) sync = std::move(sync_);
    }
  }
  std::shared_ptr<SshSession> gone;  // closed outside the lock
  std::lock_guard<std::mutex> lock(mu_);
  auto it = sessions_.find(connection_id);
  if (it == sessions_.end()) return Status::NotFound("no open SSH connection '" + connection_id + "'");
  gone = std::move(it->second.second);
  sessions_.erase(it);
  return Status::Ok();
}

std::vector<RemoteConnection> RemoteService::Sessions() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<RemoteConnection> out;
  for (const auto& [id, s] : sessions_) out.push_back(s.first);
  return out;
}

Result<std::shared_ptr<SshSession>> RemoteService::Session(const std::string& connection_id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = sessions_.find(connection_id);
  if (it == sessions_.end())
    return Status::NotFound("no open SSH connection '" + connection_id + "': connect first (POST /api/remote/connect)");
  return it->second.second;
}

Result<std::vector<RemoteEntry>> RemoteService::ListDirectory(const std::string& connection_id, const std::string& path) {
  RUNTRACK_ASSIGN_OR_RETURN(auto session, Session(connection_id));
  return session->ListDirectory(path);
}

Result<PullSyncReport> RemoteService::Pull(const std::string& connection_id, const std::string& remote_root,
                                           const PullSyncOptions& options) {
  RUNTRACK_ASSIGN_OR_RETURN(auto session, Session(connection_id));
  if (!options.compacted && compacted_) {
    PullSyncOptions with = options;
    with.compacted = compacted_;
    return PullSync(*session, remote_root, append_, with);
  }
  return PullSync(*session, remote_root, append_, options);
}

Result<RemoteViewerSession> RemoteService::StartViewer(const std::string& connection_id,
                                                       const RemoteViewerOptions& options) {
  RUNTRACK_ASSIGN_OR_RETURN(auto session, Session(connection_id));
  return viewers_.Start(std::move(session), connection_id, options);
}

Result<RemoteConnection> RemoteService::ResolveConnection(const std::string& connection_id) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (!connection_id.empty()) {
    auto it = sessions_.find(connection_id);
    if (it == sessions_.end())
      return Status::NotFound("no open SSH connection '" + connection_id + "': connect first (POST /api/unified/connect)");
    return it->second.first;
  }
  if (sessions_.empty()) return Status::NotFound("not connected: connect first (POST /api/unified/connect)");
  if (sessions_.size() > 1)
    return Status::InvalidArgument("connection_id is required: " + std::to_string(sessions_.size()) +
                                   " SSH connections are open");
  return sessions_.begin()->second.first;
}

Result<std::string> RemoteService::ResolveRemotePath(const std::string& connection_id, const std::string& path) {
  RUNTRACK_RETURN_IF_ERROR(CheckRemotePath(path.empty() ? "~" : path, "path"));
  RUNTRACK_ASSIGN_OR_RETURN(auto session, Session(connection_id));
  // OpenSSH resolves a path whose last component is missing, so existence is checked apart.
  auto real = session->RealPath(HomeRelative(path));
  Status exists = real.ok() ? session->Stat(*real).status() : real.status();
  if (exists.code() == runtrack::StatusCode::kNotFound)
    return Status::NotFound("remote path '" + path + "' does not exist on " + connection_id);
  RUNTRACK_RETURN_IF_ERROR(exists);
  return real;
}

Result<SyncModeState> RemoteService::ConfigureSyncMode(SyncModeConfig config) {
  if (config.mode != "smart" && config.mode != "mirror") return Status::InvalidArgument("mode must be 'smart' or 'mirror'");
  RUNTRACK_RETURN_IF_ERROR(CheckRemotePath(config.remote_root, "remote_root"));
  if (!std::isfinite(config.sync_interval_minutes) || config.sync_interval_minutes <= 0 ||
      config.sync_interval_minutes > 1440)
    return Status::InvalidArgument("sync_interval_minutes must be a number above 0, at most 1440");
  if (!std::isfinite(config.mirror_interval_seconds) || config.mirror_interval_seconds < 0.5 ||
      config.mirror_interval_seconds > 3600)
    return Status::InvalidArgument("mirror_interval must be a number of seconds from 0.5 to 3600");
  RUNTRACK_ASSIGN_OR_RETURN(RemoteConnection conn, ResolveConnection(config.connection_id));
  config.connection_id = conn.connection_id;
  RUNTRACK_ASSIGN_OR_RETURN(auto session, Session(conn.connection_id));

  // The root must be a store: a typo would otherwise sync nothing, quietly, on every pass.
  const std::string where = conn.connection_id;
  const std::string root = HomeRelative(config.remote_root);
  auto root_entry = session->Stat(root);
  if (!root_entry.ok()) {
    if (root_entry.status().code() == runtrack::StatusCode::kNotFound)
      return Status::NotFound("remote root '" + config.remote_root + "' does not exist on " + where);
    return root_entry.status();
  }
  if (!root_entry->is_dir)
    return Status::InvalidArgument("remote root '" + config.remote_root + "' on " + where + " is not a directory");
  if (auto runs = session->Stat(runtrack::StoreLayout(root).runs_dir().string()); !runs.ok() || !runs->is_dir)
    return Status::InvalidArgument("remote root '" + config.remote_root + "' on " + where +
                                   " is not a runicorn store (it has no runs folder)");

  std::unique_ptr<PeriodicPull> old;
  std::chrono::milliseconds minute;
  {
    std::lock_guard<std::mutex> lock(sync_mu_);
    old = std::move(sync_);
    minute = sync_minute_;
  }
  old.reset();  // its last pass ends before the new mode's first starts
  std::optional<std::chrono::milliseconds> interval;
  auto scaled = [&minute](double minutes) {
    return std::max(std::chrono::milliseconds(1),
                    std::chrono::milliseconds(static_cast<int64_t>(minutes * static_cast<double>(minute.count()))));
  };
  if (config.mode == "mirror") {
    interval = scaled(config.mirror_interval_seconds / 60.0);
  } else if (config.auto_sync) {
    interval = scaled(config.sync_interval_minutes);
  }
  const std::string id = config.connection_id;
  auto fresh = std::make_unique<PeriodicPull>(std::move(config), interval,
                                              [this, id, root] { return Pull(id, root); });
  SyncModeState state = fresh->State();
  {
    std::lock_guard<std::mutex> lock(sync_mu_);
    old = std::move(sync_);  // a configure that raced this one
    sync_ = std::move(fresh);
  }
  return state;
}

std::optional<SyncModeState> RemoteService::DeactivateSyncMode() {
  std::unique_ptr<PeriodicPull> sync;
  {
    std::lock_guard<std::mutex> lock(sync_mu_);
    sync = std::move(sync_);
  }
  if (!sync) return std::nullopt;
  sync->Stop();
  return sync->State();
}

std::optional<SyncModeState> RemoteService::ActiveSyncMode() const {
  std::lock_guard<std::mutex> lock(sync_mu_);
  if (!sync_) return std::nullopt;
  return sync_->State();
}

void RemoteService::SetSyncMinuteForTesting(std::chrono::milliseconds minute) {
  std::lock_guard<std::mutex> lock(sync_mu_);
  sync_minute_ = minute;
}

Result<std::vector<SavedConnection>> RemoteService::SavedConnections() const {
  std::vector<SavedConnection> out;
  auto text = ReadSecretFile(saved_file_);
  if (!text.ok()) {
    if (text.status().code() == runtrack::StatusCode::kNotFound) return out;
    return text.status();
  }
  boost::system::error_code ec;
  json::value v = runtrack::ParseJson(*text, ec);
  if (ec || !v.is_object() || !v.as_object().contains("connections") || !v.at("connections").is_array())
    return Status::Corruption("unreadable saved connections file " + saved_file_.string());
  for (const auto& e : v.at("connections").as_array()) {
    if (!e.is_object()) continue;
    const auto& o = e.as_object();
    SavedConnection c;
    auto str = [&o](const char* k) {
      const auto* x = o.if_contains(k);
      return x != nullptr && x->is_string() ? std::string(x->as_string()) : std::string();
    };
    c.name = str("name");
    c.host = str("host");
    c.username = str("username");
    c.private_key_path = str("private_key_path");
    if (const auto* p = o.if_contains("port"); p != nullptr && p->is_int64()) c.port = static_cast<int>(p->as_int64());
    if (const auto* a = o.if_contains("use_agent"); a != nullptr && a->is_bool()) c.use_agent = a->as_bool();
    out.push_back(std::move(c));
  }
  return out;
}

Status RemoteService::SaveConnection(SavedConnection connection) {
  if (connection.name.empty()) connection.name = ConnectionId(connection.username, connection.host, connection.port);
  RUNTRACK_RETURN_IF_ERROR(CheckSaved(connection));
  std::lock_guard<std::mutex> lock(saved_mu_);
  RUNTRACK_ASSIGN_OR_RETURN(auto all, SavedConnections());
  std::erase_if(all, [&](const SavedConnection& c) { return c.name == connection.name; });
  all.push_back(std::move(connection));
  return WriteConnections(saved_file_, all);
}

Status RemoteService::DeleteSavedConnection(const std::string& name) {
  std::lock_guard<std::mutex> lock(saved_mu_);
  RUNTRACK_ASSIGN_OR_RETURN(auto all, SavedConnections());
  const size_t before = all.size();
  std::erase_if(all, [&](const SavedConnection& c) { return c.name == name; });
  if (all.size() == before) return Status::NotFound("no saved connection '" + name + "'");
  return WriteConnections(saved_file_, all);
}

}  // namespace runicorn::service::ssh
