// A remote writer that dies (docs/REMOTE.md "Dead remote writers"): after the lease without any
// PUT the viewer lets the run go and the catalog marks it failed (process_not_found), as it does a
// local run whose process died. A writer that comes back is received again.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <thread>

#include "journal/journal_format.h"
#include "runtrack/catalog.h"
#include "runtrack/remote.h"
#include "test_support.h"
#include "util/files.h"

namespace {
using namespace runtrack;
namespace fs = std::filesystem;
using journal::RecordType;

const std::string kRun = "20261203_120000_1ea5e0";

bool LockIsFree(const StoreLayout& layout) {
  util::FileLock probe;
  auto free = util::FileLock::TryAcquire(layout.lock_path(kRun), &probe);
  REQUIRE(free.ok());
  return *free;
}

}  // namespace

TEST_CASE("lease: a silent remote run is released, marked failed, and taken up again when its writer returns",
          "[remote][lease]") {
  testing::TempDir dir;
  StoreLayout layout(dir.path());
  fs::create_directories(layout.runs_dir());
  std::string head = journal::EncodeHeader();
  journal::AppendRecord(&head, RecordType::kRunStart, fmt::format(R"({{"id":"{}","project":"p","name":"n"}})", kRun));
  std::string tail;
  journal::AppendRecord(&tail, RecordType::kText, "back again\n");
  journal::AppendRecord(&tail, RecordType::kStatus, R"({"status":"finished","ended_at":5})");

  JournalReceiver rx(layout, ReceiverOptions{.lease = std::chrono::hours(1)});
  REQUIRE(rx.Append(kRun, "0", 0, head).ok());
  auto catalog = Catalog::Open(dir.path());
  REQUIRE(catalog.ok());
  REQUIRE((*catalog)->Refresh().ok());
  CHECK((*catalog)->GetRun(kRun)->run.status == RunStatus::kRunning);
  CHECK(rx.ExpireLeases() == 0);  // within its lease
  CHECK_FALSE(LockIsFree(layout));

  rx.SetLease(std::chrono::milliseconds(1));
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const int expired = rx.ExpireLeases();
  // (The receiver's own sweeper may have let it go first.)
  CHECK(expired <= 1);
  CHECK(LockIsFree(layout));
  CHECK_FALSE(fs::exists(layout.receiving_marker(kRun)));
  auto report = (*catalog)->Refresh();
  REQUIRE(report.ok());
  auto dead = (*catalog)->GetRun(kRun);
  REQUIRE(dead.ok());
  CHECK(dead->run.status == RunStatus::kFailed);
  CHECK(dead->run.exit_reason == "process_not_found");

  // The writer comes back with the rest: stored once, and the run ends with its own status.
  rx.SetLease(std::chrono::hours(1));
  auto back = rx.Append(kRun, "0", head.size(), tail);
  REQUIRE(back.ok());
  CHECK(back->offset == head.size() + tail.size());
  REQUIRE((*catalog)->Refresh().ok());
  auto done = (*catalog)->GetRun(kRun);
  REQUIRE(done.ok());
  CHECK(done->run.status == RunStatus::kFinished);
  CHECK(done->run.exit_reason == "");
  auto log = (*catalog)->ReadLog(kRun, 0);
  REQUIRE(log.ok());
  CHECK(*log == "back again\n");
}

TEST_CASE("lease: zero means never", "[remote][lease]") {
  testing::TempDir dir;
  StoreLayout layout(dir.path());
  fs::create_directories(layout.runs_dir());
  std::string head = journal::EncodeHeader();
  journal::AppendRecord(&head, RecordType::kRunStart, fmt::format(R"({{"id":"{}"}})", kRun));
  JournalReceiver rx(layout, ReceiverOptions{.lease = std::chrono::milliseconds(0)});
  REQUIRE(rx.Append(kRun, "0", 0, head).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  CHECK(rx.ExpireLeases() == 0);
  CHECK_FALSE(LockIsFree(layout));
}
