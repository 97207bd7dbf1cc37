// Journal shipping end to end: real viewer, real sockets on 127.0.0.1 (docs/REMOTE.md).
#include <sys/wait.h>

#include <cstdio>
#include <thread>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "journal/journal_format.h"
#include "remote/ingest_client.h"
#include "runtrack/catalog.h"
#include "runtrack/remote.h"
#include "runtrack/store.h"
#include "test_support.h"
#include "util/files.h"
#include "server_fixture.h"
#include "viewer_fixture.h"

namespace {
using namespace runtrack;

// The acknowledged offset, or `fallback` when it cannot be read.
uint64_t ShippedOr(const StoreLayout& layout, const std::string& id, uint64_t fallback) {
  auto r = ReadShippedOffset(layout, id);
  return r.ok() ? *r : fallback;
}
using runicorn::testing::RestartableViewer;
namespace fs = std::filesystem;

std::string FileBytes(const fs::path& p) {
  auto r = util::ReadFile(p);
  return r.ok() ? *r : std::string("<missing>");
}

// Every step 1..n of "loss" exactly once, with value 1/step.
void CheckPoints(RestartableViewer& viewer, const std::string& run_id, int n) {
  viewer.Sync();
  auto series = viewer.ctx().storage->catalog().ReadMetric(run_id, "loss");
  REQUIRE(series.ok());
  REQUIRE(series->points.size() == static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    CHECK(series->points[i].step == i + 1);
    CHECK(series->points[i].value == 1.0 / (i + 1));
  }
}

// Waits (without asserting on time) until `done()` or a generous limit.
template <typename F>
bool WaitFor(F done) {
  for (int i = 0; i < 3000; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return done();
}

}  // namespace

TEST_CASE("shipping: a writer's points reach the viewer's catalog exactly once", "[remote][e2e]") {
  testing::TempDir dir;
  RestartableViewer viewer(dir.path() / "central", dir.path() / "config.json");
  StoreOptions o;
  o.server = viewer.url();
  auto store = Store::Open(dir.path() / "node", o);
  REQUIRE(store.ok());
  auto run = (*store)->CreateRun({});
  REQUIRE(run.ok());
  const std::string id = (*run)->id();
  for (int s = 1; s <= 5000; ++s) REQUIRE((*run)->Log(s, "loss", 1.0 / s).ok());
  REQUIRE((*run)->Finish().ok());

  const StoreLayout& local = (*store)->layout();
  const std::string journal = FileBytes(local.journal_path(id));
  CHECK(FileBytes(local.shipped_path(id)) == std::to_string(journal.size()));
  StoreLayout central(dir.path() / "central");
  CHECK(FileBytes(central.journal_path(id)) == journal);
  CheckPoints(viewer, id, 5000);
  auto detail = viewer.ctx().storage->catalog().GetRun(id);
  REQUIRE(detail.ok());
  CHECK(detail->run.status == RunStatus::kFinished);

  // `runicorn sync`'s engine finds nothing left to send.
  auto again = ShipRun(local, id, ShipperOptions{.server = viewer.url()});
  REQUIRE(again.ok());
  CHECK(again->requests == 0);
  CHECK(again->acknowledged == journal.size());
}

TEST_CASE("shipping: a viewer restart mid-run loses nothing and duplicates nothing", "[remote][e2e]") {
  testing::TempDir dir;
  RestartableViewer viewer(dir.path() / "central", dir.path() / "config.json");
  StoreOptions o;
  o.server = viewer.url();
  auto store = Store::Open(dir.path() / "node", o);
  REQUIRE(store.ok());
  auto run = (*store)->CreateRun({});
  REQUIRE(run.ok());
  const std::string id = (*run)->id();
  const StoreLayout& local = (*store)->layout();
  for (int s = 1; s <= 1000; ++s) REQUIRE((*run)->Log(s, "loss", 1.0 / s).ok());
  REQUIRE((*run)->Flush().ok());
  const uint64_t flushed = fs::file_size(local.journal_path(id));
  REQUIRE(WaitFor([&] { return ShippedOr(local, id, 0) == flushed; }));

  viewer.Stop();  // the shipper's connections are now refused
  for (int s = 1001; s <= 2000; ++s) REQUIRE((*run)->Log(s, "loss", 1.0 / s).ok());
  REQUIRE((*run)->Flush().ok());
  // Logging went on while the server was away; nothing past the first part is acknowledged.
  CHECK(ShippedOr(local, id, 0) == flushed);
  viewer.Start();
  for (int s = 2001; s <= 3000; ++s) REQUIRE((*run)->Log(s, "loss", 1.0 / s).ok());
  REQUIRE((*run)->Finish().ok());

  const std::string journal = FileBytes(local.journal_path(id));
  CHECK(FileBytes(local.shipped_path(id)) == std::to_string(journal.size()));
  CHECK(FileBytes(StoreLayout(dir.path() / "central").journal_path(id)) == journal);
  CheckPoints(viewer, id, 3000);
}

TEST_CASE("shipping: with the viewer down, Finish returns after its timeout and the journal stays whole",
          "[remote][e2e]") {
  testing::TempDir dir;
  RestartableViewer viewer(dir.path() / "central", dir.path() / "config.json");
  const std::string url = viewer.url();
  viewer.Stop();
  StoreOptions o;
  o.server = url;
  o.finish_timeout = std::chrono::milliseconds(200);
  auto store = Store::Open(dir.path() / "node", o);
  REQUIRE(store.ok());
  auto run = (*store)->CreateRun({});
  REQUIRE(run.ok());
  const std::string id = (*run)->id();
  for (int s = 1; s <= 100; ++s) REQUIRE((*run)->Log(s, "loss", 1.0 / s).ok());
  REQUIRE((*run)->Finish().ok());
  const StoreLayout& local = (*store)->layout();
  CHECK(FileBytes(local.shipped_path(id)) == "0");

  // Later, the viewer is back: the same code ships the rest (what `runicorn sync` runs).
  viewer.Start();
  auto shipped = ShipRun(local, id, ShipperOptions{.server = url});
  REQUIRE(shipped.ok());
  const uint64_t size = fs::file_size(local.journal_path(id));
  CHECK(shipped->acknowledged == size);
  CHECK(shipped->bytes_sent == size);
  CheckPoints(viewer, id, 100);
}

TEST_CASE("ingest API: content type, token, stream, gap and a corrupted body", "[remote][api]") {
  testing::TempDir dir;
  RestartableViewer viewer(dir.path() / "central", dir.path() / "config.json", "s3cret");
  std::string j = journal::EncodeHeader();
  journal::AppendRecord(&j, journal::RecordType::kRunStart, R"({"id":"20260101_120000_abcdef"})");
  const std::string id = "20260101_120000_abcdef";
  ShipperOptions with_token{.server = viewer.url(), .token = "s3cret"};

  SECTION("no token: 401, nothing stored") {
    remote::IngestClient c(ShipperOptions{.server = viewer.url()});
    auto r = c.Put(id, "0", 0, CompressIngestBody(j));
    CHECK(r.status == 401);
    CHECK_FALSE(fs::exists(StoreLayout(dir.path() / "central").run_dir(id)));
  }
  SECTION("good body: 200 with the durable offset; a gap: 409 with expected_offset") {
    remote::IngestClient c(with_token);
    auto r = c.Put(id, "0", 0, CompressIngestBody(j));
    CHECK(r.status == 200);
    CHECK(r.body == fmt::format(R"({{"durable_offset":{}}})", j.size()));
    auto gap = c.Put(id, "0", j.size() + 100, CompressIngestBody(j.substr(12)));
    CHECK(gap.status == 409);
    CHECK(gap.body == fmt::format(
                          R"({{"detail":"offset is past the end of the server's copy; resend from expected_offset","expected_offset":{}}})",
                          j.size()));
  }
  SECTION("a corrupted record: 400 and nothing appended") {
    remote::IngestClient c(with_token);
    std::string bad = j;
    bad[bad.size() - 2] ^= 1;
    auto r = c.Put(id, "0", 0, CompressIngestBody(bad));
    CHECK(r.status == 400);
    CHECK(r.body == R"({"detail":"ingest body refused: checksum mismatch in the record at offset 12"})");
    CHECK_FALSE(fs::exists(StoreLayout(dir.path() / "central").journal_path(id)));
  }
  SECTION("another stream is stored beside the journal (issue 19 Streams); a bad stream name: 400") {
    remote::IngestClient c(with_token);
    auto r = c.Put(id, "1", 0, CompressIngestBody(j));
    CHECK(r.status == 200);
    CHECK(FileBytes(StoreLayout(dir.path() / "central").stream_journal_path(id, "1")) == j);
    auto bad = c.Put(id, "a/b", 0, CompressIngestBody(j));
    CHECK(bad.status == 404);  // '/' splits the path: no such route
    auto dotted = c.Put(id, ".hidden", 0, CompressIngestBody(j));
    CHECK(dotted.status == 400);
    CHECK(dotted.body == R"({"detail":"Invalid stream '.hidden': it must not start with '.'"})");
  }
  SECTION("octet-stream is accepted on the ingest route only") {
    runicorn::testing::HttpClient http(viewer.port());
    std::string raw = http.Raw(
        "PUT /api/artifacts/model/aliases/best HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer s3cret\r\n"
        "Content-Type: application/octet-stream\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}");
    CHECK(raw.starts_with("HTTP/1.1 415"));
    CHECK(raw.ends_with(R"({"detail":"Content-Type must be application/json"})"));
  }
  SECTION("not zstd: 400") {
    remote::IngestClient c(with_token);
    auto r = c.Put(id, "0", 0, j);
    CHECK(r.status == 400);
    CHECK(r.body.find("ingest body is not a valid zstd frame") != std::string::npos);
  }
}
