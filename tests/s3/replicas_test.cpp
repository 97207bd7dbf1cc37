// Viewer replicas end to end (docs/SCALE-OUT.md "Replicas", issue 20): two `runicorn viewer`
// processes, each with its own store, on one PostgreSQL (run ownership, the run index) and one Ceph
// RGW bucket, behind a TCP balancer. Eight `runicorn simulate` writers ship through the balancer;
// one replica is SIGKILLed mid-run. The writers finish (their reconnections reach the survivor,
// which takes the dead replica's runs and gets them resent from the writers' journals); then the
// survivor holds every acknowledged point of every run exactly once: its journal of each run is
// byte for byte the writer's whole records, and point counts and checksums match in its catalog.
#ifdef RUNICORN_HAVE_PG
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <thread>

#include "journal/journal_format.h"
#include "journal/journal_reader.h"
#include "pg/pg_test_server.h"
#include "remote/fault_proxy.h"
#include "remote/frame_scan.h"
#include "remote/processes.h"
#include "replica_fleet.h"
#include "rgw_test_server.h"
#include "runtrack/catalog.h"
#include "runtrack/layout.h"
#include "runtrack/validation.h"
#include "tcp_balancer.h"
#include "test_support.h"
#include "util/files.h"

namespace {
using namespace runtrack;
namespace fs = std::filesystem;
using runicorn::testing::FileOrMissing;
using runicorn::testing::Spawn;
using runicorn::testing::WaitFor;

struct PointSum {
  uint64_t count = 0;
  uint64_t checksum = 1469598103934665603ull;  // FNV-1a over every point record's bytes, in order
  bool operator==(const PointSum&) const = default;
};

PointSum SumPoints(const fs::path& journal) {
  PointSum sum;
  auto r = journal::ReadJournal(journal, 0, [&](journal::RecordType type, std::string_view payload) {
    if (type != journal::RecordType::kPoints) return Status::Ok();
    sum.count += payload.size() / sizeof(journal::PackedPoint);
    for (unsigned char c : payload) sum.checksum = (sum.checksum ^ c) * 1099511628211ull;
    return Status::Ok();
  });
  if (!r.ok()) sum.count = ~uint64_t{0};  // unreadable: never equal to a writer's sum
  return sum;
}

std::string WholeRecords(const fs::path& journal) {
  auto bytes = util::ReadFile(journal);
  REQUIRE(bytes.ok());
  auto scan = remote::ScanFrames(*bytes, 0);
  REQUIRE(scan.ok());
  return bytes->substr(0, scan->valid_end);
}

// Runs with a journal in a store.
int RunsWithJournal(const fs::path& root) {
  StoreLayout layout(root);
  std::error_code ec;
  int n = 0;
  for (const auto& e : fs::directory_iterator(layout.runs_dir(), ec))
    if (ValidateRunId(e.path().filename().string()).ok() && fs::exists(layout.journal_path(e.path().filename().string())))
      ++n;
  return n;
}

bool Running(pid_t pid) { return ::waitpid(pid, nullptr, WNOHANG) == 0; }

}  // namespace

TEST_CASE("replicas: one of two SIGKILLed mid-run, the survivor holds every acknowledged point once",
          "[s3][rgw][pg][replicas][e2e]") {
  RUNICORN_S3_TEST_SERVER(rgw);
  RUNICORN_PG_TEST_SERVER(pg);
  const std::string db = pg.NewDatabase();
  REQUIRE_FALSE(db.empty());
  testing::TempDir dir;

  runicorn::testing::ReplicaFleet fleet(dir.path(), db, rgw.endpoint(), "rt-replicas");
  runicorn::testing::TcpBalancer balancer({fleet.port(0), fleet.port(1)});
  const std::string url = fmt::format("http://127.0.0.1:{}", balancer.port());

  constexpr int kWriters = 8;
  auto writer = [&](int node) {
    return Spawn({RUNICORN_BINARY, "simulate", "--storage", (dir.path() / fmt::format("node{}", node)).string(),
                  "--steps", "6000", "--interval-ms", "1", "--log-every", "50"},
                 {{"RUNICORN_SERVER", url}, {"RUNICORN_TOKEN", ""}, {"RUNICORN_STREAM", ""}},
                 (dir.path() / fmt::format("writer{}.log", node)).string());
  };
  std::vector<pid_t> writers;
  for (int node = 0; node < kWriters; ++node) writers.push_back(writer(node));

  // Both replicas own live runs (the balancer alternates), then replica 1 dies mid-run.
  REQUIRE(WaitFor([&] { return RunsWithJournal(fleet.store(0)) > 0 && RunsWithJournal(fleet.store(1)) > 0; },
                  60000));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  int still_running = 0;
  for (pid_t w : writers) still_running += Running(w);
  fleet.Kill(1);
  const int owned_by_dead = RunsWithJournal(fleet.store(1));
  // Every writer was still logging when the replica died: none could have finished its run on it.
  REQUIRE(still_running == kWriters);
  CHECK(owned_by_dead > 0);

  for (pid_t pid : writers) CHECK(runicorn::testing::WaitExit(pid) == 0);
  // What a writer left unshipped at exit goes with `runicorn sync` (through the balancer too).
  for (int node = 0; node < kWriters; ++node) {
    pid_t sync = Spawn({RUNICORN_BINARY, "sync", "--server", url, "--attempts", "40",
                        (dir.path() / fmt::format("node{}", node)).string()},
                       {{"RUNICORN_TOKEN", ""}}, (dir.path() / "sync.log").string());
    CHECK(runicorn::testing::WaitExit(sync) == 0);
  }
  CHECK(fleet.Stop(0) == 0);

  auto catalog = Catalog::Open(fleet.store(0));
  REQUIRE(catalog.ok());
  REQUIRE((*catalog)->Refresh().ok());
  StoreLayout survivor(fleet.store(0));
  int runs = 0, mismatched = 0;
  uint64_t points = 0;
  for (int node = 0; node < kWriters; ++node) {
    StoreLayout local(dir.path() / fmt::format("node{}", node));
    for (const auto& e : fs::directory_iterator(local.runs_dir())) {
      const std::string id = e.path().filename().string();
      if (!ValidateRunId(id).ok()) continue;
      ++runs;
      const PointSum mine = SumPoints(local.journal_path(id));
      points += mine.count;
      bool same = WholeRecords(local.journal_path(id)) == FileOrMissing(survivor.journal_path(id)) &&
                  SumPoints(survivor.journal_path(id)) == mine;
      auto series = (*catalog)->ReadMetric(id, "loss");
      same = same && series.ok() && series->points.size() == mine.count / 2;  // loss and accuracy per step
      if (!same) {
        ++mismatched;
        UNSCOPED_INFO("run " << id << " of node" << node << " differs on the survivor");
      }
    }
  }
  INFO("balancer: " << balancer.connections_to(0) << " connections to replica 0, " << balancer.connections_to(1)
                    << " to replica 1; " << owned_by_dead << " runs had a journal on replica 1");
  CHECK(runs == kWriters);
  CHECK(mismatched == 0);
  CHECK(points == uint64_t{kWriters} * 6000 * 2);
  CHECK(balancer.connections_to(1) > 0);
}

#endif  // RUNICORN_HAVE_PG
