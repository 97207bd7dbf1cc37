// The viewer's background indexer: calls Catalog::Refresh() every `interval` so points a writer
// flushed become visible within interval + the writer's flush interval (250 ms + 250 ms by
// default), and crashed runs get marked. Bumps AppContext::index_generation whenever a pass (or a
// step of a long pass) changed anything, which wakes the WebSocket streams.
//
// It never stops the viewer: a failed pass (a full disk, a deleted catalog) marks ingestion
// degraded in storage->ingest_health() with the reason, is logged once per distinct reason, and is
// retried with exponential backoff (up to max_backoff); a catalog whose folder was deleted or
// replaced is re-opened (and so rebuilt from the journals); after a write error RocksDB is asked to
// resume before the retry, and when it will not (its own full-disk recovery waits for 64 MiB of
// free space) the catalog is re-opened once the disk has at least 1 MiB free again. A catalog
// opened read-only (a viewer started on a disk too full to open it read-write) keeps serving while
// health says "degraded" ("catalog read-only: <why>"), and is re-opened read-write the same way
// once there is room. The first pass that succeeds again clears the degraded state.
//
// Thread safety: Start/StartInBackground/Stop from one controlling thread. Stop() waits for the
// pass in progress.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "server/app_context.h"

namespace runicorn::server {

class Indexer {
 public:
  Indexer(AppContext& ctx, std::chrono::milliseconds interval,
          std::chrono::milliseconds max_backoff = std::chrono::seconds(5))
      : ctx_(ctx), interval_(interval), max_backoff_(max_backoff) {}
  ~Indexer() { Stop(); }

  // Runs one pass synchronously (so the first requests see an indexed store), then starts the loop.
  runtrack::Status Start();
  // Starts the loop at once; its first pass runs in the background and reports its progress in
  // ingest_health(), so the viewer can listen while a large store is indexed.
  void StartInBackground();
  void Stop();

 private:
  void Loop(bool first_pass_pending);
  // One pass; true when it succeeded (nothing degraded).
  bool Pass();
  bool RecoverCatalog();
  // After a write error RocksDB will not resume: re-open the catalog if the disk has room again.
  bool ReopenAfterWriteError();
  // Re-opens a read-only catalog read-write when the disk has room; false while it stays read-only.
  bool LeaveReadOnly();
  void DegradeReadOnly(const std::string& why);
  bool HasRoomToReopen() const;
  // Free space needed before that re-open (below it, the failing catalog keeps serving reads).
  static constexpr uint64_t kReopenFreeBytes = 1u << 20;
  void Degrade(const std::string& reason);
  void LogOnce(const std::string& key, const std::string& message);

  AppContext& ctx_;
  std::chrono::milliseconds interval_;
  std::chrono::milliseconds max_backoff_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  // Indexer thread only: what was logged, so a persisting failure is logged once, not every pass.
  std::map<std::string, std::string> logged_;
  bool write_error_ = false;  // the last failure may have left RocksDB refusing writes
  int failures_in_a_row_ = 0;
};

}  // namespace runicorn::server
