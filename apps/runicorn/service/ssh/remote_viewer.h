// Remote viewers: a `runicorn viewer` started on an SSH host over an exec channel and reached
// through a local tunnel (tunnel.h) at http://127.0.0.1:<local_port> (docs/REMOTE.md "Remote
// viewer"; routes /api/remote/viewer/*).
//
// Start: the remote store must exist and be a store. A per-start token is written over SFTP to a
// file only the SSH user can read (`~/.runicorn-remote/<session_id>/token`, 0600) and passed as
// `--token-file`, never on a command line; the viewer is started detached (setsid nohup, its
// output in `viewer.log` beside the token) bound to 127.0.0.1 on the remote host, and its PID is
// recorded. Start returns once the viewer has announced itself (its viewer.json names that PID)
// and answers /api/health through the tunnel; the token file is then removed (the viewer has
// read it). A viewer that exits first, or does not answer in time, is an IOError carrying the
// tail of its output.
//
// Stop: TERM to the recorded PID, KILL after a grace period; the PID is only signalled while its
// command line is still our start's (so a reused PID is never hit). The tunnel closes too.
// Disconnecting the SSH connection stops its viewers; so does destroying RemoteViewers.
//
// Paths on the remote host are used as given; "~/x" means x in the SSH user's home. The remote
// host must be Linux (liveness is read from /proc there).
//
// Thread safety: every method may be called from any thread.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "runtrack/status.h"
#include "service/ssh/ssh_session.h"

namespace runicorn::service::ssh {

struct RemoteViewerOptions {
  std::string remote_root;              // the remote store (required)
  std::string runicorn_path = "runicorn";  // the remote binary: a path, or a name on the remote PATH
  int remote_port = 0;                  // 0: the remote viewer picks a free port
  int local_port = 0;                   // 0: a free local port
  int ready_timeout_seconds = 30;       // for the viewer to answer /api/health
  int stop_grace_seconds = 5;           // between TERM and KILL
};

struct RemoteViewerSession {
  std::string session_id;     // 16 hex digits
  std::string connection_id;  // the SSH connection it runs over
  std::string remote_host;
  int remote_port = 0;  // the viewer's port on the remote host (its 127.0.0.1)
  int local_port = 0;   // the tunnel's port here
  std::string remote_root;
  std::string runicorn_path;
  int64_t pid = 0;             // the viewer's PID on the remote host
  std::string status;          // "running" or "stopped"
  int64_t created_at = 0;      // Unix seconds
  std::string local_url;       // "http://127.0.0.1:<local_port>"
  std::string token;           // the remote viewer's bearer token (Start's answer only)
};

class RemoteViewers {
 public:
  RemoteViewers();
  ~RemoteViewers();  // stops every viewer

  // InvalidArgument: bad options, or the root is not a directory / not a store; NotFound: no such
  // remote root; Busy: local_port taken; IOError: the viewer did not start (its output's tail).
  runtrack::Result<RemoteViewerSession> Start(std::shared_ptr<SshSession> session, const std::string& connection_id,
                                              const RemoteViewerOptions& options);
  // NotFound for an unknown id; stopping a stopped viewer is Ok (and changes nothing).
  runtrack::Result<RemoteViewerSession> Stop(const std::string& session_id);
  // Asks the remote host whether the PID still runs (a viewer that died is "stopped").
  runtrack::Result<RemoteViewerSession> Query(const std::string& session_id);
  std::vector<RemoteViewerSession> Sessions() const;
  // Stops and forgets every viewer started over `connection_id` (it is being disconnected).
  void StopForConnection(const std::string& connection_id);

 private:
  struct Entry;
  std::shared_ptr<Entry> Find(const std::string& session_id) const;

  mutable std::mutex mu_;  // entries_
  std::map<std::string, std::shared_ptr<Entry>> entries_;
};

}  // namespace runicorn::service::ssh
