// Several writer processes, a live indexer and a crash: the storage guarantees that need real
// processes. CTest runs each test case in its own process, so fork() happens before any thread
// of this process exists (the children never touch RocksDB either way).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <thread>

#include "catalog/catalog_support.h"

using namespace runtrack;
using namespace runtrack::testing;
namespace fs = std::filesystem;

namespace {

std::string WriterRunId(int child) { return fmt::format("20250101_000000_{:06x}", child + 1); }

double PointValue(int child, int64_t step) { return child * 1e6 + static_cast<double>(step) * 0.5; }

// Child body: never returns.
[[noreturn]] void WriteRun(const fs::path& root, int child, int points) {
  auto store = Store::Open(root);
  if (!store.ok()) _exit(10);
  RunOptions options;
  options.project = "sweep";
  options.name = fmt::format("worker{}", child);
  options.run_id = WriterRunId(child);
  options.flush.flush_interval = std::chrono::milliseconds(5);
  auto run = (*store)->CreateRun(options);
  if (!run.ok()) _exit(11);
  for (int64_t step = 0; step < points; ++step) {
    if (!(*run)->Log(step, "v", PointValue(child, step)).ok()) _exit(12);
    // Pace the writer a little so the indexer really ingests journals that are still growing.
    if (step % 1000 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  if (!(*run)->Finish().ok()) _exit(13);
  run->reset();
  _exit(0);
}

}  // namespace

TEST_CASE("four writer processes and a live indexer: every point exactly once") {
  constexpr int kWriters = 4;
  constexpr int kPoints = 200000;
  TempDir dir;
  OpenStore(dir.path());
  std::vector<pid_t> children;
  for (int c = 0; c < kWriters; ++c) {
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) WriteRun(dir.path(), c, kPoints);
    children.push_back(pid);
  }

  auto catalog = OpenCatalog(dir.path());
  int live = kWriters;
  int passes = 0;
  uint64_t ingested_while_writing = 0;
  while (live > 0) {
    ingested_while_writing += Index(*catalog).points_ingested;  // ingest while the writers write
    ++passes;
    for (pid_t& pid : children) {
      int status = 0;
      if (pid > 0 && ::waitpid(pid, &status, WNOHANG) == pid) {
        REQUIRE(WIFEXITED(status));
        REQUIRE(WEXITSTATUS(status) == 0);
        pid = 0;
        --live;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  Index(*catalog);
  INFO("indexer passes while writing: " << passes << ", points: " << ingested_while_writing);

  RunQuery q;
  q.project = "sweep";
  auto page = catalog->ListRuns(q);
  REQUIRE(page->total == kWriters);
  for (int c = 0; c < kWriters; ++c) {
    auto detail = catalog->GetRun(WriterRunId(c));
    REQUIRE(detail.ok());
    CHECK(detail->run.status == RunStatus::kFinished);
    REQUIRE(detail->metrics.size() == 1);
    CHECK(detail->metrics[0].count == kPoints);
    auto series = catalog->ReadMetric(WriterRunId(c), "v");
    REQUIRE(series->points.size() == kPoints);
    double sum = 0, expected = 0;
    bool in_order = true;
    for (int64_t i = 0; i < kPoints; ++i) {
      in_order = in_order && series->points[i].step == i;
      sum += series->points[i].value;
      expected += PointValue(c, i);
    }
    CHECK(in_order);
    CHECK(sum == expected);
  }
}

TEST_CASE("a writer killed after Flush keeps every flushed point and is marked failed") {
  constexpr int kPoints = 12345;
  TempDir dir;
  OpenStore(dir.path());
  int ready[2];
  REQUIRE(::pipe(ready) == 0);
  const std::string id = "20250101_000000_c0ffee";
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    auto store = Store::Open(dir.path());
    RunOptions options;
    options.run_id = id;
    options.flush.flush_interval = std::chrono::hours(1);  // only the explicit Flush() writes
    auto run = (*store)->CreateRun(options);
    if (!run.ok()) _exit(1);
    for (int i = 0; i < kPoints; ++i) (void)(*run)->Log(i, "loss", 1.0 / (i + 1));
    if (!(*run)->Flush().ok()) _exit(2);
    char byte = 1;
    (void)!::write(ready[1], &byte, 1);
    for (;;) ::pause();
  }
  ::close(ready[1]);
  auto catalog = OpenCatalog(dir.path());
  char byte = 0;
  REQUIRE(::read(ready[0], &byte, 1) == 1);

  // Alive: indexed, still running.
  IndexReport alive = Index(*catalog);
  CHECK(alive.runs_marked_crashed == 0);
  CHECK(catalog->GetRun(id)->run.status == RunStatus::kRunning);

  REQUIRE(::kill(pid, SIGKILL) == 0);
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  IndexReport after = Index(*catalog);
  CHECK(after.runs_marked_crashed == 1);
  auto detail = catalog->GetRun(id);
  CHECK(detail->run.status == RunStatus::kFailed);
  CHECK(detail->run.exit_reason == "process_not_found");
  CHECK(detail->metrics[0].count == kPoints);

  // The store and the catalog open normally afterwards and remember the verdict.
  catalog.reset();
  REQUIRE(Store::Open(dir.path()).ok());
  catalog = OpenCatalog(dir.path());
  CHECK(Index(*catalog).runs_marked_crashed == 0);
  CHECK(catalog->GetRun(id)->run.status == RunStatus::kFailed);
  auto loss = catalog->ReadMetric(id, "loss");
  REQUIRE(loss->points.size() == kPoints);
  CHECK(loss->points.back().value == 1.0 / kPoints);
}
