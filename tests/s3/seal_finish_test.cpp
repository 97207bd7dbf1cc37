// Finished runs on replicas (docs/SCALE-OUT.md "Finished runs", issue 20): two real `runicorn
// viewer` replicas on one PostgreSQL and one Ceph RGW bucket, and real `runicorn simulate` writers.
//   1. A writer's Finish() returns only once its owner confirmed the run sealed: its segments are
//      in the bucket and in the segment index, and its writer recorded the confirmation.
//   2. A writer finishes through replica A and exits before A sealed (A lingers on an ended run for
//      10 s, so it cannot seal within the second the test gives it); A is SIGKILLed. `runicorn
//      sync` then asks replica B, which takes the run over, gets it resent, seals and publishes it:
//      B serves every point (journal byte for byte, every value bit for bit), sealed and indexed.
#ifdef RUNICORN_HAVE_PG
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <cstring>
#include <thread>

#include "pg/pg_test_server.h"
#include "remote/fault_proxy.h"
#include "remote/frame_scan.h"
#include "remote/ingest_client.h"
#include "remote/processes.h"
#include "replica_fleet.h"
#include "replica_ids.h"
#include "rgw_test_server.h"
#include "runtrack/catalog.h"
#include "runtrack/layout.h"
#include "runtrack/remote.h"
#include "service/pg/pg_segment_index.h"
#include "service/s3/s3_client.h"
#include "test_support.h"
#include "util/files.h"

namespace {
using namespace runtrack;
namespace fs = std::filesystem;
using runicorn::testing::FileOrMissing;
using runicorn::testing::Spawn;
using runicorn::testing::WaitFor;

// Every point of every metric of the run, steps and value bits, in catalog order.
std::string PointTranscript(const fs::path& root, const std::string& id) {
  auto catalog = Catalog::Open(root);
  REQUIRE(catalog.ok());
  REQUIRE((*catalog)->Refresh().ok());
  auto detail = (*catalog)->GetRun(id);
  REQUIRE(detail.ok());
  std::string out;
  for (const MetricInfo& m : detail->metrics) {
    auto series = (*catalog)->ReadMetric(id, m.name);
    REQUIRE(series.ok());
    out += fmt::format("{} {}:", m.name, series->points.size());
    for (const MetricPoint& p : series->points) {
      uint64_t bits = 0;
      std::memcpy(&bits, &p.value, sizeof bits);
      out += fmt::format(" {}={:x}", p.step, bits);
    }
    out += "\n";
  }
  return out;
}

}  // namespace

