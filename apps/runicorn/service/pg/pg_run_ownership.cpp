#include "service/pg/pg_run_ownership.h"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <random>

#include <fmt/format.h>

#include "runtrack/validation.h"
#include "service/pg/pg_schema.h"

namespace runicorn::service::pg {
using runtrack::Result;
using runtrack::Status;

namespace {

// The owner of an advisory lock taken with the one-bigint form: pg_locks shows the key's high 32
// bits as classid, the low 32 bits as objid, and objsubid 1 (the two-int4 form uses 2).
constexpr const char* kOwnerQuery =
    "SELECT l.pid, r.replica_id, r.url FROM pg_locks l LEFT JOIN replicas r ON r.backend_pid = l.pid"
    " WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1"
    " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    " AND l.classid = $1::oid AND l.objid = $2::oid"
    " ORDER BY r.started_at DESC NULLS LAST LIMIT 1";

// Live replicas: registered rows whose session holds the shared liveness lock (so a backend pid
// reused by another session never looks live).
constexpr const char* kLiveQuery =
    "SELECT r.replica_id, r.url FROM replicas r WHERE EXISTS (SELECT 1 FROM pg_locks l"
    " WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 AND l.pid = r.backend_pid"
    " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    " AND l.classid = $1::oid AND l.objid = $2::oid) ORDER BY r.replica_id";

std::string DefaultReplicaId() {
  char host[256] = {0};
  if (::gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  std::random_device rd;
  return fmt::format("{}-{}-{:08x}", host[0] ? host : "replica", ::getpid(), rd());
}

Status Undecided(std::string_view run_id, const Status& why) {
  return Status::Busy(fmt::format("cannot tell which replica owns run {} now ({}); retry later", run_id, why.message()));
}

}  // namespace

uint64_t RunIdHash(std::string_view run_id) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : run_id) h = (h ^ c) * 1099511628211ull;
  return h;
}

int64_t RunLockKey(std::string_view run_id) {
  return static_cast<int64_t>((kOwnershipLockClass << 32) | RunBucket(run_id));
}

