// Journal shipping under faults (issue 19 "Must show"): 8 writer processes ship through a proxy
// that refuses, cuts and delays connections; two writers and the viewer are SIGKILLed and
// restarted mid-way. Afterwards every flushed point of every run is on the server exactly once:
// the server's copy of each journal is byte for byte the writer's whole records, and point
// counts and checksums per run match, in the journals and in the server's catalog.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <thread>

#include "fault_proxy.h"
#include "journal/journal_format.h"
#include "journal/journal_reader.h"
#include "processes.h"
#include "remote/frame_scan.h"
#include "runtrack/catalog.h"
#include "runtrack/layout.h"
#include "runtrack/validation.h"
#include "test_support.h"
#include "util/files.h"

namespace {
using namespace runtrack;
namespace fs = std::filesystem;

std::string Bytes(const fs::path& p) {
  auto r = util::ReadFile(p);
  return r.ok() ? *r : std::string("<missing>");
}
using runicorn::testing::Spawn;

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
  REQUIRE(r.ok());
  return sum;
}

std::string WholeRecords(const fs::path& journal) {
  auto bytes = util::ReadFile(journal);
  REQUIRE(bytes.ok());
  auto scan = remote::ScanFrames(*bytes, 0);
  REQUIRE(scan.ok());
  return bytes->substr(0, scan->valid_end);
}

template <typename F>
bool WaitFor(F done, int limit_ms = 20000) {
  for (int i = 0; i < limit_ms / 10; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return done();
}

}  // namespace

TEST_CASE("fault injection: 8 writers through a faulty proxy, writers and viewer killed, every flushed point lands once",
          "[remote][faults][e2e]") {
  testing::TempDir dir;
  const uint16_t viewer_port = runicorn::testing::FreePort();
  const std::map<std::string, std::string> viewer_env{{"HOME", dir.path().string()},
                                                      {"XDG_CONFIG_HOME", (dir.path() / "config").string()},
                                                      {"RUNICORN_TOKEN", ""}};
  auto start_viewer = [&] {
    pid_t pid = Spawn({RUNICORN_BINARY, "viewer", "--storage", (dir.path() / "central").string(), "--port",
                       std::to_string(viewer_port)},
                      viewer_env, (dir.path() / "viewer.log").string());
    REQUIRE(WaitFor([&] { return runicorn::testing::Listening(viewer_port); }));
    return pid;
  };
  fs::create_directories(dir.path() / "central" / "runs");
  pid_t viewer = start_viewer();
  runicorn::testing::FaultProxy proxy(viewer_port, {});
  const std::string url = fmt::format("http://127.0.0.1:{}", proxy.port());

  auto writer = [&](int node, int steps) {
    return Spawn({RUNICORN_BINARY, "simulate", "--storage", (dir.path() / fmt::format("node{}", node)).string(),
                  "--steps", std::to_string(steps), "--interval-ms", "1", "--log-every", "50"},
                 {{"RUNICORN_SERVER", url}, {"RUNICORN_TOKEN", ""}, {"RUNICORN_STREAM", ""}},
                 (dir.path() / fmt::format("writer{}.log", node)).string());
  };
  std::vector<pid_t> writers;
  for (int node = 0; node < 8; ++node) writers.push_back(writer(node, 2500));

  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  // Two writers die mid-run (their journals end wherever the flusher was) and are restarted: the
  // new process on that node adopts the dead run's unshipped tail.
  for (int node : {0, 1}) {
    runicorn::testing::Kill9(writers[node]);
    writers[node] = writer(node, 800);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  runicorn::testing::Kill9(viewer);  // acknowledged bytes were fsynced; nothing else was promised
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  viewer = start_viewer();

  for (pid_t pid : writers) CHECK(runicorn::testing::WaitExit(pid) == 0);
  // What a dead writer left unshipped goes with `runicorn sync` (still through the faulty proxy).
  for (int node = 0; node < 8; ++node) {
    pid_t sync = Spawn({RUNICORN_BINARY, "sync", "--server", url, "--attempts", "40",
                        (dir.path() / fmt::format("node{}", node)).string()},
                       {{"RUNICORN_TOKEN", ""}}, (dir.path() / "sync.log").string());
    CHECK(runicorn::testing::WaitExit(sync) == 0);
  }
  ::kill(viewer, SIGTERM);
  runicorn::testing::WaitExit(viewer);
  INFO("proxy: " << proxy.connections() << " connections, " << proxy.refused() << " refused, " << proxy.cuts()
                 << " cut");
  CHECK(proxy.refused() + proxy.cuts() > 0);  // the faults did happen

  auto catalog = Catalog::Open(dir.path() / "central");
  REQUIRE(catalog.ok());
  REQUIRE((*catalog)->Refresh().ok());
  StoreLayout central(dir.path() / "central");
  int runs = 0, mismatched = 0;
  uint64_t points = 0;
  for (int node = 0; node < 8; ++node) {
    StoreLayout local(dir.path() / fmt::format("node{}", node));
    for (const auto& e : fs::directory_iterator(local.runs_dir())) {
      const std::string id = e.path().filename().string();
      if (!ValidateRunId(id).ok()) continue;
      ++runs;
      const PointSum mine = SumPoints(local.journal_path(id));
      points += mine.count;
      bool same = WholeRecords(local.journal_path(id)) == Bytes(central.journal_path(id)) &&
                  SumPoints(central.journal_path(id)) == mine;
      auto series = (*catalog)->ReadMetric(id, "loss");
      same = same && series.ok() && series->points.size() == mine.count / 2;  // loss and accuracy per step
      if (!same) {
        ++mismatched;
        UNSCOPED_INFO("run " << id << " of node" << node << " differs on the server");
      }
    }
  }
  CHECK(runs == 10);  // 8 first runs (2 killed) + 2 restarted
  CHECK(mismatched == 0);
  CHECK(points > 0);
}