TEST_CASE("finished runs: Finish returns once sealed in the bucket, and a run whose owner died before sealing "
          "is resent to the survivor",
          "[s3][rgw][pg][replicas][seal][e2e]") {
  RUNICORN_S3_TEST_SERVER(rgw);
  RUNICORN_PG_TEST_SERVER(pg);
  const std::string db = pg.NewDatabase();
  REQUIRE_FALSE(db.empty());
  testing::TempDir dir;

  runicorn::testing::ReplicaFleet fleet(dir.path(), db, rgw.endpoint(), "rt-sealfinish");
  runicorn::service::s3::S3Client bucket(fleet.location(), fleet.credentials());
  const std::string a_url = fleet.url(0);
  const std::string b_url = fleet.url(1);
  auto index = runicorn::service::pg::PgSegmentIndex::Open(db);
  REQUIRE(index.ok());
  auto simulate = [&](const std::string& node, const std::string& id, const std::string& server,
                      const std::string& seal_wait) {
    return Spawn({RUNICORN_BINARY, "simulate", "--storage", (dir.path() / node).string(), "--run-id", id, "--steps",
                  "3000", "--interval-ms", "0", "--log-every", "100"},
                 {{"RUNICORN_SERVER", server}, {"RUNICORN_TOKEN", ""}, {"RUNICORN_STREAM", ""},
                  {"RUNICORN_SEAL_WAIT", seal_wait}},
                 (dir.path() / (node + ".log")).string());
  };
  auto state_at = [&](const std::string& url, const std::string& id) {
    runtrack::remote::IngestClient client(ShipperOptions{.server = url});
    auto reply = client.GetState(id, "0");
    return fmt::format("{} {}", reply.status, reply.body);
  };
  auto indexed_points = [&](const std::string& id) -> int64_t {
    auto row = (*index)->ReadRun(id);
    if (!row.ok()) return -1;
    int64_t n = 0;
    for (const auto& s : row->series) n += static_cast<int64_t>(s.info.ref.point_count);
    return n;
  };
  auto objects_of = [&](const std::string& id) {
    auto listed = bucket.ListAll(fmt::format("team/segments/{}/", id));
    REQUIRE(listed.ok());
    return listed->size();
  };

  // 1. The normal case: Finish() waits for the owner's confirmation (at most RUNICORN_SEAL_WAIT).
  const std::string run1 = "20261204_030000_aaaaa1";
  {
    pid_t writer = simulate("node1", run1, a_url, "120");
    CHECK(runicorn::testing::WaitExit(writer) == 0);
    INFO(FileOrMissing(dir.path() / "node1.log"));
    const StoreLayout node(dir.path() / "node1");
    const uint64_t length = fs::file_size(node.journal_path(run1));
    // Confirmed before the writer exited: the run's points were in the bucket and the index then.
    CHECK(FileOrMissing(node.ship_confirmed_path(run1)) == std::to_string(length));
    CHECK(indexed_points(run1) == 6000);  // loss and accuracy, 3000 steps each
    CHECK(objects_of(run1) >= 2);
    // Asked through the other replica: forwarded to the owner, which answers.
    CHECK(state_at(b_url, run1) ==
          fmt::format(R"(200 {{"durable_offset":{},"seal_required":true,"final":true,"sealed":true}})", length));
  }

  // 2. The owner dies after acknowledging the whole run and before sealing it. The run's bucket
  // belongs to A (rendezvous hashing over the two replicas' ids), so A takes it.
  const auto ids = runicorn::testing::ReplicaIdsByUrl(db);
  REQUIRE(ids.size() == 2);
  const std::string run2 = runicorn::testing::RunIdBelongingTo("20261204_030000", 0xbbbbb2, ids.at(a_url),
                                                               {ids.at(a_url), ids.at(b_url)});
  const StoreLayout node2(dir.path() / "node2");
  {
    pid_t writer = simulate("node2", run2, a_url, "0");  // Finish asks once and does not wait
    CHECK(runicorn::testing::WaitExit(writer) == 0);
    fleet.Kill(0);
    INFO(FileOrMissing(dir.path() / "node2.log"));
    const uint64_t length = fs::file_size(node2.journal_path(run2));
    CHECK(FileOrMissing(node2.shipped_path(run2)) == std::to_string(length));  // A had acknowledged everything
    CHECK(FileOrMissing(node2.ship_confirmed_path(run2)) == "0");              // ... and sealed nothing
    CHECK(indexed_points(run2) <= 0);
    CHECK(objects_of(run2) == 0);
    CHECK(FileOrMissing(StoreLayout(fleet.store(0)).journal_path(run2)) == FileOrMissing(node2.journal_path(run2)));
  }
  // Only the writer's journal still has the acknowledged tail: `runicorn sync` finds it unconfirmed.
  pid_t sync = Spawn({RUNICORN_BINARY, "sync", "--server", b_url, "--attempts", "40", (dir.path() / "node2").string()},
                     {{"RUNICORN_TOKEN", ""}, {"RUNICORN_SEAL_WAIT", "120"}}, (dir.path() / "sync.log").string());
  CHECK(runicorn::testing::WaitExit(sync) == 0);
  INFO("sync: " << FileOrMissing(dir.path() / "sync.log"));
  const std::string journal2 = FileOrMissing(node2.journal_path(run2));
  CHECK(FileOrMissing(node2.ship_confirmed_path(run2)) == std::to_string(journal2.size()));
  CHECK(state_at(b_url, run2) ==
        fmt::format(R"(200 {{"durable_offset":{},"seal_required":true,"final":true,"sealed":true}})", journal2.size()));
  CHECK(indexed_points(run2) == 6000);
  CHECK(objects_of(run2) >= 2);

  CHECK(fleet.Stop(1) == 0);
  const fs::path survivor = fleet.store(1);
  CHECK(FileOrMissing(StoreLayout(survivor).journal_path(run2)) == journal2);
  const std::string mine = PointTranscript(dir.path() / "node2", run2);
  CHECK(mine.find("loss 3000:") != std::string::npos);
  CHECK(PointTranscript(survivor, run2) == mine);
}

#endif  // RUNICORN_HAVE_PG
