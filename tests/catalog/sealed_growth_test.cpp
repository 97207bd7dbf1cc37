// A sealed run that gets more points (a writer judged dead comes back, docs/REMOTE.md): the new
// points go to stored chunks after the segment, reads combine both, and the run is re-sealed into
// new files once final again.
#include <fstream>

#include "catalog/sealed_support.h"
#include "util/files.h"

using namespace runtrack;
using namespace runtrack::testing;
namespace fs = std::filesystem;

namespace {

std::string Journal(const fs::path& root, const std::string& id) {
  auto bytes = util::ReadFile(StoreLayout(root).journal_path(id));
  REQUIRE(bytes.ok());
  return *bytes;
}

void SetJournal(const fs::path& root, const std::string& id, const std::string& bytes) {
  REQUIRE(util::WriteFileAtomic(StoreLayout(root).journal_path(id), bytes).ok());
}

// Every query's answers for `journal` indexed into a fresh catalog of a copy of the run.
std::string ReferenceAnswers(const fs::path& root, const std::string& id, const std::string& journal) {
  TempDir copy;
  fs::create_directories(StoreLayout(copy.path()).run_dir(id));
  SetJournal(copy.path(), id, journal);
  Index(*OpenCatalogWith(copy.path(), SealingOff()));
  auto catalog = OpenCatalogWith(copy.path(), SealingOff());
  (void)root;
  return Transcript(*catalog, id);
}

}  // namespace

TEST_CASE("a sealed run that grows reads segment + chunks and is re-sealed into new files", "[sealed]") {
  TempDir dir;
  std::string id, first, second;
  {
    auto store = OpenStore(dir.path());
    auto run = NewRun(*store);
    id = run->id();
    LogMixedRun(*run, 5000);
    REQUIRE(run->Flush().ok());
    first = Journal(dir.path(), id);  // the writer "dies" here ...
    LogMixedRun(*run, 3000, 9);       // ... and comes back with 3000 more steps
    REQUIRE(run->Flush().ok());
    second = Journal(dir.path(), id);
  }
  REQUIRE(second.size() > first.size());
  REQUIRE(second.compare(0, first.size(), first) == 0);

  SetJournal(dir.path(), id, first);
  {
    auto catalog = OpenCatalogWith(dir.path(), SealingOff());
    Index(*catalog);  // no writer holds the lock: failed, process_not_found
    auto detail = catalog->GetRun(id);
    REQUIRE(detail.ok());
    REQUIRE(detail->run.exit_reason == "process_not_found");
    auto report = catalog->SealFinishedRuns();
    REQUIRE(report.ok());
    REQUIRE(report->runs_sealed == 1);
  }
  const std::vector<std::string> sealed_first = SegmentFiles(dir.path(), id);
  REQUIRE(sealed_first.size() == 8);
  CHECK(sealed_first[1].ends_with("-0000000000001388.seg"));  // 5000 points

  SetJournal(dir.path(), id, second);
  const std::string want = ReferenceAnswers(dir.path(), id, second);
  {
    auto catalog = OpenCatalogWith(dir.path(), SealingOff());
    auto report = Index(*catalog);
    CHECK(report.points_ingested == 4 * 3000);
  }
  {
    auto catalog = OpenCatalogWith(dir.path(), SealingOff());
    CheckSameAnswers(Transcript(*catalog, id), want);  // 5000 from segments, 3000 from chunks
    CHECK(SegmentFiles(dir.path(), id) == sealed_first);
    auto report = catalog->SealFinishedRuns();
    REQUIRE(report.ok());
    CHECK(report->runs_sealed == 1);
    CHECK(report->points_sealed == 4 * 8000);
    CheckSameAnswers(Transcript(*catalog, id), want);
  }
  const std::vector<std::string> sealed_again = SegmentFiles(dir.path(), id);
  REQUIRE(sealed_again.size() == 8);  // the 5000-point files were removed
  CHECK(sealed_again[1].ends_with("-0000000000001f40.seg"));  // 8000 points
  auto catalog = OpenCatalogWith(dir.path(), SealingOff());
  CheckSameAnswers(Transcript(*catalog, id), want);
}
