// `runicorn sync` (the real binary) against an in-process viewer: offline runs ship once, a second
// sync sends nothing, and a refused server is reported with exit code 1.
#include <sys/wait.h>

#include <cstdio>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "runtrack/catalog.h"
#include "runtrack/remote.h"
#include "runtrack/store.h"
#include "test_support.h"
#include "util/files.h"
#include "viewer_fixture.h"

namespace {
using namespace runtrack;

// The acknowledged offset, or `fallback` when it cannot be read.
uint64_t ShippedOr(const StoreLayout& layout, const std::string& id, uint64_t fallback) {
  auto r = ReadShippedOffset(layout, id);
  return r.ok() ? *r : fallback;
}
using runicorn::testing::RestartableViewer;

struct Output {
  int exit_code = -1;
  std::string out;  // stdout and stderr
};

Output RunCli(const std::string& args) {
  Output o;
  std::string cmd = fmt::format("env -u RUNICORN_SERVER -u RUNICORN_TOKEN {} {} 2>&1", RUNICORN_BINARY, args);
  FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) o.out.append(buf, n);
  int status = ::pclose(p);
  o.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return o;
}

std::string OfflineRun(Store& store, int points) {
  auto run = store.CreateRun({});
  REQUIRE(run.ok());
  for (int s = 1; s <= points; ++s) REQUIRE((*run)->Log(s, "loss", 1.0 / s).ok());
  std::string id = (*run)->id();
  REQUIRE((*run)->Finish().ok());
  return id;
}

}  // namespace

TEST_CASE("runicorn sync ships offline runs once, a second sync sends nothing", "[remote][sync]") {
  testing::TempDir dir;
  RestartableViewer viewer(dir.path() / "central", dir.path() / "config.json");
  auto store = Store::Open(dir.path() / "node");  // no server: offline
  REQUIRE(store.ok());
  const std::string a = OfflineRun(**store, 300);
  const std::string b = OfflineRun(**store, 700);
  const StoreLayout& local = (*store)->layout();
  CHECK_FALSE(std::filesystem::exists(local.shipped_path(a)));

  Output first = RunCli(fmt::format("sync --server {} --storage {}", viewer.url(), local.root().string()));
  CHECK(first.exit_code == 0);
  const uint64_t size_a = std::filesystem::file_size(local.journal_path(a));
  const uint64_t size_b = std::filesystem::file_size(local.journal_path(b));
  // Sizes as the CLI prints them (journals of these runs are a few KiB).
  auto kib = [](uint64_t b) { return fmt::format("{:.1f} KiB", b / 1024.0); };
  REQUIRE(size_a >= 1024);
  CHECK(first.out.find(fmt::format("{}: sent {}, acknowledged up to byte {}\n", a, kib(size_a), size_a)) != std::string::npos);
  CHECK(first.out.find(fmt::format("{}: sent {}, acknowledged up to byte {}\n", b, kib(size_b), size_b)) != std::string::npos);
  CHECK(first.out.ends_with("2 runs checked, 2 shipped (" + kib(size_a + size_b) + "), 0 failed\n"));
  CHECK(ShippedOr(local, a, 0) == size_a);
  CHECK(ShippedOr(local, b, 0) == size_b);

  viewer.Sync();
  for (auto [id, n] : {std::pair{a, 300}, std::pair{b, 700}}) {
    auto series = viewer.ctx().storage->catalog().ReadMetric(id, "loss");
    REQUIRE(series.ok());
    CHECK(series->points.size() == static_cast<size_t>(n));
    CHECK(series->points.back().step == n);
  }

  Output second = RunCli(fmt::format("sync --server {} --storage {}", viewer.url(), local.root().string()));
  CHECK(second.exit_code == 0);
  CHECK(second.out == "2 runs checked, 0 shipped (0 B), 0 failed\n");
}

TEST_CASE("runicorn sync: a missing server, a bad argument and an unreachable server", "[remote][sync]") {
  testing::TempDir dir;
  auto store = Store::Open(dir.path() / "node");
  REQUIRE(store.ok());
  const std::string id = OfflineRun(**store, 10);
  const std::string root = (*store)->root().string();

  Output none = RunCli("sync --storage " + root);
  CHECK(none.exit_code == 2);
  CHECK(none.out == "runicorn: no server: pass --server URL or set RUNICORN_SERVER\n");

  Output unknown = RunCli("sync --bogus 1 --storage " + root);
  CHECK(unknown.exit_code == 2);
  CHECK(unknown.out.starts_with("runicorn sync: unknown option --bogus\nusage: runicorn sync"));

  Output bad = RunCli("sync --server http://127.0.0.1:1 --storage " + root + " not-a-run");
  CHECK(bad.exit_code == 2);
  CHECK(bad.out == "runicorn: 'not-a-run' is neither a run id nor a store folder\n");

  // Port 1 on loopback refuses connections: after --attempts failures the run is reported.
  Output down = RunCli("sync --attempts 2 --server http://127.0.0.1:1 --storage " + root + " " + id);
  CHECK(down.exit_code == 1);
  CHECK(down.out.starts_with("runicorn sync: " + id + ": run " + id + ": gave up after 2 failed attempts: cannot reach the server:"));
  CHECK(down.out.ends_with("1 runs checked, 0 shipped (0 B), 1 failed\n"));
  CHECK(ShippedOr((*store)->layout(), id, 99) == 0);
}
