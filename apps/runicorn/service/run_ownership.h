// Which viewer replica appends a live run's ingest (docs/SCALE-OUT.md "Replicas").
//
// When several `runicorn viewer` replicas share one catalog, each live run has exactly one owner:
// the only replica that appends to the run's journal on its disk. The others forward the run's
// ingest to the owner. The implementation on PostgreSQL (service/pg/pg_run_ownership.h) holds one
// advisory lock per owned bucket of runs; a replica that dies loses its locks with its connection.
// A bucket nobody holds belongs to its preferred live replica (rendezvous hashing), which takes it
// when the bucket's first ingest reaches it; a holder lets a bucket go once another replica is
// preferred for it and none of its runs there depends on its disk (ReleaseUnpreferred).
//
// Thread safety: implementations are called by any number of handler threads at once.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtrack/status.h"

namespace runicorn::service {

struct RunOwner {
  bool here = false;       // this replica owns the run (it just took it or held it): append locally
  std::string replica_id;  // the owner's id (this replica's when `here`)
  std::string url;         // the owner's --replica-url, where its ingest is forwarded to
  // Nobody holds the run's bucket yet: `replica_id` is the live replica it belongs to, which
  // takes it when the forwarded ingest arrives there (Claim only; Find answers nullopt).
  bool unclaimed = false;
};

// What this replica's store holds, for letting buckets go (service/local_run_activity.h).
class LocalRunActivity {
 public:
  virtual ~LocalRunActivity() = default;
  // Every run this replica's store has a folder of (any state).
  virtual runtrack::Result<std::vector<std::string>> Runs() = 0;
  // True once nothing of the run depends on this replica's disk any more: it ended, is no longer
  // arriving, and every point is sealed in the bucket and listed by the segment index. An error
  // counts as "not settled" for the caller.
  virtual runtrack::Result<bool> Settled(std::string_view run_id) = 0;
};

class RunOwnership {
 public:
  virtual ~RunOwnership() = default;

  // Takes `run_id` when no replica owns it and this replica is the one its bucket belongs to (or
  // that one is remembered unreachable, see ClaimInsteadOf), and answers who owns it (or,
  // `unclaimed`, who will take it). Busy when ownership cannot be
  // decided now (the catalog is unreachable, or the owner registered no URL): the caller answers
  // 503 and the writer retries; it never appends without owning the run.
  virtual runtrack::Result<RunOwner> Claim(std::string_view run_id) = 0;

  // Claim, after the forward of `run_id`'s ingest to `unreachable` — the live replica its free
  // bucket belongs to (an `unclaimed` answer) — got no HTTP answer at all (no connection, or none
  // in time): `unreachable` is remembered as such for `remember_for`, during which a free bucket
  // it is preferred for is taken here, where its ingest arrived, instead of waiting for it; and
  // no bucket held here is released to it. A bucket some replica holds is never taken: its holder
  // is answered as by Claim. The default never takes a bucket it is not preferred for.
  virtual runtrack::Result<RunOwner> ClaimInsteadOf(std::string_view run_id, std::string_view unreachable,
                                                    std::chrono::milliseconds remember_for) {
    (void)unreachable;
    (void)remember_for;
    return Claim(run_id);
  }
  // A forward to `replica_id` was answered (any HTTP status): it is reachable again, so it gets
  // its free buckets back (see ClaimInsteadOf).
  virtual void NoteReachable(std::string_view replica_id) { (void)replica_id; }

  // Who owns `run_id` now, WITHOUT taking it (reads of a live run, server/read_forwarding.h):
  // nullopt when no replica does (no ingest reached one yet, or its owner died). With
  // `allow_cached` the answer may be up to 1 s old (kept per bucket, so a chart's requests cost no
  // PostgreSQL round trip each); without, it is looked up now. Busy when it cannot be told.
  virtual runtrack::Result<std::optional<RunOwner>> Find(std::string_view run_id, bool allow_cached) = 0;

  // This replica's id, as other replicas see it.
  virtual const std::string& replica_id() const = 0;
};

}  // namespace runicorn::service
