// Runicorn's sync modes (`POST /api/unified/configure_mode`, docs/REMOTE.md "Sync modes"): a
// pull sync (pull_sync.h) of one remote store into the local one, run by a thread this object owns
// — once at once, then on the mode's interval — until it is stopped.
//
// The two modes differ only in their interval, because our journals are what both of Runicorn's
// modes copy (metadata and metrics; media and artifacts are not pulled by either):
//   smart:  every `sync_interval_minutes` (default 5) when `auto_sync`; without it, one pass only.
//   mirror: every `mirror_interval_seconds` (default 2).
// A pass that fails (connection lost, remote root gone) is recorded in the state and the next
// pass is tried on the interval as usual: a transient fault does not end the mode.
//
// Thread safety: every method may be called from any thread. Stop() (and the destructor) return
// once the thread has ended: no pass runs afterwards, and none is half-done (a pass in progress
// finishes its current read and append; pull sync leaves only whole verified records anyway).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "runtrack/status.h"
#include "service/ssh/pull_sync.h"

namespace runicorn::service::ssh {

struct SyncModeConfig {
  std::string mode;  // "smart" or "mirror"
  std::string connection_id;
  std::string remote_root;
  bool auto_sync = true;               // smart: repeat on the interval (else one pass)
  double sync_interval_minutes = 5;    // smart
  double mirror_interval_seconds = 2;  // mirror
};

// What GET /api/unified/status shows of the mode. Times are Unix seconds (0: none).
struct SyncModeState {
  SyncModeConfig config;
  std::string state;           // "syncing", "waiting" (for the next pass), "idle" (no next pass), "stopped"
  double activated_at = 0;
  double last_sync_at = 0;     // when the last finished pass ended (successful or not)
  double next_sync_at = 0;     // when the next pass starts (0: none scheduled)
  uint64_t syncs = 0;          // finished passes
  uint64_t errors = 0;         // passes that failed
  uint64_t last_sync_bytes = 0;  // fetched by the last successful pass
  uint64_t bytes_fetched = 0;    // by every pass of this mode
  uint64_t runs_mirrored = 0;    // distinct runs this mode has pulled
  std::string last_error;        // of the last pass; empty when it succeeded
  std::vector<std::string> last_skipped;  // the last successful pass's skipped entries
};

class PeriodicPull {
 public:
  using PullFn = std::function<runtrack::Result<PullSyncReport>()>;

  // Starts the thread: the first pass at once, then one per `interval` (measured from the end of
  // a pass); no `interval`: the first pass only.
  PeriodicPull(SyncModeConfig config, std::optional<std::chrono::milliseconds> interval, PullFn pull);
  ~PeriodicPull();
  PeriodicPull(const PeriodicPull&) = delete;
  PeriodicPull& operator=(const PeriodicPull&) = delete;

  void Stop();
  SyncModeState State() const;
  const SyncModeConfig& config() const { return config_; }

 private:
  void Loop();

  const SyncModeConfig config_;
  const std::optional<std::chrono::milliseconds> interval_;
  const PullFn pull_;
  mutable std::mutex mu_;  // state_, runs_, stop_
  std::condition_variable wake_;
  bool stop_ = false;
  SyncModeState state_;
  std::set<std::string> runs_;
  std::thread thread_;  // last: started once the rest is set up
};

}  // namespace runicorn::service::ssh
