// A run whose disk fills up ends with exit_reason "io_error: No space left on device", keeps what
// it wrote before, and is not mistaken for a crash. Uses a real, small tmpfs: mounting needs root
// (CAP_SYS_ADMIN); where that is not permitted the test says so and checks nothing.
#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "catalog/catalog_support.h"

using namespace runtrack;
using namespace runtrack::testing;
namespace fs = std::filesystem;

namespace {

// A tmpfs mounted on a directory for the lifetime of the object.
class TmpfsMount {
 public:
  TmpfsMount(const fs::path& at, const std::string& options) : at_(at) {
    if (::mount("tmpfs", at.c_str(), "tmpfs", 0, options.c_str()) == 0) {
      mounted_ = true;
    } else {
      error_ = std::strerror(errno);
    }
  }
  ~TmpfsMount() {
    if (mounted_) ::umount2(at_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }
  const std::string& error() const { return error_; }
  bool Resize(const std::string& options) {
    return ::mount("tmpfs", at_.c_str(), "tmpfs", MS_REMOUNT, options.c_str()) == 0;
  }

 private:
  fs::path at_;
  bool mounted_ = false;
  std::string error_;
};

// Writes to `path` until the file system refuses; returns the errno that stopped it.
int FillUp(const fs::path& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  REQUIRE(fd >= 0);
  std::string block(4096, 'f');
  int err = 0;
  for (;;) {
    ssize_t n = ::write(fd, block.data(), block.size());
    if (n < 0) {
      err = errno;
      break;
    }
  }
  ::close(fd);
  return err;
}

}  // namespace

TEST_CASE("a run whose disk fills up ends with an io_error exit reason, not process_not_found") {
  TempDir dir;
  TmpfsMount tmpfs(dir.path(), "size=1m");
  if (!tmpfs.mounted()) {
    WARN("SKIPPED: cannot mount a tmpfs here (" << tmpfs.error() << "); run as root to check ENOSPC handling");
    return;
  }
  const std::string id = "20250101_000000_00f011";
  {
    auto store = OpenStore(dir.path());
    RunOptions options;
    options.run_id = id;
    options.flush.flush_interval = std::chrono::hours(1);  // only explicit flushes write
    auto run = NewRun(*store, options);
    for (int64_t step = 0; step < 100; ++step) REQUIRE(run->Log(step, "loss", 1.0).ok());
    REQUIRE(run->Flush().ok());

    REQUIRE(FillUp(dir.path() / "filler") == ENOSPC);
    for (int64_t step = 100; step < 1100; ++step) REQUIRE(run->Log(step, "loss", 2.0).ok());
    Status flushed = run->Flush();
    CHECK(flushed.code() == StatusCode::kIOError);
    CHECK_THAT(flushed.message(), Catch::Contains("No space left on device"));
    CHECK(run->background_error().code() == StatusCode::kIOError);
    // The journal has ended; later calls keep reporting the first error.
    Status finished = run->Finish();
    CHECK(finished.code() == StatusCode::kIOError);
    CHECK_THAT(finished.message(), Catch::Contains("No space left on device"));
  }
  // Make room for the catalog (RocksDB) and index the run.
  fs::remove(dir.path() / "filler");
  REQUIRE(tmpfs.Resize("size=64m"));
  auto catalog = OpenCatalog(dir.path());
  IndexReport report = Index(*catalog);
  CHECK(report.runs_marked_crashed == 0);
  CHECK(report.corrupt_journals == 0);
  auto detail = catalog->GetRun(id);
  REQUIRE(detail.ok());
  CHECK(detail->run.status == RunStatus::kFailed);
  CHECK(detail->run.exit_reason == "io_error: No space left on device");
  CHECK(detail->run.ended_at.has_value());
  CHECK_FALSE(detail->journal_corrupt);
  REQUIRE(detail->metrics.size() == 1);
  CHECK(detail->metrics[0].count == 100);  // what was flushed before the disk filled
  CHECK(detail->metrics[0].last_step == 99);
}

TEST_CASE("a catalog whose writes hit ENOSPC keeps serving, closes, and indexes the rest once space returns") {
  // Before: RocksDB's info LOG lived in the catalog folder; its writer failed on ENOSPC and the
  // next line RocksDB logged (every background error is logged) asserted: SIGABRT in Refresh(),
  // again on every retry, and at close.
  TempDir dir;
  TmpfsMount tmpfs(dir.path(), "size=8m");
  if (!tmpfs.mounted()) {
    WARN("SKIPPED: cannot mount a tmpfs here (" << tmpfs.error() << "); run as root to check ENOSPC handling");
    return;
  }
  auto store = OpenStore(dir.path());
  std::string first, pending;
  {
    auto run = NewRun(*store);
    first = run->id();
    for (int64_t step = 0; step < 10; ++step) REQUIRE(run->Log(step, "loss", 1.0).ok());
    REQUIRE(run->Finish().ok());
  }
  auto catalog = OpenCatalog(dir.path());
  Index(*catalog);
  {
    auto run = NewRun(*store);
    pending = run->id();
    for (int64_t step = 0; step < 3000; ++step) REQUIRE(run->Log(step, "loss", 2.0).ok());
    REQUIRE(run->Finish().ok());
  }
  REQUIRE(FillUp(dir.path() / "filler") == ENOSPC);

  // The pass cannot store the new run: it says so (as a whole or for that run), nothing aborts.
  auto failed = catalog->Refresh();
  const bool reported = !failed.ok() || !failed->run_errors.empty();
  CHECK(reported);
  std::string why = failed.ok() ? (failed->run_errors.empty() ? "" : failed->run_errors[0].second)
                                : failed.status().ToString();
  CHECK_THAT(why, Catch::Contains("No space left on device") || Catch::Contains("IO error"));
  // RocksDB refuses writes until resumed; resuming fails while the disk is still full.
  for (int i = 0; i < 3; ++i) {
    (void)catalog->Resume();
    auto again = catalog->Refresh();
    CHECK((!again.ok() || !again->run_errors.empty()));
  }
  // What was indexed before is still served.
  auto old = catalog->GetRun(first);
  REQUIRE(old.ok());
  CHECK(old->metrics[0].count == 10);

  // Space returns. RocksDB's own recovery (and so Resume) waits for 64 MiB free, more than this
  // disk has: the viewer re-opens instead, which is what this does.
  fs::remove(dir.path() / "filler");
  catalog.reset();  // must not abort after the episode
  catalog = OpenCatalog(dir.path());
  IndexReport report = Index(*catalog);
  CHECK(report.run_errors.empty());
  auto detail = catalog->GetRun(pending);
  REQUIRE(detail.ok());
  REQUIRE(detail->metrics.size() == 1);
  CHECK(detail->metrics[0].count == 3000);
  CHECK(detail->run.status == RunStatus::kFinished);
  catalog.reset();

  // Re-opened, the catalog holds both runs.
  auto reopened = OpenCatalog(dir.path());
  CHECK(reopened->GetRun(pending)->metrics[0].count == 3000);
  CHECK(reopened->GetRun(first)->metrics[0].count == 10);
}

TEST_CASE("a catalog closed while its writes still fail for lack of space does not abort") {
  TempDir dir;
  TmpfsMount tmpfs(dir.path(), "size=8m");
  if (!tmpfs.mounted()) {
    WARN("SKIPPED: cannot mount a tmpfs here (" << tmpfs.error() << "); run as root to check ENOSPC handling");
    return;
  }
  auto store = OpenStore(dir.path());
  auto catalog = OpenCatalog(dir.path());
  std::string pending;
  {
    auto run = NewRun(*store);
    pending = run->id();
    for (int64_t step = 0; step < 3000; ++step) REQUIRE(run->Log(step, "loss", 2.0).ok());
    REQUIRE(run->Finish().ok());
  }
  REQUIRE(FillUp(dir.path() / "filler") == ENOSPC);
  auto failed = catalog->Refresh();
  CHECK((!failed.ok() || !failed->run_errors.empty()));
  catalog.reset();  // a pending background error: the close must not assert

  fs::remove(dir.path() / "filler");
  auto reopened = OpenCatalog(dir.path());
  Index(*reopened);
  auto detail = reopened->GetRun(pending);
  REQUIRE(detail.ok());
  CHECK(detail->metrics[0].count == 3000);
}
