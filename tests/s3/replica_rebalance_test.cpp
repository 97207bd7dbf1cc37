// Rebalancing run buckets onto a replica that joins (docs/SCALE-OUT.md "Rebalancing", issue 20):
// two real `runicorn viewer --replica-url` processes on one PostgreSQL and one Ceph RGW bucket take
// the runs of 20 writers; a third replica starts. Once those runs are sealed, the two let go of the
// buckets now preferred for the third (and only those), and new runs — every one sent to replica
// 0 — land on the replica their bucket belongs to, the new one included, in buckets it took over.
#ifdef RUNICORN_HAVE_PG
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <set>
#include <thread>

#include "pg/pg_test_server.h"
#include "remote/fault_proxy.h"
#include "remote/processes.h"
#include "replica_fleet.h"
#include "replica_ids.h"
#include "rgw_test_server.h"
#include "runtrack/layout.h"
#include "service/pg/pg_connection.h"
#include "service/pg/pg_run_ownership.h"
#include "test_support.h"

namespace {
namespace fs = std::filesystem;
using runicorn::service::pg::PreferredReplica;
using runicorn::service::pg::RunBucket;
using runicorn::testing::FileOrMissing;
using runicorn::testing::Spawn;
using runicorn::testing::WaitFor;

// Run buckets held now: bucket -> the replica id holding its advisory lock.
std::map<uint64_t, std::string> HeldBuckets(const std::string& db) {
  auto conn = runicorn::service::pg::PgConnection::Connect(db);
  REQUIRE(conn.ok());
  auto rows = (*conn)->Exec(
      "SELECT l.objid::bigint, r.replica_id FROM pg_locks l JOIN replicas r ON r.backend_pid = l.pid"
      " WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 AND l.classid = 1920298611");
  REQUIRE(rows.ok());
  std::map<uint64_t, std::string> out;
  for (int r = 0; r < rows->rows(); ++r) out[std::stoull(std::string(rows->Get(r, 0)))] = std::string(rows->Get(r, 1));
  return out;
}

// The stores holding a journal of `run`, by replica index.
std::vector<int> Holders(const std::vector<fs::path>& stores, const std::string& run) {
  std::vector<int> out;
  for (size_t i = 0; i < stores.size(); ++i)
    if (fs::exists(runtrack::StoreLayout(stores[i]).journal_path(run))) out.push_back(static_cast<int>(i));
  return out;
}

}  // namespace

