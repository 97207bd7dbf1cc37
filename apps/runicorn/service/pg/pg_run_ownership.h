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
// Which replica a bucket belongs to: its *preferred* live replica, by rendezvous (HRW) hashing of
// the bucket and the replica ids (ReplicaScore). A replica is live while its ownership session
// holds the shared advisory lock kLivenessLockKey (taken at registration; a dead session frees it,
// so a reused backend pid never looks live). Claim takes a free bucket only where it is
// preferred; elsewhere it answers the preferred replica (`unclaimed`), the ingest is forwarded
// there and taken on arrival. The lock decides, never the hash: two replicas that disagree on the
// live set for a moment still cannot both hold a bucket.
//
// Unreachable preferred replicas (ClaimInsteadOf): a replica whose session lives but whose HTTP
// does not answer a forward is remembered as unreachable for a while; meanwhile a free bucket it
// is preferred for is taken by the replica its ingest reached (the same exclusive lock, so still
// one holder), and buckets so taken are not released to it until it answers again.
//
// Rebalancing (ReleaseUnpreferred, run by a periodic pass): a held bucket another live replica is
// preferred for is unlocked once no ingest claimed it here for `claim_quiet` and every run of it in
// this store is settled (ended, sealed, in the bucket and the segment index): the new holder
// serves those runs from the bucket, so nothing acknowledged stays only on this disk. Claims and
// the final re-check before the unlock are serialised by the session mutex (docs/SCALE-OUT.md
// "Rebalancing" has the argument).
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
#include <vector>

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
inline uint64_t RunBucket(std::string_view run_id) { return RunIdHash(run_id) % kOwnershipBuckets; }

// Held SHARED by every live replica's ownership session ("live" in the high 32 bits).
inline constexpr int64_t kLivenessLockKey = static_cast<int64_t>(0x6C697665ull << 32);

// Rendezvous hashing: the replica with the highest score for a bucket is the one it belongs to.
// FNV-1a 64 of the id, mixed with the bucket by SplitMix64's finaliser. A wire format between
// replicas, like RunIdHash (a test pins values).
uint64_t ReplicaScore(uint64_t bucket, std::string_view replica_id);
// The id with the highest score for `bucket` (ties: the smaller id); "" for an empty list.
std::string PreferredReplica(uint64_t bucket, const std::vector<std::string>& replica_ids);

// What one ReleaseUnpreferred pass saw and did (logs, tests).
struct BucketRelease {
  size_t held = 0;           // buckets held when the pass started
  size_t unpreferred = 0;    // of them, preferred elsewhere now
  size_t unreachable = 0;    // ... kept: the replica preferred for them did not answer a forward lately
  size_t recently_claimed = 0;  // ... kept: an ingest claimed them here less than claim_quiet ago
  size_t busy = 0;           // ... kept: a run of them here is not settled
  size_t released = 0;       // ... unlocked
};

struct PgRunOwnershipOptions {
  std::string conninfo;    // as for --catalog (no password in it)
  std::string replica_url; // where other replicas forward this one's ingest ("": they cannot)
  std::string replica_id;  // "": <host>-<pid>-<random>
  // A bucket an ingest claimed here less than this long ago is never released: the claim's append
  // creates the run's folder at once, and the release checks the folders (see ReleaseUnpreferred).
  std::chrono::milliseconds claim_quiet{10000};
};

class PgRunOwnership : public RunOwnership {
 public:
  // Connects, brings the schema up to date and registers this replica (pruning the rows of
  // replicas whose connection is gone). IOError when PostgreSQL cannot be reached.
  static runtrack::Result<std::unique_ptr<PgRunOwnership>> Open(PgRunOwnershipOptions options);
  ~PgRunOwnership() override;

  runtrack::Result<RunOwner> Claim(std::string_view run_id) override;
  // Never marks this replica itself. Remembering lives in memory: a restarted replica forgets.
  runtrack::Result<RunOwner> ClaimInsteadOf(std::string_view run_id, std::string_view unreachable,
                                            std::chrono::milliseconds remember_for) override;
  void NoteReachable(std::string_view replica_id) override;
  // One pg_locks look-up per bucket and second at most: answers are kept kOwnerCacheTtl.
  runtrack::Result<std::optional<RunOwner>> Find(std::string_view run_id, bool allow_cached) override;
  static constexpr std::chrono::milliseconds kOwnerCacheTtl{1000};
  const std::string& replica_id() const override { return options_.replica_id; }

  // Lets go of the buckets another live replica is preferred for, where nothing depends on this
  // replica's disk (see the top of this file). Busy/IOError when PostgreSQL cannot be asked (then
  // nothing is released).
  runtrack::Result<BucketRelease> ReleaseUnpreferred(LocalRunActivity& activity);

  // The ids of the live replicas (their sessions hold kLivenessLockKey), sorted.
  runtrack::Result<std::vector<std::string>> LiveReplicas();
  // The buckets (RunBucket) this replica holds now, sorted (tests, logs).
  std::vector<uint64_t> HeldBuckets();

  // The backend pid of the ownership connection (tests terminate it to simulate a lost session).
  int backend_pid();

 private:
  explicit PgRunOwnership(PgRunOwnershipOptions options) : options_(std::move(options)) {}
  // A fresh ownership connection, registered; every lock of the old one is gone.
  runtrack::Status Reconnect();
  runtrack::Result<RunOwner> ClaimLocked(std::string_view run_id, int64_t key);
  struct LiveReplica {
    std::string id, url;
  };
  // Live replicas with a URL (others cannot be forwarded to), plus this one; on conn_ (mu_ held).
  runtrack::Result<std::vector<LiveReplica>> LiveLocked();
  // The session is usable: reconnected (and registered) if it had died. mu_ held.
  runtrack::Status EnsureSession();
  // Find's cache entry for `key` (mu_ held, so a release or claim and the cache never disagree).
  void CacheOwner(int64_t key, std::optional<RunOwner> owner, std::chrono::steady_clock::time_point now);
  // `replica_id` did not answer a forward less than its remember_for ago (ClaimInsteadOf).
  bool Unreachable(const std::string& replica_id, std::chrono::steady_clock::time_point now);

  const PgRunOwnershipOptions options_;
  // Timed: a stalled PostgreSQL must not hold every I/O thread in Claim (they answer 503 instead).
  std::timed_mutex mu_;
  std::unique_ptr<PgConnection> conn_;
  int backend_pid_ = 0;
  std::set<int64_t> held_;  // keys locked on conn_ (a lock is taken once: they are re-entrant)
  // When a Claim last answered `here` for a held key (pruned with the key).
  std::map<int64_t, std::chrono::steady_clock::time_point> last_claim_;
  // Find's answers by key (at most kOwnershipBuckets entries), under their own mutex so a cached
  // answer never waits for a claim in progress.
  struct CachedOwner {
    std::optional<RunOwner> owner;
    std::chrono::steady_clock::time_point until;
  };
  std::mutex cache_mu_;
  std::map<int64_t, CachedOwner> owner_cache_;
  // Replicas that did not answer a forward, until when (one entry per live replica at most, expired
  // ones pruned when one is added). Own mutex: NoteReachable runs on I/O threads after every
  // answered forward and must not wait for a claim's PostgreSQL round trip (order: mu_, then this).
  std::mutex unreachable_mu_;
  std::map<std::string, std::chrono::steady_clock::time_point, std::less<>> unreachable_until_;
};

}  // namespace runicorn::service::pg
