// A run's system-metrics stream left unshipped by a Finish() that timed out (docs/SYSTEM.md,
// docs/REMOTE.md "Client behaviour") goes to the viewer like the run's journal: with the next Store
// that ships from that root, and with `runicorn sync ROOT` / `runicorn sync RUN`, without naming
// the stream's `system-ship` folder.
#include <unistd.h>

#include <cstdio>
#include <thread>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "runtrack/remote.h"
#include "runtrack/store.h"
#include "runtrack/system.h"
#include "test_support.h"
#include "util/files.h"
#include "viewer_fixture.h"

namespace {
using namespace runtrack;
namespace fs = std::filesystem;
using runicorn::testing::RestartableViewer;

std::string FileBytes(const fs::path& p) {
  auto r = util::ReadFile(p);
  return r.ok() ? *r : std::string("<missing>");
}

std::string HostStream() {
  char host[256] = {};
  REQUIRE(::gethostname(host, sizeof host - 1) == 0);
  return SystemStreamName(host);
}

// A running run with system metrics on whose sampler has written two samples; shipping on.
struct LiveRun {
  std::unique_ptr<Store> store;
  std::unique_ptr<Run> run;
  std::string id;
};

LiveRun StartRun(const fs::path& root, const std::string& server) {
  StoreOptions so;
  so.server = server;
  so.finish_timeout = std::chrono::milliseconds(200);
  auto store = Store::Open(root, so);
  REQUIRE(store.ok());
  RunOptions ro;
  ro.system_metrics = true;
  ro.system_metrics_interval = std::chrono::milliseconds(100);
  auto run = (*store)->CreateRun(ro);
  REQUIRE(run.ok());
  for (int s = 1; s <= 10; ++s) REQUIRE((*run)->Log(s, "loss", 1.0 / s).ok());
  LiveRun out{std::move(*store), std::move(*run), ""};
  out.id = out.run->id();
  const fs::path stream = out.store->layout().stream_journal_path(out.id, HostStream());
  // Two samples are in the stream once it has grown past its header and first sample (the bound
  // only stops a broken sampler).
  uint64_t first = 0;
  for (int i = 0; i < 3000; ++i) {
    std::error_code ec;
    const uint64_t size = fs::file_size(stream, ec);
    if (!ec && first == 0 && size > 12) first = size;
    if (!ec && first != 0 && size > first) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return out;
}

// Ends a run while the viewer is down: Finish() times out, so the journal's and the system
// stream's final records stay unacknowledged (leftovers), and the process's shipper is gone.
void FinishWhileDown(LiveRun& r) {
  REQUIRE(r.run->Finish().ok());  // a shipping timeout is not the run's failure
  r.run.reset();
  r.store.reset();
}

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

// As the CLI prints a byte count (cli_common.cpp FormatBytes).
std::string Bytes(uint64_t b) {
  if (b < 1024) return fmt::format("{} B", b);
  if (b < 1024 * 1024) return fmt::format("{:.1f} KiB", b / 1024.0);
  return fmt::format("{:.1f} MiB", b / 1024.0 / 1024.0);
}

uint64_t Shipped(const StoreLayout& layout, const std::string& id) {
  auto r = ReadShippedOffset(layout, id);
  REQUIRE(r.ok());
  return *r;
}

// What the viewer has of the run equals the node's journal and system stream, byte for byte.
void CheckComplete(const fs::path& central, const StoreLayout& node, const std::string& id) {
  const StoreLayout server(central);
  const std::string stream = HostStream();
  CHECK(FileBytes(server.journal_path(id)) == FileBytes(node.journal_path(id)));
  CHECK(FileBytes(server.stream_journal_path(id, stream)) == FileBytes(node.stream_journal_path(id, stream)));
  const StoreLayout system(node.system_ship_root(id));
  CHECK(Shipped(system, id) == fs::file_size(node.stream_journal_path(id, stream)));
  CHECK(Shipped(node, id) == fs::file_size(node.journal_path(id)));
}

}  // namespace

TEST_CASE("system leftovers: the next Store that ships from the root sends a timed-out run's system stream",
          "[remote][system][leftovers]") {
  testing::TempDir dir;
  RestartableViewer viewer(dir.path() / "central", dir.path() / "config.json");
  const fs::path root = dir.path() / "node";
  LiveRun live = StartRun(root, viewer.url());
  const std::string id = live.id;
  viewer.Stop();
  FinishWhileDown(live);
  const StoreLayout node(root);
  const StoreLayout system(node.system_ship_root(id));
  const uint64_t stream_size = fs::file_size(node.stream_journal_path(id, HostStream()));
  REQUIRE(Shipped(system, id) < stream_size);  // the stream's final record is a leftover
  REQUIRE(Shipped(node, id) < fs::file_size(node.journal_path(id)));

  viewer.Start();
  StoreOptions so;
  so.server = viewer.url();
  auto next = Store::Open(root, so);  // its shipper adopts both leftovers; no run needed
  REQUIRE(next.ok());
  for (int i = 0; i < 3000 && (Shipped(system, id) < stream_size || Shipped(node, id) < fs::file_size(node.journal_path(id)));
       ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  CheckComplete(dir.path() / "central", node, id);
  auto status = (*next)->shipping_status();
  REQUIRE(status.has_value());
  CHECK(status->last_error.empty());
}

TEST_CASE("system leftovers: runicorn sync RUN and sync ROOT send a timed-out run's system stream",
          "[remote][system][leftovers][sync]") {
  testing::TempDir dir;
  RestartableViewer viewer(dir.path() / "central", dir.path() / "config.json");
  const fs::path root_a = dir.path() / "node-a", root_b = dir.path() / "node-b";
  LiveRun a = StartRun(root_a, viewer.url());
  LiveRun b = StartRun(root_b, viewer.url());
  const std::string id_a = a.id, id_b = b.id;
  viewer.Stop();
  FinishWhileDown(a);
  FinishWhileDown(b);
  viewer.Start();

  // By run id: the run, then its system stream (--jobs 1: in that order).
  for (const auto& [root, id, by_root] : {std::tuple{root_a, id_a, false}, std::tuple{root_b, id_b, true}}) {
    const StoreLayout node(root);
    const StoreLayout system(node.system_ship_root(id));
    const uint64_t journal = fs::file_size(node.journal_path(id));
    const uint64_t stream = fs::file_size(node.stream_journal_path(id, HostStream()));
    const uint64_t journal_sent = journal - Shipped(node, id), stream_sent = stream - Shipped(system, id);
    const std::string args = by_root ? fmt::format("sync --jobs 1 --server {} {}", viewer.url(), root.string())
                                     : fmt::format("sync --jobs 1 --server {} --storage {} {}", viewer.url(),
                                                   root.string(), id);
    Output first = RunCli(args);
    CHECK(first.exit_code == 0);
    CHECK(first.out == fmt::format("{}: sent {}, acknowledged up to byte {}\n"
                                   "{} (system metrics): sent {}, acknowledged up to byte {}\n"
                                   "1 system-metrics stream(s) checked, 1 shipped\n"
                                   "1 runs checked, 1 shipped ({}), 0 failed\n",
                                   id, Bytes(journal_sent), journal, id, Bytes(stream_sent), stream,
                                   Bytes(journal_sent + stream_sent)));
    CheckComplete(dir.path() / "central", node, id);
    Output second = RunCli(args);
    CHECK(second.exit_code == 0);
    CHECK(second.out == "1 system-metrics stream(s) checked, 0 shipped\n1 runs checked, 0 shipped (0 B), 0 failed\n");
  }
}