TEST_CASE("replicas: a third replica joins, sealed runs' buckets move to it, and new runs land on it",
          "[s3][rgw][pg][replicas][rebalance][e2e]") {
  RUNICORN_S3_TEST_SERVER(rgw);
  RUNICORN_PG_TEST_SERVER(pg);
  const std::string db = pg.NewDatabase();
  REQUIRE_FALSE(db.empty());
  runtrack::testing::TempDir dir;
  runicorn::testing::ReplicaFleet fleet(dir.path(), db, rgw.endpoint(), "rt-rebalance");

  auto simulate = [&](const std::string& id, int steps) {
    return Spawn({RUNICORN_BINARY, "simulate", "--storage", (dir.path() / ("node-" + id)).string(), "--run-id", id,
                  "--steps", std::to_string(steps), "--interval-ms", "0", "--log-every", "100"},
                 // Finish() waits until the owner sealed the run in the bucket (REMOTE.md).
                 {{"RUNICORN_SERVER", fleet.url(0)}, {"RUNICORN_TOKEN", ""}, {"RUNICORN_STREAM", ""},
                  {"RUNICORN_SEAL_WAIT", "120"}},
                 (dir.path() / ("writer-" + id + ".log")).string());
  };
  auto run_all = [&](const std::vector<std::string>& ids, int steps) {
    std::vector<pid_t> writers;
    for (const auto& id : ids) writers.push_back(simulate(id, steps));
    for (size_t i = 0; i < writers.size(); ++i) {
      const std::string log = dir.path() / ("writer-" + ids[i] + ".log");
      CHECK(runicorn::testing::WaitExit(writers[i]) == 0);
      // Finish() was told the run is sealed: it did not wait RUNICORN_SEAL_WAIT out.
      INFO(FileOrMissing(log));
      CHECK(FileOrMissing(log).find("did not confirm it sealed") == std::string::npos);
    }
  };

  // 1. Two replicas take 20 runs, all sent to replica 0: each lands where its bucket belongs.
  auto by_url = runicorn::testing::ReplicaIdsByUrl(db);
  REQUIRE(by_url.size() == 2);
  const std::vector<std::string> two{by_url.at(fleet.url(0)), by_url.at(fleet.url(1))};
  std::vector<std::string> first_runs;
  for (int i = 0; i < 20; ++i) first_runs.push_back(fmt::format("20261204_050000_{:06x}", 0xa00000 + i));
  run_all(first_runs, 300);
  std::vector<fs::path> stores{fleet.store(0), fleet.store(1), dir.path() / "replica2"};
  for (const auto& run : first_runs) {
    const std::string preferred = PreferredReplica(RunBucket(run), two);
    CHECK(Holders(stores, run) == std::vector<int>{preferred == two[0] ? 0 : 1});
  }

  // 2. A third replica joins.
  fs::create_directories(stores[2] / "runs");
  uint16_t port = runicorn::testing::FreePort();
  while (port == fleet.port(0) || port == fleet.port(1)) port = runicorn::testing::FreePort();
  const std::string url2 = fmt::format("http://127.0.0.1:{}", port);
  const std::string objects = fmt::format("s3://{}/team?endpoint={}", fleet.location().bucket, rgw.endpoint());
  const pid_t third = Spawn({RUNICORN_BINARY, "viewer", "--storage", stores[2].string(), "--port", std::to_string(port),
                             "--catalog", db, "--objects", objects, "--replica-url", url2},
                            {{"HOME", dir.path().string()},
                             {"XDG_CONFIG_HOME", (dir.path() / "config").string()},
                             {"RUNICORN_TOKEN", ""},
                             {"AWS_ACCESS_KEY_ID", fleet.credentials().access_key_id},
                             {"AWS_SECRET_ACCESS_KEY", fleet.credentials().secret_access_key}},
                            (dir.path() / "replica2.log").string());
  struct Reaper {
    pid_t pid;
    ~Reaper() { runicorn::testing::Kill9(pid); }
  } reaper{third};
  INFO(FileOrMissing(dir.path() / "replica2.log"));
  REQUIRE(WaitFor([&] { return runicorn::testing::Listening(port); }, 60000));
  by_url = runicorn::testing::ReplicaIdsByUrl(db);
  REQUIRE(by_url.size() == 3);
  const std::vector<std::string> three{by_url.at(fleet.url(0)), by_url.at(fleet.url(1)), by_url.at(url2)};

  // The buckets of step 1 that belong to the newcomer now: their holders let go of them, and only
  // of them, once their runs are sealed (they are: every writer's Finish waited for it).
  std::set<uint64_t> moving, staying;
  for (const auto& run : first_runs)
    (PreferredReplica(RunBucket(run), three) == three[2] ? moving : staying).insert(RunBucket(run));
  REQUIRE_FALSE(moving.empty());  // 20 runs: each bucket stays with probability 2/3 only
  const bool settled = WaitFor(
      [&] {
        auto held = HeldBuckets(db);
        for (uint64_t b : moving)
          if (held.count(b)) return false;
        return true;
      },
      90000);
  INFO(FileOrMissing(fleet.log(0)) << FileOrMissing(fleet.log(1)));
  REQUIRE(settled);
  auto held = HeldBuckets(db);
  for (uint64_t b : staying) {
    INFO("bucket " << b);
    REQUIRE(held.count(b));
    CHECK(held.at(b) == PreferredReplica(b, three));
  }
  const bool logged = FileOrMissing(fleet.log(0)).find("released") != std::string::npos ||
                      FileOrMissing(fleet.log(1)).find("released") != std::string::npos;
  CHECK(logged);

  // 3. New runs, all sent to replica 0: three in buckets the newcomer took over, three more that
  // belong to it, six that belong to the others. Each lands on the replica its bucket belongs to.
  std::vector<std::string> new_runs;
  uint32_t next = 0xb00000;
  for (uint64_t b : moving) {
    if (new_runs.size() == 3) break;
    for (;; ++next) {
      std::string id = fmt::format("20261204_060000_{:06x}", next);
      if (RunBucket(id) == b) {
        new_runs.push_back(id);
        ++next;
        break;
      }
    }
  }
  auto belonging_to = [&](const std::string& replica) {
    std::string id = runicorn::testing::RunIdBelongingTo("20261204_060000", next, replica, three);
    next = static_cast<uint32_t>(std::stoul(id.substr(16), nullptr, 16)) + 1;
    return id;
  };
  while (new_runs.size() < 6) new_runs.push_back(belonging_to(three[2]));
  for (int i = 0; i < 6; ++i) new_runs.push_back(belonging_to(three[i % 2]));
  run_all(new_runs, 200);
  int on_newcomer = 0;
  for (const auto& run : new_runs) {
    const std::string preferred = PreferredReplica(RunBucket(run), three);
    const int expected = preferred == three[0] ? 0 : preferred == three[1] ? 1 : 2;
    INFO("run " << run << " belongs to " << preferred);
    CHECK(Holders(stores, run) == std::vector<int>{expected});
    on_newcomer += expected == 2;
  }
  CHECK(on_newcomer >= 4);  // the moved buckets' runs (at least one) and the three chosen for it
  // The runs of step 1 stay where they were written: a move takes no copy along (they are served
  // from the bucket).
  for (const auto& run : first_runs) CHECK(Holders(stores, run).size() == 1);
}

#endif  // RUNICORN_HAVE_PG
