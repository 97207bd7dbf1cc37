// Runicorn's SSH remote as use cases (docs/REMOTE.md "SSH remote"; routes /api/remote/*):
// connect / disconnect / status, host-key confirmation, saved connections, remote directory
// listing and pull sync of a remote store into this one.
//
// Open sessions live in this service (one per connection id "user@host:port"), so the HTTP
// routes can connect once and list or sync later. Saved connections are kept in the user config
// dir (`remote_connections.json`) without secrets: a password or key passphrase is accepted by
// Connect, used, and never stored or returned.
//
// Thread safety: every method may be called from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "runtrack/layout.h"
#include "runtrack/status.h"
#include "service/ssh/pull_sync.h"
#include "service/ssh/remote_viewer.h"
#include "service/ssh/ssh_session.h"
#include "service/ssh/sync_mode.h"

namespace runicorn::service {
class IngestService;
}

namespace runicorn::service::ssh {

struct RemoteConnection {
  std::string connection_id;  // "user@host:port"
  std::string host;
  int port = 22;
  std::string username;
  int64_t connected_at = 0;  // Unix seconds
};

// A saved connection: what is needed to connect again, minus the secrets.
struct SavedConnection {
  std::string name;  // 1-64 printable characters; defaults to the connection id
  std::string host;
  int port = 22;
  std::string username;
  std::string private_key_path;  // a path, never the key
  bool use_agent = true;
};

std::filesystem::path RemoteConnectionsFileFor(const std::filesystem::path& config_file);
// Appends through the journal-shipping receiver of `ingest` (stream "0"), which must outlive it.
JournalAppender IngestAppender(IngestService& ingest);
// Installs runs compacted on the remote host through the same receiver (its per-run lock), into
// `ingest`'s store at `layout`; `ingest` must outlive it.
CompactedRunTarget IngestInstaller(IngestService& ingest, const runtrack::StoreLayout& layout);

class RemoteService {
 public:
  // `compacted`: how runs compacted remotely are installed (PullSyncOptions::compacted, used by
  // Pull when the caller's options do not set it); unset: such runs are skipped.
  RemoteService(runtrack::StoreLayout layout, std::filesystem::path saved_file, JournalAppender append,
                std::optional<CompactedRunTarget> compacted = std::nullopt);
  ~RemoteService();

  // On failure `error` says why (host key to confirm, authentication refused, unreachable).
  // Connecting again under the same id replaces the old session.
  runtrack::Result<RemoteConnection> Connect(const SshCredentials& creds, ConnectError* error);
  runtrack::Status ConfirmHostKey(const std::string& host, int port, const std::string& fingerprint_sha256);
  // NotFound for an unknown id.
  runtrack::Status Disconnect(const std::string& connection_id);
  std::vector<RemoteConnection> Sessions() const;

  runtrack::Result<std::vector<RemoteEntry>> ListDirectory(const std::string& connection_id, const std::string& path);
  runtrack::Result<PullSyncReport> Pull(const std::string& connection_id, const std::string& remote_root,
                                        const PullSyncOptions& options = {});

  // A `runicorn viewer` on the remote host, tunneled to a local port (remote_viewer.h).
  // Disconnect stops the viewers started over that connection.
  runtrack::Result<RemoteViewerSession> StartViewer(const std::string& connection_id, const RemoteViewerOptions& options);
  runtrack::Result<RemoteViewerSession> StopViewer(const std::string& session_id) { return viewers_.Stop(session_id); }
  runtrack::Result<RemoteViewerSession> ViewerStatus(const std::string& session_id) { return viewers_.Query(session_id); }
  std::vector<RemoteViewerSession> ViewerSessions() const { return viewers_.Sessions(); }

  // Runicorn's /api/unified/* name no connection: an empty `connection_id` means the only open
  // one. NotFound when none is open (or the id is unknown); InvalidArgument when several are.
  runtrack::Result<RemoteConnection> ResolveConnection(const std::string& connection_id) const;
  // The absolute, canonical form of an existing remote path ("", "~" and "~/x" relative to the
  // SSH user's home). NotFound "remote path 'P' does not exist on <id>".
  runtrack::Result<std::string> ResolveRemotePath(const std::string& connection_id, const std::string& path);

  // Sync modes (sync_mode.h): one at a time; configuring replaces the active mode. The remote
  // root must be a store (NotFound: no such path; InvalidArgument: not a store, bad intervals).
  // Disconnecting the mode's connection deactivates it.
  runtrack::Result<SyncModeState> ConfigureSyncMode(SyncModeConfig config);
  // The state of the mode that was stopped (nullopt: none was active). Returns once its thread
  // has ended.
  std::optional<SyncModeState> DeactivateSyncMode();
  std::optional<SyncModeState> ActiveSyncMode() const;
  // Tests only: how long a "minute" of sync_interval_minutes lasts (a mirror second is 1/60 of
  // it), so a test sees several passes without waiting minutes. Applies to modes configured later.
  void SetSyncMinuteForTesting(std::chrono::milliseconds minute);

  runtrack::Result<std::vector<SavedConnection>> SavedConnections() const;
  // Adds or replaces (by name). InvalidArgument for a bad name, host, port or user.
  runtrack::Status SaveConnection(SavedConnection connection);
  runtrack::Status DeleteSavedConnection(const std::string& name);

  const std::filesystem::path& known_hosts() const { return known_hosts_; }

 private:
  runtrack::Result<std::shared_ptr<SshSession>> Session(const std::string& connection_id) const;

  const runtrack::StoreLayout layout_;
  const std::filesystem::path saved_file_;
  const std::filesystem::path known_hosts_;
  const JournalAppender append_;
  const std::optional<CompactedRunTarget> compacted_;
  mutable std::mutex mu_;              // sessions_
  std::mutex known_hosts_mu_;          // one confirmation at a time (libssh appends to the file)
  std::mutex saved_mu_;                // read-modify-write of the saved connections file
  std::map<std::string, std::pair<RemoteConnection, std::shared_ptr<SshSession>>> sessions_;
  RemoteViewers viewers_;  // stopped before the sessions close
  mutable std::mutex sync_mu_;  // sync_, sync_minute_; never held while taking mu_ first
  std::chrono::milliseconds sync_minute_{std::chrono::minutes(1)};
  std::unique_ptr<PeriodicPull> sync_;  // stopped first (in ~RemoteService): its passes use the rest
};

}  // namespace runicorn::service::ssh