uint64_t ReplicaScore(uint64_t bucket, std::string_view replica_id) {
  uint64_t x = RunIdHash(replica_id) ^ (bucket * 0x9E3779B97F4A7C15ull);
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

std::string PreferredReplica(uint64_t bucket, const std::vector<std::string>& replica_ids) {
  const std::string* best = nullptr;
  uint64_t best_score = 0;
  for (const std::string& id : replica_ids) {
    const uint64_t score = ReplicaScore(bucket, id);
    if (!best || score > best_score || (score == best_score && id < *best)) {
      best = &id;
      best_score = score;
    }
  }
  return best ? *best : std::string();
}

Result<std::unique_ptr<PgRunOwnership>> PgRunOwnership::Open(PgRunOwnershipOptions options) {
  if (options.replica_id.empty()) options.replica_id = DefaultReplicaId();
  std::unique_ptr<PgRunOwnership> self(new PgRunOwnership(std::move(options)));
  {
    RUNTRACK_ASSIGN_OR_RETURN(auto conn, PgConnection::Connect(self->options_.conninfo));
    RUNTRACK_RETURN_IF_ERROR(MigrateSchema(*conn).status());
  }
  std::lock_guard lock(self->mu_);
  RUNTRACK_RETURN_IF_ERROR(self->Reconnect());
  return self;
}

PgRunOwnership::~PgRunOwnership() {
  std::lock_guard lock(mu_);
  // Best effort: a row left behind is pruned by the next replica to start, and ignored before.
  if (conn_ && conn_->healthy())
    (void)conn_->Exec("DELETE FROM replicas WHERE replica_id = $1", {options_.replica_id});
  conn_.reset();  // closing the session frees every lock it holds
}

int PgRunOwnership::backend_pid() {
  std::lock_guard lock(mu_);
  return backend_pid_;
}

Status PgRunOwnership::Reconnect() {
  held_.clear();
  last_claim_.clear();
  {
    std::lock_guard cache(cache_mu_);
    owner_cache_.clear();  // "here" answers died with the old session's locks
  }
  conn_.reset();
  RUNTRACK_ASSIGN_OR_RETURN(auto conn, PgConnection::Connect(options_.conninfo));
  // Ownership statements are tiny; one that takes longer means PostgreSQL is in trouble, and the
  // ingest waiting on it should get its 503 rather than wait.
  RUNTRACK_RETURN_IF_ERROR(conn->Exec("SET statement_timeout = 5000").status());
  // One row per live replica: this one's replaces an older row of the same id or of a dead session
  // that had the same backend pid (pids are reused), and rows of sessions gone are pruned.
  // (Two statements: a data-modifying CTE's DELETE is not visible to the INSERT beside it.)
  RUNTRACK_RETURN_IF_ERROR(conn->Exec("DELETE FROM replicas WHERE replica_id <> $1 AND (backend_pid = pg_backend_pid()"
                                      " OR backend_pid NOT IN (SELECT pid FROM pg_stat_activity))",
                                      {options_.replica_id})
                               .status());
  RUNTRACK_ASSIGN_OR_RETURN(PgResult registered,
                            conn->Exec("INSERT INTO replicas (replica_id, url, backend_pid) VALUES ($1, $2, pg_backend_pid())"
                                       " ON CONFLICT (replica_id) DO UPDATE SET url = EXCLUDED.url,"
                                       " backend_pid = EXCLUDED.backend_pid, started_at = now() RETURNING backend_pid",
                                       {options_.replica_id, options_.replica_url}));
  std::string_view pid = registered.Get(0, 0);
  std::from_chars(pid.data(), pid.data() + pid.size(), backend_pid_);
  // Live from now until the session ends: every replica's bucket preferences count this one.
  RUNTRACK_RETURN_IF_ERROR(
      conn->Exec("SELECT pg_advisory_lock_shared($1::bigint)", {std::to_string(kLivenessLockKey)}).status());
  conn_ = std::move(conn);
  return Status::Ok();
}

Status PgRunOwnership::EnsureSession() {
  if (conn_ && conn_->healthy()) return Status::Ok();
  return Reconnect();
}

void PgRunOwnership::CacheOwner(int64_t key, std::optional<RunOwner> owner, std::chrono::steady_clock::time_point now) {
  std::lock_guard cache(cache_mu_);
  owner_cache_[key] = CachedOwner{std::move(owner), now + kOwnerCacheTtl};
}

Result<std::vector<PgRunOwnership::LiveReplica>> PgRunOwnership::LiveLocked() {
  const uint64_t live = static_cast<uint64_t>(kLivenessLockKey);
  RUNTRACK_ASSIGN_OR_RETURN(PgResult rows, conn_->Exec(kLiveQuery, {std::to_string(live >> 32), std::to_string(live & 0xffffffffu)}));
  std::vector<LiveReplica> out;
  bool self = false;
  for (int r = 0; r < rows.rows(); ++r) {
    LiveReplica replica{std::string(rows.Get(r, 0)), std::string(rows.Get(r, 1))};
    self = self || replica.id == options_.replica_id;
    // A replica without a URL cannot be forwarded to, so no bucket may wait for it (but this one
    // is always a candidate for itself).
    if (!replica.url.empty() || replica.id == options_.replica_id) out.push_back(std::move(replica));
  }
  if (!self) out.push_back({options_.replica_id, options_.replica_url});
  return out;
}

Result<std::vector<std::string>> PgRunOwnership::LiveReplicas() {
  std::unique_lock lock(mu_, std::defer_lock);
  if (!lock.try_lock_for(std::chrono::seconds(5))) return Status::Busy("the run ownership session is busy for over 5 s");
  RUNTRACK_RETURN_IF_ERROR(EnsureSession());
  RUNTRACK_ASSIGN_OR_RETURN(auto live, LiveLocked());
  std::vector<std::string> ids;
  for (const auto& r : live) ids.push_back(r.id);
  std::sort(ids.begin(), ids.end());
  return ids;
}

std::vector<uint64_t> PgRunOwnership::HeldBuckets() {
  std::lock_guard lock(mu_);
  std::vector<uint64_t> out;
  for (int64_t key : held_) out.push_back(static_cast<uint64_t>(key) & 0xffffffffu);
  std::sort(out.begin(), out.end());
  return out;
}

Result<BucketRelease> PgRunOwnership::ReleaseUnpreferred(LocalRunActivity& activity) {
  const auto t0 = std::chrono::steady_clock::now();
  const auto claimed_lately = [&](int64_t key) {
    auto it = last_claim_.find(key);
    return it != last_claim_.end() && it->second + options_.claim_quiet > t0;
  };
  auto preferred = [&](int64_t key, const std::vector<std::string>& ids) {
    return PreferredReplica(static_cast<uint64_t>(key) & 0xffffffffu, ids);
  };
  auto live_ids = [&]() -> Result<std::vector<std::string>> {
    RUNTRACK_ASSIGN_OR_RETURN(auto live, LiveLocked());
    std::vector<std::string> ids;
    for (const auto& r : live) ids.push_back(r.id);
    return ids;
  };
  BucketRelease report;
  std::set<int64_t> candidates;
  {
    std::unique_lock lock(mu_, std::defer_lock);
    if (!lock.try_lock_for(std::chrono::seconds(5))) return Status::Busy("the run ownership session is busy for over 5 s");
    if (held_.empty()) return report;
    RUNTRACK_RETURN_IF_ERROR(EnsureSession());
    RUNTRACK_ASSIGN_OR_RETURN(auto ids, live_ids());
    report.held = held_.size();
    for (int64_t key : held_) {
      const std::string to = preferred(key, ids);
      if (to == options_.replica_id) continue;
      ++report.unpreferred;
      // Handing a bucket to a replica that does not answer would make its next run pay a failed
      // forward and take the bucket back here: kept until it answers again.
      if (Unreachable(to, t0)) {
        ++report.unreachable;
        continue;
      }
      if (claimed_lately(key)) {
        ++report.recently_claimed;
        continue;
      }
      candidates.insert(key);
    }
  }
  if (candidates.empty()) return report;
  // Outside the mutex (claims go on meanwhile): reading the store and asking about seals takes a
  // while. Every run with a folder here counts, whoever wrote it.
  std::set<int64_t> busy;
  RUNTRACK_ASSIGN_OR_RETURN(std::vector<std::string> runs, activity.Runs());
  for (const std::string& run : runs) {
    const int64_t key = RunLockKey(run);
    if (!candidates.count(key) || busy.count(key)) continue;
    auto settled = activity.Settled(run);
    if (!settled.ok() || !*settled) busy.insert(key);
  }
  std::unique_lock lock(mu_, std::defer_lock);
  if (!lock.try_lock_for(std::chrono::seconds(5))) return Status::Busy("the run ownership session is busy for over 5 s");
  if (!conn_ || !conn_->healthy()) return report;  // the session died: its locks went with it
  // Again under the mutex, so no claim slips between this check and the unlock: a claim either
  // came before (then it is recent, or its run's folder was seen above) or comes after the unlock
  // (then it finds the bucket free and not preferred here, and forwards).
  RUNTRACK_ASSIGN_OR_RETURN(auto ids, live_ids());
  for (int64_t key : candidates) {
    if (busy.count(key)) {
      ++report.busy;
      continue;
    }
    if (!held_.count(key)) continue;
    const std::string to = preferred(key, ids);
    if (to == options_.replica_id) continue;
    if (Unreachable(to, std::chrono::steady_clock::now())) {  // marked while the store was read
      ++report.unreachable;
      continue;
    }
    if (claimed_lately(key)) {
      ++report.recently_claimed;
      continue;
    }
    auto unlocked = conn_->Exec("SELECT pg_advisory_unlock($1::bigint)", {std::to_string(key)});
    if (!unlocked.ok()) return unlocked.status();
    held_.erase(key);
    last_claim_.erase(key);
    {
      std::lock_guard cache(cache_mu_);
      owner_cache_.erase(key);  // this replica's cached "here" must not outlive the lock
    }
    ++report.released;
  }
  return report;
}

Result<RunOwner> PgRunOwnership::Claim(std::string_view run_id) {
  if (Status v = runtrack::ValidateRunId(run_id); !v.ok()) return v;
  const int64_t key = RunLockKey(run_id);
  std::unique_lock lock(mu_, std::defer_lock);
  if (!lock.try_lock_for(std::chrono::seconds(5)))
    return Status::Busy(fmt::format("cannot tell which replica owns run {} now (the run ownership session is busy "
                                    "for over 5 s: is PostgreSQL stalled?); retry later", run_id));
  for (int attempt = 0;; ++attempt) {
    if (!conn_ || !conn_->healthy())
      if (Status s = Reconnect(); !s.ok()) return Undecided(run_id, s);
    auto owner = ClaimLocked(run_id, key);
    // A session that died (PostgreSQL restarted, the backend was terminated) took this replica's
    // locks with it: a new session re-takes each run on its next ingest, or finds its new owner.
    if (owner.ok() || conn_->healthy() || attempt == 1) return owner;
  }
}

Result<RunOwner> PgRunOwnership::ClaimInsteadOf(std::string_view run_id, std::string_view unreachable,
                                                std::chrono::milliseconds remember_for) {
  if (Status v = runtrack::ValidateRunId(run_id); !v.ok()) return v;  // nothing remembered for a bad request
  if (unreachable != options_.replica_id) {
    const auto now = std::chrono::steady_clock::now();
    std::lock_guard marks(unreachable_mu_);
    for (auto it = unreachable_until_.begin(); it != unreachable_until_.end();)
      it = it->second <= now ? unreachable_until_.erase(it) : std::next(it);
    unreachable_until_[std::string(unreachable)] = now + remember_for;
  }
  // An ordinary claim from here on: it takes the bucket only if it is free and its preferred
  // replica is the one just marked (or this one); a holder, whoever it is, keeps it.
  return Claim(run_id);
}

void PgRunOwnership::NoteReachable(std::string_view replica_id) {
  std::lock_guard marks(unreachable_mu_);
  if (auto it = unreachable_until_.find(replica_id); it != unreachable_until_.end()) unreachable_until_.erase(it);
}

bool PgRunOwnership::Unreachable(const std::string& replica_id, std::chrono::steady_clock::time_point now) {
  std::lock_guard marks(unreachable_mu_);
  auto it = unreachable_until_.find(replica_id);
  return it != unreachable_until_.end() && now < it->second;
}

Result<std::optional<RunOwner>> PgRunOwnership::Find(std::string_view run_id, bool allow_cached) {
  if (Status v = runtrack::ValidateRunId(run_id); !v.ok()) return v;
  const int64_t key = RunLockKey(run_id);
  const auto now = std::chrono::steady_clock::now();
  if (allow_cached) {
    std::lock_guard cache(cache_mu_);
    if (auto it = owner_cache_.find(key); it != owner_cache_.end() && now < it->second.until) return it->second.owner;
  }
  std::unique_lock lock(mu_, std::defer_lock);
  if (!lock.try_lock_for(std::chrono::seconds(5)))
    return Status::Busy(fmt::format("cannot tell which replica owns run {} now (the run ownership session is busy "
                                    "for over 5 s: is PostgreSQL stalled?)", run_id));
  std::optional<RunOwner> owner;
  if (held_.count(key)) {
    owner = RunOwner{true, options_.replica_id, options_.replica_url};
  } else {
    if (!conn_ || !conn_->healthy())
      if (Status s = Reconnect(); !s.ok()) return Undecided(run_id, s);
    const uint64_t u = static_cast<uint64_t>(key);
    auto found = conn_->Exec(kOwnerQuery, {std::to_string(u >> 32), std::to_string(u & 0xffffffffu)});
    if (!found.ok()) return Undecided(run_id, found.status());
    if (found->rows() > 0) {
      if (found->IsNull(0, 1) || found->Get(0, 2).empty())
        return Status::Busy(fmt::format("run {} is locked by PostgreSQL session {}, which is not a reachable replica",
                                        run_id, found->Get(0, 0)));
      owner = RunOwner{false, std::string(found->Get(0, 1)), std::string(found->Get(0, 2))};
    }
  }
  // Still under mu_: a release or claim between this look-up and the cache write would otherwise
  // be overwritten by this older answer.
  CacheOwner(key, owner, now);
  return owner;
}

Result<RunOwner> PgRunOwnership::ClaimLocked(std::string_view run_id, int64_t key) {
  RunOwner here{true, options_.replica_id, options_.replica_url};
  const auto now = std::chrono::steady_clock::now();
  if (held_.count(key)) {
    // The session is alive, so its locks are: a session-level advisory lock is only freed by an
    // unlock (ReleaseUnpreferred, under the same mutex) or the session's end.
    auto alive = conn_->Exec("SELECT 1");
    if (!alive.ok()) return Undecided(run_id, alive.status());
    last_claim_[key] = now;
    return here;
  }
  const uint64_t u = static_cast<uint64_t>(key);
  // Two rounds: an owner that dies between our look-up and our try frees the lock for the second,
  // one that takes the bucket between them is found by the second look-up.
  for (int round = 0; round < 2; ++round) {
    auto found = conn_->Exec(kOwnerQuery, {std::to_string(u >> 32), std::to_string(u & 0xffffffffu)});
    if (!found.ok()) return Undecided(run_id, found.status());
    if (found->rows() > 0) {
      if (found->IsNull(0, 1))
        return Status::Busy(fmt::format(
            "run {} is locked by PostgreSQL session {}, which is not a registered replica; retry later", run_id,
            found->Get(0, 0)));
      RunOwner owner{false, std::string(found->Get(0, 1)), std::string(found->Get(0, 2))};
      if (owner.url.empty())
        return Status::Busy(fmt::format("run {} is owned by replica {}, which was started without --replica-url, so "
                                        "its ingest cannot be forwarded; send it to that replica",
                                        run_id, owner.replica_id));
      CacheOwner(key, owner, now);
      return owner;
    }
    // Free: it belongs to its preferred live replica, which takes it when the ingest arrives —
    // unless that replica did not answer a forward lately (ClaimInsteadOf): then it is taken here,
    // where the ingest arrived, rather than waiting for a replica that may never answer. Only the
    // preferred replica is skipped, not replaced by the next preferred one: another replica does
    // not know this one's marks and would send the ingest back towards the unreachable one.
    auto live = LiveLocked();
    if (!live.ok()) return Undecided(run_id, live.status());
    std::vector<std::string> ids;
    for (const auto& r : *live) ids.push_back(r.id);
    const std::string preferred = PreferredReplica(u & 0xffffffffu, ids);
    if (preferred != options_.replica_id && !Unreachable(preferred, now)) {
      for (const auto& r : *live)
        if (r.id == preferred) return RunOwner{false, r.id, r.url, /*unclaimed=*/true};
    }
    auto taken = conn_->Exec("SELECT pg_try_advisory_lock($1::bigint)", {std::to_string(key)});
    if (!taken.ok()) return Undecided(run_id, taken.status());
    if (taken->Get(0, 0) == "t") {
      held_.insert(key);
      last_claim_[key] = now;
      CacheOwner(key, here, now);
      return here;
    }
  }
  return Status::Busy(fmt::format("the owner of run {} changed while it was looked up; retry", run_id));
}

}  // namespace runicorn::service::pg
