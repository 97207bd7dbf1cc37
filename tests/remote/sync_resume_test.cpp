// `runicorn sync` of 100 offline runs, SIGKILLed half-way and run again: it resumes where the
// server's acknowledgements (<run dir>/shipped) say and sends nothing twice beyond the requests
// that were in flight when it died, counted by the viewer's receiver.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <thread>

#include "processes.h"
#include "runtrack/remote.h"
#include "runtrack/store.h"
#include "test_support.h"
#include "util/files.h"
#include "viewer_fixture.h"

namespace {
using namespace runtrack;
namespace fs = std::filesystem;

std::string Bytes(const fs::path& p) {
  auto r = util::ReadFile(p);
  return r.ok() ? *r : std::string("<missing>");
}
using runicorn::testing::RestartableViewer;
}  // namespace

TEST_CASE("runicorn sync: 100 offline runs, killed half-way, resumes and sends nothing twice", "[remote][sync]") {
  testing::TempDir dir;
  RestartableViewer viewer(dir.path() / "central", dir.path() / "config.json");
  auto store = Store::Open(dir.path() / "node");  // no server: offline
  REQUIRE(store.ok());
  std::vector<std::string> ids;
  uint64_t total = 0;
  for (int r = 0; r < 100; ++r) {
    auto run = (*store)->CreateRun({});
    REQUIRE(run.ok());
    for (int s = 1; s <= 4000; ++s) REQUIRE((*run)->Log(s, "loss", 1.0 / s + r).ok());
    ids.push_back((*run)->id());
    REQUIRE((*run)->Finish().ok());
    total += fs::file_size((*store)->layout().journal_path(ids.back()));
  }
  auto stats = [&] { return viewer.ctx().services->ingest.stats(); };
  const std::vector<std::string> sync = {RUNICORN_BINARY, "sync",   "--server", viewer.url(), "--jobs", "2",
                                         "--storage",     (*store)->root().string()};
  const std::map<std::string, std::string> env{{"RUNICORN_TOKEN", ""}, {"RUNICORN_SERVER", ""}};

  pid_t first = runicorn::testing::Spawn(sync, env, (dir.path() / "sync1.log").string());
  while (stats().bytes_appended < total / 2) std::this_thread::sleep_for(std::chrono::microseconds(200));
  runicorn::testing::Kill9(first);
  const auto at_kill = stats();
  INFO("killed after " << at_kill.bytes_appended << " of " << total << " bytes");
  REQUIRE(at_kill.bytes_appended < total);  // it really was half-way

  pid_t second = runicorn::testing::Spawn(sync, env, (dir.path() / "sync2.log").string());
  REQUIRE(runicorn::testing::WaitExit(second) == 0);
  const auto done = stats();
  // Every journal byte was written on the server exactly once ...
  CHECK(done.bytes_appended == total);
  // ... and the only bytes sent twice are those of the requests in flight at the kill: at most one
  // batch (512 KiB) per job; the acknowledgement of each other batch was on disk first.
  CHECK(done.bytes_resent <= 2 * (512u << 10));
  StoreLayout central(dir.path() / "central");
  int same = 0;
  for (const std::string& id : ids)
    same += Bytes(central.journal_path(id)) == Bytes((*store)->layout().journal_path(id));
  CHECK(same == 100);

  // A third sync finds everything acknowledged: no request at all.
  pid_t third = runicorn::testing::Spawn(sync, env, (dir.path() / "sync3.log").string());
  REQUIRE(runicorn::testing::WaitExit(third) == 0);
  CHECK(stats().requests == done.requests);
  CHECK(Bytes(dir.path() / "sync3.log") == "100 runs checked, 0 shipped (0 B), 0 failed\n");
}
