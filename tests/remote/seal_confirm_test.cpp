// Sealed confirmation with a single viewer (docs/REMOTE.md "Sealed confirmation"): the state route
// (`GET /api/ingest/{run}/state`), a Finish() that is confirmed by the acknowledgement alone, a
// writer's journal kept uncompacted while unconfirmed, the resend when the answering server has less
// than was acknowledged (a replica that took a dead owner's run over), and runs of older builds
// (no ship-confirmed file) never asked about. The team case (PostgreSQL + RGW, a SIGKILLed owner)
// is tests/s3/seal_finish_test.cpp.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <thread>

#include "catalog/sealed_support.h"
#include "journal/journal_format.h"
#include "remote/fault_proxy.h"
#include "remote/ingest_client.h"
#include "runtrack/compacted_run.h"
#include "runtrack/remote.h"
#include "runtrack/store.h"
#include "server_fixture.h"
#include "test_support.h"
#include "util/files.h"
#include "viewer_fixture.h"

namespace {
using namespace runtrack;
namespace fs = std::filesystem;
using runicorn::testing::RestartableViewer;

std::string Bytes(const fs::path& p) {
  auto r = util::ReadFile(p);
  return r.ok() ? *r : std::string("<missing>");
}

std::string Journal(const std::string& id) {
  std::string j = journal::EncodeHeader();
  journal::AppendRecord(&j, journal::RecordType::kRunStart, fmt::format(R"({{"id":"{}"}})", id));
  return j;
}

// A finished run of `points` points per metric, shipped to `server` by its Store (Finish waits).
std::string FinishedShippedRun(const fs::path& root, const std::string& server, int points) {
  StoreOptions so;
  so.server = server;
  auto store = Store::Open(root, so);
  REQUIRE(store.ok());
  auto run = (*store)->CreateRun({});
  REQUIRE(run.ok());
  testing::LogMixedRun(**run, points);
  REQUIRE((*run)->Finish().ok());
  return (*run)->id();
}

}  // namespace

TEST_CASE("ingest state: a single viewer answers its durable offset without sealing, and refuses what it must",
          "[remote][seal]") {
  testing::TempDir dir;
  RestartableViewer viewer(dir.path() / "central", dir.path() / "config.json", "main-token",
                           [](runicorn::server::ApiOptions& a) {
                             a.ingest_token = "ingest-only";
                             a.local_token = "local-cli";
                           });
  const std::string id = "20261204_020000_aaaaa1";
  remote::IngestClient writer(ShipperOptions{.server = viewer.url(), .token = "ingest-only"});
  REQUIRE(writer.Put(id, "0", 0, CompressIngestBody(Journal(id))).status == 200);

  auto state = writer.GetState(id, "0");
  CHECK(state.status == 200);
  CHECK(state.body == fmt::format(R"({{"durable_offset":{},"seal_required":false}})", Journal(id).size()));

  // No copy of that stream here: 404 with offset 0, which a writer tells from a server without the
  // route (whose 404 has no durable_offset).
  auto other_stream = writer.GetState(id, "1");
  CHECK(other_stream.status == 404);
  CHECK(other_stream.body ==
        fmt::format(R"({{"detail":"run {} has no journal stream 1 on this server","durable_offset":0}})", id));
  auto unknown = writer.GetState("20261204_020000_bbbbb2", "0");
  CHECK(unknown.status == 404);
  CHECK(unknown.body ==
        R"({"detail":"run 20261204_020000_bbbbb2 has no journal stream 0 on this server","durable_offset":0})");

  runicorn::testing::HttpClient client(viewer.port());
  const std::map<std::string, std::string> ingest{{"Authorization", "Bearer ingest-only"}};
  auto bad_id = client.Get("/api/ingest/not_a_run/state", ingest);
  CHECK(bad_id.status == 400);
  CHECK(bad_id.detail() == "Invalid run_id format: not_a_run. Expected format: YYYYMMDD_HHMMSS_XXXXXX");
  auto bad_stream = client.Get(fmt::format("/api/ingest/{}/state?stream=.x", id), ingest);
  CHECK(bad_stream.status == 400);
  CHECK(bad_stream.detail() == "Invalid stream '.x': it must not start with '.'");
  auto traversal = client.Get(fmt::format("/api/ingest/{}/state?stream=..%2F..%2Fx", id), ingest);
  CHECK(traversal.status == 400);

  // The ingest scope: the viewer's and the ingest token may ask; no token or the CLI's may not.
  CHECK(client.Get(fmt::format("/api/ingest/{}/state", id), {{"Authorization", "Bearer main-token"}}).status == 200);
  auto anonymous = client.Get(fmt::format("/api/ingest/{}/state", id));
  CHECK(anonymous.status == 401);
  CHECK(anonymous.body == R"({"detail":"Not authenticated"})");
  CHECK(client.Get(fmt::format("/api/ingest/{}/state", id), {{"Authorization", "Bearer local-cli"}}).status == 401);
}

