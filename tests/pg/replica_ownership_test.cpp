// Run ownership among viewer replicas (service/pg/pg_run_ownership.h, docs/SCALE-OUT.md
// "Replicas"): two PgRunOwnership objects on one private PostgreSQL stand for two replicas.
#ifdef RUNICORN_HAVE_PG
#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "pg/pg_test_support.h"
#include "pg/replica_preference.h"
#include "pg/store_state.h"
#include "service/pg/pg_run_ownership.h"

using namespace runicorn::testing;
using runicorn::service::RunOwner;
using runicorn::service::pg::PgConnection;
using runicorn::service::pg::PgRunOwnership;
using runicorn::service::pg::RunIdHash;
using runicorn::service::pg::RunLockKey;
using runtrack::StatusCode;

namespace {

// The ownership locks (class "runs") a session holds, not its liveness lock.
constexpr const char* kRunLocksOf = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = 1920298611 AND pid = {}";

std::unique_ptr<PgRunOwnership> Replica(const std::string& conninfo, const std::string& id, const std::string& url,
                                        std::chrono::milliseconds claim_quiet = std::chrono::milliseconds(10000)) {
  auto r = PgRunOwnership::Open({conninfo, url, id, claim_quiet});
  INFO(r.status().ToString());
  REQUIRE(r.ok());
  return std::move(*r);
}

RunOwner Claim(PgRunOwnership& replica, const std::string& run) {
  auto owner = replica.Claim(run);
  INFO(owner.status().ToString());
  REQUIRE(owner.ok());
  return *owner;
}

// Waits (at most 10 s) until `replica` owns `run`: a closed session's locks are freed when its
// backend notices the disconnect, a moment after the client closed.
bool TakesOver(PgRunOwnership& replica, const std::string& run) {
  for (int i = 0; i < 1000; ++i) {
    auto owner = replica.Claim(run);
    if (owner.ok() && owner->here) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

std::vector<std::string> Rows(const std::string& conninfo, const std::string& sql) {
  auto conn = PgConnection::Connect(conninfo);
  REQUIRE(conn.ok());
  auto res = (*conn)->Exec(sql);
  INFO(res.status().ToString());
  REQUIRE(res.ok());
  std::vector<std::string> out;
  for (int r = 0; r < res->rows(); ++r) {
    std::string row;
    for (int c = 0; c < res->columns(); ++c) row += (c ? "|" : "") + std::string(res->Get(r, c));
    out.push_back(row);
  }
  return out;
}

}  // namespace

TEST_CASE("run lock keys are the run's FNV-1a 64 bucket, the same in every build", "[pg][replicas]") {
  // FNV-1a's published test vectors: a replica built elsewhere contends for the same lock.
  CHECK(RunIdHash("") == 0xcbf29ce484222325ull);
  CHECK(RunIdHash("a") == 0xaf63dc4c8601ec8cull);
  CHECK(RunIdHash("foobar") == 0x85944171f73967e8ull);
  // "runs" in the high 32 bits, hash % 1024 in the low ones.
  CHECK(static_cast<uint64_t>(RunLockKey("a")) == 0x72756E73'0000008Cull);
  CHECK(static_cast<uint64_t>(RunLockKey("foobar")) == 0x72756E73'000003E8ull);
  // However many runs, at most kOwnershipBuckets keys, and the ids spread over all of them.
  std::set<int64_t> keys;
  for (int i = 0; i < 20000; ++i) keys.insert(RunLockKey(PgRunId(i)));
  CHECK(keys.size() == runicorn::service::pg::kOwnershipBuckets);
}

TEST_CASE("exactly one replica owns a run, and the other is told the owner's id and url", "[pg][replicas]") {
  RUNICORN_PG_TEST_SERVER(pg);
  const std::string db = pg.NewDatabase();
  REQUIRE_FALSE(db.empty());
  auto a = Replica(db, "replica-a", "http://127.0.0.1:1111");
  auto b = Replica(db, "replica-b", "http://127.0.0.1:2222");
  CHECK(Rows(db, "SELECT replica_id, url FROM replicas ORDER BY replica_id") ==
        std::vector<std::string>{"replica-a|http://127.0.0.1:1111", "replica-b|http://127.0.0.1:2222"});

  // r1's bucket belongs to a, r2's to b (rendezvous hashing over the two live replicas).
  const std::vector<std::string> ids{"replica-a", "replica-b"};
  int next = 1;
  const std::string r1 = RunPreferring("replica-a", ids, next);
  const std::string r2 = RunPreferring("replica-b", ids, next);
  REQUIRE(RunLockKey(r1) != RunLockKey(r2));
  RunOwner first = Claim(*a, r1);
  CHECK(first.here);
  CHECK(first.replica_id == "replica-a");
  RunOwner other = Claim(*b, r1);
  CHECK_FALSE(other.here);
  CHECK(other.replica_id == "replica-a");
  CHECK(other.url == "http://127.0.0.1:1111");
  CHECK(Claim(*a, r1).here);  // held: asked again, still here
  CHECK(Claim(*b, r2).here);
  RunOwner of_b = Claim(*a, r2);
  CHECK_FALSE(of_b.here);
  CHECK(of_b.url == "http://127.0.0.1:2222");
  // One advisory lock per claimed bucket (r1 and r2 are in different ones), held by the owner's ownership session.
  CHECK(Rows(db, fmt::format(kRunLocksOf, a->backend_pid())) == std::vector<std::string>{"1"});

  SECTION("racing claims of 200 runs: each is owned by exactly one") {
    std::map<std::string, int> here_count;
    std::mutex mu;
    std::atomic<int> failures{0};
    auto claimer = [&](PgRunOwnership* replica) {
      for (int i = 100; i < 300; ++i) {
        auto owner = replica->Claim(PgRunId(i));
        if (!owner.ok()) {
          ++failures;
          continue;
        }
        std::lock_guard l(mu);
        here_count[PgRunId(i)] += owner->here ? 1 : 0;
      }
    };
    std::thread ta(claimer, a.get()), tb(claimer, b.get());
    ta.join();
    tb.join();
    CHECK(failures == 0);
    REQUIRE(here_count.size() == 200);
    int wrong = 0;
    for (const auto& [run, n] : here_count) wrong += n != 1;
    CHECK(wrong == 0);
  }
}

TEST_CASE("a replica that closes its connection hands its runs over", "[pg][replicas]") {
  RUNICORN_PG_TEST_SERVER(pg);
  const std::string db = pg.NewDatabase();
  REQUIRE_FALSE(db.empty());
  auto a = Replica(db, "replica-a", "http://127.0.0.1:1111");
  auto b = Replica(db, "replica-b", "http://127.0.0.1:2222");
  int next = 7;
  const std::string run = RunPreferring("replica-a", {"replica-a", "replica-b"}, next);
  REQUIRE(Claim(*a, run).here);
  REQUIRE_FALSE(Claim(*b, run).here);
  a.reset();  // the process ends: its session, and with it the lock, goes
  CHECK(TakesOver(*b, run));
  CHECK(Rows(db, "SELECT replica_id FROM replicas") == std::vector<std::string>{"replica-b"});
  // A replica started later is told the new owner.
  auto c = Replica(db, "replica-c", "");
  RunOwner now = Claim(*c, run);
  CHECK_FALSE(now.here);
  CHECK(now.replica_id == "replica-b");
}

TEST_CASE("a replica whose session PostgreSQL ended loses its runs and learns the new owner", "[pg][replicas]") {
  RUNICORN_PG_TEST_SERVER(pg);
  const std::string db = pg.NewDatabase();
  REQUIRE_FALSE(db.empty());
  auto a = Replica(db, "replica-a", "http://127.0.0.1:1111");
  auto b = Replica(db, "replica-b", "http://127.0.0.1:2222");
  int next = 9;
  const std::string run = RunPreferring("replica-a", {"replica-a", "replica-b"}, next);
  REQUIRE(Claim(*a, run).here);
  const int old_pid = a->backend_pid();
  // As a PostgreSQL restart or an admin would: the session ends while the replica lives on.
  REQUIRE(Rows(db, fmt::format("SELECT pg_terminate_backend({})", old_pid)) == std::vector<std::string>{"t"});
  CHECK(TakesOver(*b, run));
  // A's next claim finds its session gone, reconnects, re-registers and is told B owns the run: it
  // never goes on appending to a run it no longer holds.
  RunOwner seen = Claim(*a, run);
  CHECK_FALSE(seen.here);
  CHECK(seen.replica_id == "replica-b");
  CHECK(a->backend_pid() != old_pid);
  CHECK(Rows(db, "SELECT replica_id FROM replicas ORDER BY 1") == std::vector<std::string>{"replica-a", "replica-b"});
}

TEST_CASE("ownership refuses what it cannot decide: a bad id, an owner without url", "[pg][replicas]") {
  RUNICORN_PG_TEST_SERVER(pg);
  const std::string db = pg.NewDatabase();
  REQUIRE_FALSE(db.empty());
  auto a = Replica(db, "replica-a", "");
  auto b = Replica(db, "replica-b", "http://127.0.0.1:2222");
  auto bad = b->Claim("../etc");
  CHECK(bad.status().code() == StatusCode::kInvalidArgument);
  // a (no URL) is a candidate only for itself: a run whose bucket a prefers among both.
  int next = 3;
  const std::string run = RunPreferring("replica-a", {"replica-a", "replica-b"}, next);
  REQUIRE(Claim(*a, run).here);
  auto unreachable = b->Claim(run);
  CHECK(unreachable.status().code() == StatusCode::kBusy);
  CHECK(unreachable.status().message() ==
        "run " + run +
            " is owned by replica replica-a, which was started without --replica-url, so its ingest cannot be "
            "forwarded; send it to that replica");
}

TEST_CASE("a replica cannot start on an unreachable PostgreSQL", "[pg][replicas]") {
  auto r = PgRunOwnership::Open({"postgresql:///nodb?host=/nonexistent-socket-dir&connect_timeout=2", "", "x"});
  CHECK(r.status().code() == StatusCode::kIOError);
  CHECK(r.status().message().rfind("postgresql: cannot connect", 0) == 0);
}

TEST_CASE("a replica holds one lock per bucket, not per run, so its lock count stays bounded", "[pg][replicas]") {
  RUNICORN_PG_TEST_SERVER(pg);
  const std::string db = pg.NewDatabase();
  REQUIRE_FALSE(db.empty());
  // a alone: every bucket is a's to take.
  auto a = Replica(db, "replica-a", "http://127.0.0.1:1111");
  std::set<int64_t> buckets;
  for (int i = 0; i < 3000; ++i) {
    CHECK(Claim(*a, PgRunId(i)).here);
    buckets.insert(RunLockKey(PgRunId(i)));
  }
  REQUIRE(buckets.size() < 3000);
  REQUIRE(buckets.size() <= runicorn::service::pg::kOwnershipBuckets);
  CHECK(Rows(db, fmt::format(kRunLocksOf, a->backend_pid())) == std::vector<std::string>{std::to_string(buckets.size())});
  auto b = Replica(db, "replica-b", "http://127.0.0.1:2222");
  // A new run in a bucket replica a holds is a's, whoever is asked first (even where b is preferred
  // now: a keeps the bucket until it lets it go).
  int same_bucket = 3000;
  while (buckets.count(RunLockKey(PgRunId(same_bucket))) == 0) ++same_bucket;
  RunOwner owner = Claim(*b, PgRunId(same_bucket));
  CHECK_FALSE(owner.here);
  CHECK(owner.replica_id == "replica-a");
}

namespace {

uint64_t Bucket(const std::string& run) { return runicorn::service::pg::RunBucket(run); }

}  // namespace

TEST_CASE("rendezvous hashing: pinned scores, an even share, and a new replica takes only its share",
          "[pg][replicas][rebalance]") {
  using runicorn::service::pg::PreferredReplica;
  using runicorn::service::pg::ReplicaScore;
  // A wire format between replicas: every build prefers the same replica.
  CHECK(ReplicaScore(0, "") == 0xf52a15e9a9b5e89bull);  // computed by an independent implementation
  CHECK(ReplicaScore(7, "replica-a") == 0xa32a37b26225f8aaull);
  CHECK(ReplicaScore(1023, "host-42-0000beef") == 0xdb46ad15edc72121ull);
  CHECK(PreferredReplica(5, {}).empty());
  CHECK(PreferredReplica(5, {"only"}) == "only");
  const std::vector<std::string> three{"replica-a", "replica-b", "replica-c"};
  std::map<std::string, int> share;
  std::map<uint64_t, std::string> before;
  for (uint64_t b = 0; b < runicorn::service::pg::kOwnershipBuckets; ++b) {
    before[b] = PreferredReplica(b, three);
    ++share[before[b]];
    // The order of the list does not matter.
    CHECK(PreferredReplica(b, {"replica-c", "replica-a", "replica-b"}) == before[b]);
  }
  REQUIRE(share.size() == 3);
  for (const auto& [id, n] : share) {
    INFO(id << " is preferred for " << n << " of 1024 buckets");
    CHECK(n > 1024 / 3 - 80);
    CHECK(n < 1024 / 3 + 80);
  }
  // A fourth replica joins: the buckets that change hands all go to it, about a quarter of them.
  std::vector<std::string> four = three;
  four.push_back("replica-d");
  int moved = 0, moved_elsewhere = 0;
  for (uint64_t b = 0; b < runicorn::service::pg::kOwnershipBuckets; ++b) {
    const std::string now = PreferredReplica(b, four);
    if (now == before[b]) continue;
    ++moved;
    moved_elsewhere += now != "replica-d";
  }
  CHECK(moved_elsewhere == 0);
  CHECK(moved > 256 - 70);
  CHECK(moved < 256 + 70);
}

TEST_CASE("a free bucket is taken only by its preferred live replica, and the others are told who it belongs to",
          "[pg][replicas][rebalance]") {
  RUNICORN_PG_TEST_SERVER(pg);
  const std::string db = pg.NewDatabase();
  REQUIRE_FALSE(db.empty());
  auto a = Replica(db, "replica-a", "http://127.0.0.1:1111");
  auto b = Replica(db, "replica-b", "http://127.0.0.1:2222");
  auto live = a->LiveReplicas();
  REQUIRE(live.ok());
  CHECK(*live == std::vector<std::string>{"replica-a", "replica-b"});
  int next = 0;
  const std::string run = RunPreferring("replica-b", {"replica-a", "replica-b"}, next);

  RunOwner refused = Claim(*a, run);
  CHECK_FALSE(refused.here);
  CHECK(refused.unclaimed);
  CHECK(refused.replica_id == "replica-b");
  CHECK(refused.url == "http://127.0.0.1:2222");
  CHECK(a->HeldBuckets().empty());
  CHECK(Rows(db, fmt::format(kRunLocksOf, a->backend_pid())) == std::vector<std::string>{"0"});
  // Nobody holds it: a read is answered where it arrives (Find never points at a non-holder).
  auto found = a->Find(run, /*allow_cached=*/false);
  REQUIRE(found.ok());
  CHECK_FALSE(found->has_value());

  // The forwarded ingest reaches b, which takes the bucket; a now learns b as its owner.
  CHECK(Claim(*b, run).here);
  CHECK(b->HeldBuckets() == std::vector<uint64_t>{Bucket(run)});
  RunOwner owner = Claim(*a, run);
  CHECK_FALSE(owner.here);
  CHECK_FALSE(owner.unclaimed);
  CHECK(owner.replica_id == "replica-b");

  SECTION("the preferred replica dies before taking a bucket: the next preferred takes it") {
    const std::string other = RunPreferring("replica-b", {"replica-a", "replica-b"}, next);
    REQUIRE(Bucket(other) != Bucket(run));
    CHECK(Claim(*a, other).unclaimed);
    b.reset();
    CHECK(TakesOver(*a, other));
    CHECK(TakesOver(*a, run));  // and b's held bucket, freed with its session
  }
  SECTION("a replica whose session ended is not live, so nothing waits for it") {
    REQUIRE(Rows(db, fmt::format("SELECT pg_terminate_backend({})", b->backend_pid())) == std::vector<std::string>{"t"});
    bool gone = false;
    for (int i = 0; i < 500 && !gone; ++i) {
      auto now = a->LiveReplicas();
      gone = now.ok() && *now == std::vector<std::string>{"replica-a"};
      if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    CHECK(gone);
    const std::string other = RunPreferring("replica-b", {"replica-a", "replica-b"}, next);
    CHECK(Claim(*a, other).here);
  }
}

TEST_CASE("a held bucket moves to the replica now preferred for it only once its runs here are settled",
          "[pg][replicas][rebalance]") {
  RUNICORN_PG_TEST_SERVER(pg);
  const std::string db = pg.NewDatabase();
  REQUIRE_FALSE(db.empty());
  // a alone takes every bucket its 300 runs fall in.
  auto a = Replica(db, "replica-a", "http://127.0.0.1:1111", std::chrono::milliseconds(0));
  StoreState disk;
  for (int i = 0; i < 300; ++i) {
    REQUIRE(Claim(*a, PgRunId(i)).here);
    disk.runs.insert(PgRunId(i));
  }
  const size_t held = a->HeldBuckets().size();
  // Alone, a is preferred everywhere: a pass releases nothing and reads nothing of the store.
  auto alone = a->ReleaseUnpreferred(disk);
  REQUIRE(alone.ok());
  CHECK(alone->held == held);
  CHECK(alone->unpreferred == 0);
  CHECK(alone->released == 0);
  CHECK(disk.asked == 0);

  auto b = Replica(db, "replica-b", "http://127.0.0.1:2222");
  const std::vector<std::string> ids{"replica-a", "replica-b"};
  std::set<uint64_t> to_b;
  for (uint64_t bucket : a->HeldBuckets())
    if (runicorn::service::pg::PreferredReplica(bucket, ids) == "replica-b") to_b.insert(bucket);
  REQUIRE(to_b.size() > 20);
  REQUIRE(to_b.size() < held);

  // Every run still live here: nothing moves.
  auto busy = a->ReleaseUnpreferred(disk);
  REQUIRE(busy.ok());
  CHECK(busy->unpreferred == to_b.size());
  CHECK(busy->busy == to_b.size());
  CHECK(busy->released == 0);
  CHECK(a->HeldBuckets().size() == held);

  // All settled but one run of a bucket b is preferred for, and one that cannot be read.
  std::string live_run, unreadable_run;
  for (const std::string& run : disk.runs) {
    if (!to_b.count(Bucket(run))) continue;
    if (live_run.empty()) live_run = run;
    else if (unreadable_run.empty() && Bucket(run) != Bucket(live_run)) unreadable_run = run;
  }
  REQUIRE_FALSE(unreadable_run.empty());
  for (const std::string& run : disk.runs)
    if (run != live_run) disk.settled.insert(run);
  disk.failing.insert(unreadable_run);
  auto partial = a->ReleaseUnpreferred(disk);
  REQUIRE(partial.ok());
  CHECK(partial->busy == 2);
  CHECK(partial->released == to_b.size() - 2);
  std::set<uint64_t> still;
  for (uint64_t bucket : a->HeldBuckets()) still.insert(bucket);
  CHECK(still.size() == held - to_b.size() + 2);
  CHECK(still.count(Bucket(live_run)) == 1);
  CHECK(still.count(Bucket(unreadable_run)) == 1);
  // The live run's bucket stays a's: its ingest through b is forwarded to a.
  RunOwner live_owner = Claim(*b, live_run);
  CHECK_FALSE(live_owner.here);
  CHECK(live_owner.replica_id == "replica-a");
  // A released bucket: a's own cached "here" is gone at once, and a forwards its next ingest to b.
  std::string released_run;
  for (const std::string& run : disk.runs)
    if (to_b.count(Bucket(run)) && !still.count(Bucket(run))) released_run = run;
  REQUIRE_FALSE(released_run.empty());
  auto cached = a->Find(released_run, /*allow_cached=*/true);
  REQUIRE(cached.ok());
  CHECK_FALSE(cached->has_value());
  RunOwner moved = Claim(*a, released_run);
  CHECK_FALSE(moved.here);
  CHECK(moved.unclaimed);
  CHECK(moved.replica_id == "replica-b");
  CHECK(Claim(*b, released_run).here);

  // The live run ends and is sealed: its bucket goes too; a keeps exactly the buckets it is preferred for.
  disk.settled.insert(live_run);
  disk.failing.clear();
  auto rest = a->ReleaseUnpreferred(disk);
  REQUIRE(rest.ok());
  CHECK(rest->released == 2);
  for (uint64_t bucket : a->HeldBuckets()) CHECK(runicorn::service::pg::PreferredReplica(bucket, ids) == "replica-a");
  CHECK(Claim(*b, live_run).here);

  // 400 new runs, each sent to either replica and forwarded once where it does not belong: each
  // lands on its preferred replica, and the two hold disjoint buckets.
  std::map<std::string, int> landed;
  for (int i = 1000; i < 1400; ++i) {
    const std::string run = PgRunId(i);
    PgRunOwnership& first = i % 2 ? *a : *b;
    PgRunOwnership& second = i % 2 ? *b : *a;
    RunOwner o = Claim(first, run);
    const std::string at = o.here ? first.replica_id() : (Claim(second, run).here ? second.replica_id() : "nowhere");
    ++landed[at];
    CHECK(at == runicorn::service::pg::PreferredReplica(Bucket(run), ids));
  }
  CHECK(landed["nowhere"] == 0);
  CHECK(landed["replica-b"] > 120);
  CHECK(landed["replica-a"] > 120);
  std::set<uint64_t> of_a, of_b;
  for (uint64_t bucket : a->HeldBuckets()) of_a.insert(bucket);
  for (uint64_t bucket : b->HeldBuckets()) of_b.insert(bucket);
  for (uint64_t bucket : of_b) CHECK(of_a.count(bucket) == 0);
  CHECK(Rows(db, fmt::format(kRunLocksOf, b->backend_pid())) == std::vector<std::string>{std::to_string(of_b.size())});
}

TEST_CASE("a bucket an ingest claimed lately is never released, whatever the store says", "[pg][replicas][rebalance]") {
  RUNICORN_PG_TEST_SERVER(pg);
  const std::string db = pg.NewDatabase();
  REQUIRE_FALSE(db.empty());
  auto a = Replica(db, "replica-a", "http://127.0.0.1:1111", std::chrono::hours(1));
  StoreState disk;
  for (int i = 0; i < 100; ++i) REQUIRE(Claim(*a, PgRunId(i)).here);
  // The runs' folders are not on disk yet (their appends are still on their way): only the claim
  // protects them.
  auto b = Replica(db, "replica-b", "http://127.0.0.1:2222");
  auto pass = a->ReleaseUnpreferred(disk);
  REQUIRE(pass.ok());
  CHECK(pass->unpreferred > 0);
  CHECK(pass->recently_claimed == pass->unpreferred);
  CHECK(pass->released == 0);
  CHECK(disk.asked == 0);
}

TEST_CASE("a free bucket whose preferred replica did not answer is taken where its ingest arrived, a held one never",
          "[pg][replicas][rebalance]") {
  RUNICORN_PG_TEST_SERVER(pg);
  const std::string db = pg.NewDatabase();
  REQUIRE_FALSE(db.empty());
  auto a = Replica(db, "replica-a", "http://127.0.0.1:1111", std::chrono::milliseconds(0));
  auto b = Replica(db, "replica-b", "http://127.0.0.1:2222");
  const std::vector<std::string> ids{"replica-a", "replica-b"};
  int next = 0;
  const std::string held_by_b = RunPreferring("replica-b", ids, next);
  std::string free_run = RunPreferring("replica-b", ids, next);
  while (Bucket(free_run) == Bucket(held_by_b)) free_run = RunPreferring("replica-b", ids, next);
  std::string later_run = RunPreferring("replica-b", ids, next);
  while (Bucket(later_run) == Bucket(held_by_b) || Bucket(later_run) == Bucket(free_run))
    later_run = RunPreferring("replica-b", ids, next);
  const std::string of_a = RunPreferring("replica-a", ids, next);
  REQUIRE(Claim(*b, held_by_b).here);

  // A bucket b holds stays b's, however unreachable b is said to be: exactly one owner.
  auto refused = a->ClaimInsteadOf(held_by_b, "replica-b", std::chrono::hours(1));
  REQUIRE(refused.ok());
  CHECK_FALSE(refused->here);
  CHECK_FALSE(refused->unclaimed);
  CHECK(refused->replica_id == "replica-b");
  CHECK(refused->url == "http://127.0.0.1:2222");
  CHECK(a->HeldBuckets().empty());
  CHECK(Rows(db, fmt::format(kRunLocksOf, a->backend_pid())) == std::vector<std::string>{"0"});

  // b is remembered unreachable now: a free bucket b is preferred for is taken by a, with the
  // same exclusive lock, so b (still live) cannot take it too and is told a owns it.
  RunOwner taken = Claim(*a, free_run);
  CHECK(taken.here);
  CHECK(a->HeldBuckets() == std::vector<uint64_t>{Bucket(free_run)});
  CHECK(Rows(db, fmt::format(kRunLocksOf, a->backend_pid())) == std::vector<std::string>{"1"});
  RunOwner at_b = Claim(*b, free_run);
  CHECK_FALSE(at_b.here);
  CHECK(at_b.replica_id == "replica-a");

  // A release pass keeps the bucket while b is unreachable, and does not even read the store.
  StoreState disk;
  disk.runs = {free_run, of_a};
  disk.settled = disk.runs;
  auto kept = a->ReleaseUnpreferred(disk);
  REQUIRE(kept.ok());
  CHECK(kept->held == 1);
  CHECK(kept->unpreferred == 1);
  CHECK(kept->unreachable == 1);
  CHECK(kept->released == 0);
  CHECK(disk.asked == 0);
  CHECK(a->HeldBuckets() == std::vector<uint64_t>{Bucket(free_run)});

  SECTION("b answers again: its new runs wait for it, and the bucket goes back once settled") {
    a->NoteReachable("replica-b");
    RunOwner forwarded = Claim(*a, later_run);
    CHECK_FALSE(forwarded.here);
    CHECK(forwarded.unclaimed);
    CHECK(forwarded.replica_id == "replica-b");
    disk.settled.erase(free_run);  // its run is still live here: kept
    auto busy = a->ReleaseUnpreferred(disk);
    REQUIRE(busy.ok());
    CHECK(busy->unreachable == 0);
    CHECK(busy->busy == 1);
    CHECK(busy->released == 0);
    disk.settled.insert(free_run);
    auto released = a->ReleaseUnpreferred(disk);
    REQUIRE(released.ok());
    CHECK(released->unreachable == 0);
    CHECK(released->released == 1);
    CHECK(a->HeldBuckets().empty());
    CHECK(Claim(*b, free_run).here);
  }
  SECTION("a bad run id is refused, and nothing is remembered for it") {
    a->NoteReachable("replica-b");
    CHECK(a->ClaimInsteadOf("../x", "replica-b", std::chrono::hours(1)).status().code() ==
          StatusCode::kInvalidArgument);
    CHECK(Claim(*a, later_run).unclaimed);  // b is not passed over
    CHECK(a->HeldBuckets() == std::vector<uint64_t>{Bucket(free_run)});
  }
  SECTION("the memory of an unreachable replica ends by itself") {
    // Remembered for no time at all: expired by the claim that follows.
    auto not_taken = a->ClaimInsteadOf(later_run, "replica-b", std::chrono::milliseconds(0));
    REQUIRE(not_taken.ok());
    CHECK_FALSE(not_taken->here);
    CHECK(not_taken->unclaimed);
    CHECK(not_taken->replica_id == "replica-b");
    auto released = a->ReleaseUnpreferred(disk);
    REQUIRE(released.ok());
    CHECK(released->released == 1);
    CHECK(a->HeldBuckets().empty());
  }
  SECTION("only the replica that did not answer is passed over") {
    auto c = Replica(db, "replica-c", "http://127.0.0.1:3333");
    int more = next;
    std::string of_c = RunPreferring("replica-c", {"replica-a", "replica-b", "replica-c"}, more);
    while (Bucket(of_c) == Bucket(free_run) || Bucket(of_c) == Bucket(held_by_b))
      of_c = RunPreferring("replica-c", {"replica-a", "replica-b", "replica-c"}, more);
    RunOwner waits = Claim(*a, of_c);
    CHECK_FALSE(waits.here);
    CHECK(waits.unclaimed);
    CHECK(waits.replica_id == "replica-c");
    CHECK(a->HeldBuckets() == std::vector<uint64_t>{Bucket(free_run)});
  }
}

#endif  // RUNICORN_HAVE_PG
