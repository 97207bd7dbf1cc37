// Run ownership among viewer replicas on one PostgreSQL catalog (docs/SCALE-OUT.md "Replicas").
//
// A replica owns a live run while it holds the session-level advisory lock
// pg_try_advisory_lock(RunLockKey(run id)) (the key of the run's bucket) on ONE dedicated connection. The lock lives exactly as
// long as that session: a replica that dies (SIGKILL, machine loss) loses its connection and
// PostgreSQL frees its locks, so there is no lease to expire and no clock to trust. Every replica
// computes the same key for a run, so they contend for the same lock.
//
// The replica registers itself in `replicas` (migration 5) with the backend pid of that connection;
// the owner of a run is the `replicas` row whose backend pid holds the run's lock in pg_locks.
//
// Locks are kept for the life of the process (a released run could be taken by a replica whose
// copy is shorter while its writer has already compacted; see SCALE-OUT.md).
//
// Thread safety: Claim from any number of threads; the connection is used under a mutex.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "service/pg/pg_connection.h"
#include "service/run_ownership.h"

namespace runicorn::service::pg {

// FNV-1a 64 over the run id's bytes. Stable across replicas, builds and versions: it is a wire
// format between replicas.
uint64_t RunIdHash(std::string_view run_id);

// Runs are owned by bucket (the consistent hash of their id), so a replica holds at most this many
// advisory locks however many runs it ever received: every held lock takes a slot of PostgreSQL's
// shared lock table (max_locks_per_transaction x max_connections, 6,400 by default) and locks are
// kept for the life of the replica. Runs of one bucket share an owner, which costs balance, never
// correctness.
inline constexpr uint64_t kOwnershipBuckets = 1024;
// The high 32 bits of every ownership key ("runs"), so they never meet another application's
// advisory locks with small keys, nor the task queue's class.
inline constexpr uint64_t kOwnershipLockClass = 0x72756E73;

// The run's advisory lock key: kOwnershipLockClass in the high 32 bits, the run's bucket
// (RunIdHash % kOwnershipBuckets) in the low ones.
int64_t RunLockKey(std::string_view run_id);

struct PgRunOwnershipOptions {
  std::string conninfo;    // as for --catalog (no password in it)
  std::string replica_url; // where other replicas forward this one's ingest ("": they cannot)
  std::string replica_id;  // "": <host>-<pid>-<random>
};

class PgRunOwnership : public RunOwnership {
 public:
  // Connects, brings the schema up to date and registers this replica (pruning the rows of
  // replicas whose connection is gone). IOError when PostgreSQL cannot be reached.
  static runtrack::Result<std::unique_ptr<PgRunOwnership>> Open(PgRunOwnershipOptions options);
  ~PgRunOwnership() override;

  runtrack::Result<RunOwner> Claim(std::string_view run_id) override;
  // One pg_locks look-up per bucket and second at most: answers are kept kOwnerCacheTtl.
  runtrack::Result<std::optional<RunOwner>> Find(std::string_view run_id, bool allow_cached) override;
  static constexpr std::chrono::milliseconds kOwnerCacheTtl{1000};
  const std::string& replica_id() const override { return options_.replica_id; }

  // The backend pid of the ownership connection (tests terminate it to simulate a lost session).
  int backend_pid();

 private:
  explicit PgRunOwnership(PgRunOwnershipOptions options) : options_(std::move(options)) {}
  // A fresh ownership connection, registered; every lock of the old one is gone.
  runtrack::Status Reconnect();
  runtrack::Result<RunOwner> ClaimLocked(std::string_view run_id, int64_t key);

  const PgRunOwnershipOptions options_;
  // Timed: a stalled PostgreSQL must not hold every I/O thread in Claim (they answer 503 instead).
  std::timed_mutex mu_;
  std::unique_ptr<PgConnection> conn_;
  int backend_pid_ = 0;
  std::set<int64_t> held_;  // keys locked on conn_ (a lock is taken once: they are re-entrant)
  // Find's answers by key (at most kOwnershipBuckets entries), under their own mutex so a cached
  // answer never waits for a claim in progress.
  struct CachedOwner {
    std::optional<RunOwner> owner;
    std::chrono::steady_clock::time_point until;
  };
  std::mutex cache_mu_;
  std::map<int64_t, CachedOwner> owner_cache_;
};

}  // namespace runicorn::service::pg