TEST_CASE("seal confirmation: a single viewer confirms at Finish, and only a confirmed journal is compacted",
          "[remote][seal][compaction]") {
  testing::TempDir dir;
  RestartableViewer viewer(dir.path() / "central", dir.path() / "config.json");
  const fs::path root = dir.path() / "writer";
  const std::string id = FinishedShippedRun(root, viewer.url(), 800);
  const StoreLayout local(root);
  const std::string journal = Bytes(local.journal_path(id));
  CHECK(Bytes(StoreLayout(dir.path() / "central").journal_path(id)) == journal);
  // Confirmed by the acknowledgement: nothing is kept waiting.
  CHECK(Bytes(local.ship_confirmed_path(id)) == std::to_string(journal.size()));
  CHECK_FALSE(AwaitsSealConfirmation(local, id));

  CatalogOptions o;
  o.seal_finished_runs = false;
  o.journal_compaction_delay = std::chrono::seconds(0);
  SECTION("unconfirmed: kept as written, a resend may still need it") {
    REQUIRE(util::WriteFileAtomic(local.ship_confirmed_path(id), "0", false).ok());
    REQUIRE(AwaitsSealConfirmation(local, id));
    {
      auto catalog = testing::OpenCatalogWith(root, o);
      testing::Index(*catalog);
      auto report = catalog->SealFinishedRuns();
      REQUIRE(report.ok());
      CHECK(report->runs_sealed == 1);
      CHECK(report->journals_compacted == 0);
    }
    CHECK(Bytes(local.journal_path(id)) == journal);
    // Asked again (`runicorn sync`): confirmed without sending a byte, then compacted.
    auto synced = ShipRun(local, id, ShipperOptions{.server = viewer.url()}, 3);
    REQUIRE(synced.ok());
    CHECK(synced->confirmed);
    CHECK_FALSE(synced->awaiting_seal);
    CHECK(synced->bytes_sent == 0);
    CHECK(Bytes(local.ship_confirmed_path(id)) == std::to_string(journal.size()));
  }
  auto catalog = testing::OpenCatalogWith(root, o);
  testing::Index(*catalog);
  auto report = catalog->SealFinishedRuns();
  REQUIRE(report.ok());
  CHECK(report->journals_compacted == 1);
  auto head = ReadLocalCompactedHead(local, id);
  REQUIRE(head.ok());
  REQUIRE(head->has_value());
  CHECK((*head)->original_length == journal.size());
}

