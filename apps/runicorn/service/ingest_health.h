// What the viewer's indexer knows about its own state, for /api/health: start-up progress, and
// whether ingestion is degraded (a full disk, a deleted catalog, runs that cannot be indexed) and
// why. Written by the indexer thread, read by any thread.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>

namespace runicorn::service {

struct IngestHealthSnapshot {
  // "starting" (no pass finished yet: runs_indexed of runs_total are in), then "ok" or "degraded".
  std::string state = "starting";
  uint64_t runs_indexed = 0;  // during start-up: runs drained by the first pass so far
  uint64_t runs_total = 0;    // during start-up: runs the first pass found
  std::string reason;         // why degraded; empty otherwise
  double degraded_since = 0;  // Unix seconds; 0 when not degraded
  uint64_t ingest_errors = 0;   // distinct per-run ingest failures since start (each logged once)
  uint64_t failed_passes = 0;   // index passes that failed as a whole since start
  uint64_t catalog_reopens = 0; // times the catalog was re-opened (e.g. deleted under the viewer)
  uint64_t retry_ms = 0;        // while degraded: delay before the next attempt (backoff)
};

class IngestHealth {
 public:
  IngestHealthSnapshot Get() const {
    std::lock_guard lock(mu_);
    return snapshot_;
  }
  template <typename F>
  void Update(F&& change) {
    std::lock_guard lock(mu_);
    change(snapshot_);
  }

 private:
  mutable std::mutex mu_;
  IngestHealthSnapshot snapshot_;
};

}  // namespace runicorn::service
