// Pull sync of a compacted run into a running viewer (docs/REMOTE.md "Pull sync of a compacted
// run"): the viewer's own receiver installs it and its background indexer (every 50 ms here)
// re-reads the replaced copy, so the API answers every step once.
#include <catch2/catch.hpp>

#include "pull_fixture.h"
#include "server_fixture.h"
#include "service/ssh/pull_sync.h"
#include "service/ssh/remote_service.h"

namespace runicorn::testing {

namespace fs = std::filesystem;

TEST_CASE("a viewer pulling a run compacted after a partial pull serves every step once", "[ssh][compacted]") {
  if (!SshdAvailable()) return;
  Sshd sshd;
  rt::TempDir remote, known;
  TestServer viewer;
  const runtrack::StoreLayout local(viewer.ctx().root);
  service::IngestService& ingest = viewer.ctx().services->ingest;
  service::ssh::PullSyncOptions options;
  options.compacted = service::ssh::IngestInstaller(ingest, local);
  auto session = Connect(sshd, known.path() / "ssh_known_hosts");
  auto pull = [&] {
    auto r = service::ssh::PullSync(*session, remote.path().string(), service::ssh::IngestAppender(ingest), options);
    INFO(r.status().ToString());
    REQUIRE(r.ok());
    INFO((r->skipped.empty() ? std::string() : r->skipped[0]));
    CHECK(r->skipped.empty());
    return *r;
  };
  HttpClient http(viewer.port());
  constexpr int kSteps = 3000;

  std::mt19937_64 rng(7);
  auto store = rt::OpenStore(remote.path());
  auto run = rt::NewRun(*store);
  const std::string id = run->id();
  LogMixedRange(*run, 0, kSteps / 2, kSteps, rng);
  REQUIRE(run->Flush().ok());
  pull();
  viewer.Sync();
  auto half = http.Get("/api/runs/" + id + "/metrics_step");
  REQUIRE(half.status == 200);
  CHECK(half.header("x-row-count") == std::to_string(kSteps / 2));

  LogMixedRange(*run, kSteps / 2, kSteps, kSteps, rng);
  REQUIRE(run->Finish().ok());
  run.reset();
  store.reset();
  REQUIRE(CompactStore(remote.path()) == 1);
  const auto report = pull();
  REQUIRE(report.runs.size() == 1);
  CHECK(report.runs[0].streams[0].compacted);
  CHECK(report.runs[0].streams[0].files_fetched == 8);
  viewer.Sync();
  CHECK_FALSE(fs::exists(local.reindex_marker(id)));
  auto whole = http.Get("/api/runs/" + id + "/metrics_step");
  REQUIRE(whole.status == 200);
  CHECK(whole.header("x-row-count") == std::to_string(kSteps));
  auto loss = http.Get("/api/runs/" + id + "/metrics_step?metrics=loss");
  REQUIRE(loss.status == 200);
  CHECK(loss.header("x-row-count") == std::to_string(kSteps));
  auto detail = http.Get("/api/runs/" + id);
  REQUIRE(detail.status == 200);
  CHECK(detail.json().as_object().at("status").as_string() == "finished");
}

}  // namespace runicorn::testing