TEST_CASE("seal confirmation: a server with less than was acknowledged gets the whole run again",
          "[remote][seal]") {
  // As after a takeover: the replica now answering never had the run (its owner died).
  testing::TempDir dir;
  const fs::path root = dir.path() / "writer";
  std::string id;
  {
    RestartableViewer first(dir.path() / "first", dir.path() / "config.json");
    id = FinishedShippedRun(root, first.url(), 600);
  }
  const StoreLayout local(root);
  const std::string journal = Bytes(local.journal_path(id));
  REQUIRE(util::WriteFileAtomic(local.ship_confirmed_path(id), "0", false).ok());  // not confirmed in time

  RestartableViewer second(dir.path() / "second", dir.path() / "config.json");
  auto synced = ShipRun(local, id, ShipperOptions{.server = second.url()}, 3);
  REQUIRE(synced.ok());
  CHECK(synced->bytes_sent == journal.size());
  CHECK(synced->acknowledged == journal.size());
  CHECK(synced->confirmed);
  CHECK(Bytes(StoreLayout(dir.path() / "second").journal_path(id)) == journal);
  CHECK(Bytes(local.ship_confirmed_path(id)) == std::to_string(journal.size()));
  CHECK(Bytes(local.shipped_path(id)) == std::to_string(journal.size()));

  // The next Store on the root finds nothing left to ask about.
  SECTION("a Store's shipper adopts an unconfirmed run and confirms it") {
    REQUIRE(util::WriteFileAtomic(local.ship_confirmed_path(id), "0", false).ok());
    StoreOptions so;
    so.server = second.url();
    auto store = Store::Open(root, so);
    REQUIRE(store.ok());
    bool confirmed = false;
    for (int i = 0; i < 250 && !confirmed; ++i) {
      confirmed = Bytes(local.ship_confirmed_path(id)) == std::to_string(journal.size());
      if (!confirmed) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    CHECK(confirmed);
  }
}

TEST_CASE("seal confirmation: a question the server did not answer is asked again after the backoff",
          "[remote][seal]") {
  // Once a run is acknowledged whole no more journal bytes go: the question itself is the only
  // request, so its own failure must not stop the next round from asking (it once did: a busy
  // replica's one 503 left a writer waiting out RUNICORN_SEAL_WAIT for a run sealed long before).
  testing::TempDir dir;
  const fs::path root = dir.path() / "writer";
  RestartableViewer viewer(dir.path() / "central", dir.path() / "config.json");
  const std::string id = FinishedShippedRun(root, viewer.url(), 100);
  const StoreLayout local(root);
  const std::string journal = Bytes(local.journal_path(id));
  REQUIRE(Bytes(local.ship_confirmed_path(id)) == std::to_string(journal.size()));
  REQUIRE(util::WriteFileAtomic(local.ship_confirmed_path(id), "0", false).ok());  // not confirmed in time

  // Every connection refused until the shipper has asked once; then the server answers.
  runicorn::testing::FaultProxy proxy(viewer.port(), {.refuse = 1.0, .cut = 0, .delay = 0});
  StoreOptions so;
  so.server = fmt::format("http://127.0.0.1:{}", proxy.port());
  auto store = Store::Open(root, so);
  REQUIRE(store.ok());
  for (int i = 0; i < 500 && proxy.refused() == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  REQUIRE(proxy.refused() >= 1);
  proxy.set_rates({.refuse = 0, .cut = 0, .delay = 0});
  // Adopted runs are asked every 5 s: two chances.
  bool confirmed = false;
  for (int i = 0; i < 600 && !confirmed; ++i) {
    confirmed = Bytes(local.ship_confirmed_path(id)) == std::to_string(journal.size());
    if (!confirmed) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  CHECK(confirmed);
  CHECK(proxy.connections() > proxy.refused());
}

TEST_CASE("seal confirmation: runs shipped by an older build (no ship-confirmed file) are never asked about",
          "[remote][seal]") {
  testing::TempDir dir;
  const fs::path root = dir.path() / "writer";
  std::string id;
  {
    RestartableViewer viewer(dir.path() / "central", dir.path() / "config.json");
    id = FinishedShippedRun(root, viewer.url(), 100);
  }
  const StoreLayout local(root);
  // Nothing listens there now: any request would fail the single attempt allowed.
  const std::string gone = fmt::format("http://127.0.0.1:{}", runicorn::testing::FreePort());
  fs::remove(local.ship_confirmed_path(id));
  auto legacy = ShipRun(local, id, ShipperOptions{.server = gone, .backoff_min = std::chrono::milliseconds(1)}, 1);
  REQUIRE(legacy.ok());
  CHECK(legacy->requests == 0);
  CHECK_FALSE(legacy->confirmed);
  CHECK_FALSE(AwaitsSealConfirmation(local, id));

  REQUIRE(util::WriteFileAtomic(local.ship_confirmed_path(id), "0", false).ok());
  auto asked = ShipRun(local, id, ShipperOptions{.server = gone, .backoff_min = std::chrono::milliseconds(1)}, 1);
  REQUIRE_FALSE(asked.ok());
  CHECK(asked.status().code() == StatusCode::kIOError);
  CHECK(asked.status().message().rfind(fmt::format("run {}: gave up after 1 failed attempts: cannot reach the server", id), 0) == 0);
}
