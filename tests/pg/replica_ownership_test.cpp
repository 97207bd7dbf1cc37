// Run ownership among viewer replicas (service/pg/pg_run_ownership.h, docs/SCALE-OUT.md
// "Replicas"): two PgRunOwnership objects on one private PostgreSQL stand for two replicas.
#ifdef RUNICORN_HAVE_PG
#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "pg/pg_test_support.h"
#include "service/pg/pg_run_ownership.h"

using namespace runicorn::testing;
using runicorn::service::RunOwner;
using runicorn::service::pg::PgConnection;
using runicorn::service::pg::PgRunOwnership;
using runicorn::service::pg::RunIdHash;
using runicorn::service::pg::RunLockKey;
using runtrack::StatusCode;

namespace {

std::unique_ptr<PgRunOwnership> Replica(const std::string& conninfo, const std::string& id, const std::string& url) {
  auto r = PgRunOwnership::Open({conninfo, url, id});
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

  const std::string r1 = PgRunId(1), r2 = PgRunId(2);
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
  CHECK(Rows(db, fmt::format("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = {}", a->backend_pid())) ==
        std::vector<std::string>{"1"});

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
  const std::string run = PgRunId(7);
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
  const std::string run = PgRunId(9);
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
  const std::string run = PgRunId(3);
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
  auto a = Replica(db, "replica-a", "http://127.0.0.1:1111");
  auto b = Replica(db, "replica-b", "http://127.0.0.1:2222");
  std::set<int64_t> buckets;
  for (int i = 0; i < 3000; ++i) {
    CHECK(Claim(*a, PgRunId(i)).here);
    buckets.insert(RunLockKey(PgRunId(i)));
  }
  REQUIRE(buckets.size() < 3000);
  REQUIRE(buckets.size() <= runicorn::service::pg::kOwnershipBuckets);
  CHECK(Rows(db, fmt::format("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = {}", a->backend_pid())) ==
        std::vector<std::string>{std::to_string(buckets.size())});
  // A new run in a bucket replica a holds is a's, whoever is asked first.
  int same_bucket = 3000;
  while (buckets.count(RunLockKey(PgRunId(same_bucket))) == 0) ++same_bucket;
  RunOwner owner = Claim(*b, PgRunId(same_bucket));
  CHECK_FALSE(owner.here);
  CHECK(owner.replica_id == "replica-a");
}

#endif  // RUNICORN_HAVE_PG
