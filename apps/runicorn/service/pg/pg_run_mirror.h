// Keeps the PostgreSQL run index (PgRunCatalog) up to date with the runs this replica's local
// store holds (`runicorn viewer --catalog`, docs/SCALE-OUT.md "Viewer on PostgreSQL").
//
// The local store stays the source of truth for its runs: writers append to its journals and the
// viewer's indexer ingests them into the local RocksDB catalog. After every indexer pass, Pass()
// compares the local run index with what it last wrote to PostgreSQL and writes only the
// difference: new or changed runs are upserted in batches (one transaction per batch), runs that
// left the local store (permanently deleted) are removed. A write that fails is retried by the
// next pass, so PostgreSQL catches up after an outage without losing or reordering anything.
//
// Thread safety: Pass() and SyncRun() may be called from any threads; they are serialised, so an
// older local state is never written over a newer one.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <type_traits>

#include "service/pg/pg_run_catalog.h"
#include "service/storage.h"

namespace runicorn::service::pg {

// Runs `call` again while it fails on a connection the server dropped (a pooled connection that
// outlived a PostgreSQL restart fails once, then the pool drops it): at most one attempt per
// pooled connection plus one. A server that cannot be reached ("cannot connect") fails at once.
// Only for idempotent calls.
template <typename Call>
auto RetryDroppedConnections(const Call& call) {
  auto result = call();
  for (int attempt = 0; attempt < 5; ++attempt) {
    const runtrack::Status& s = [&]() -> const runtrack::Status& {
      if constexpr (std::is_same_v<decltype(result), runtrack::Status>) return result;
      else return result.status();
    }();
    if (s.code() != runtrack::StatusCode::kIOError ||
        s.message().find("postgresql: cannot connect") != std::string::npos)
      break;
    result = call();
  }
  return result;
}

struct PgRunMirrorStats {
  uint64_t upserted = 0;  // runs written by the last pass
  uint64_t removed = 0;   // runs removed by the last pass
};

class PgRunMirror {
 public:
  // Runs per upsert transaction: big enough that a first pass over 10^4 runs is a few hundred
  // round trips, small enough that one transaction never holds row locks for long.
  static constexpr size_t kBatch = 200;
  // A pass whose indexer pass changed nothing still compares everything every this many calls,
  // which picks up local changes made outside the indexer (a crashed run marked by maintenance).
  static constexpr int kFullCompareEvery = 20;

  PgRunMirror(const RunCatalog& local, PgRunCatalog& remote) : local_(local), remote_(remote) {}

  // One pass. `local_changed`: the indexer pass ingested something; otherwise the comparison is
  // skipped unless a write is pending or the periodic full compare is due. On failure the runs
  // not written stay pending and the error (IOError/Busy from PostgreSQL) is returned.
  runtrack::Status Pass(bool local_changed = true);
  // Writes one run's current local state now (or removes its row when the local store no longer
  // holds it). Used right after a lifecycle change so the next listing shows it; on failure the
  // run stays pending for the next Pass().
  runtrack::Status SyncRun(std::string_view id);

  PgRunMirrorStats last_pass() const;

 private:
  runtrack::Status CompareAndWrite();

  const RunCatalog& local_;
  PgRunCatalog& remote_;
  mutable std::mutex mu_;
  // What PostgreSQL holds for each run this mirror wrote: a fingerprint of its listing row. A run
  // whose write failed has an empty fingerprint (never equal), so the next pass rewrites it, or
  // removes it when it is gone locally.
  std::map<std::string, std::string, std::less<>> mirrored_;
  bool pending_ = true;  // the first pass always compares
  int passes_since_compare_ = 0;
  PgRunMirrorStats last_;
};

}  // namespace runicorn::service::pg
