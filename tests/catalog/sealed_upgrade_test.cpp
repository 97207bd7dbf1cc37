// Upgrade: a store indexed by the pre-segment code path (points in RocksDB, no segments) is
// sealed automatically when a catalog with sealing on opens it; every value reads back bit for
// bit and the catalog shrinks.
#include <rocksdb/db.h>

#include "catalog/sealed_support.h"

using namespace runtrack;
using namespace runtrack::testing;
namespace fs = std::filesystem;

namespace {

// Catalog bytes after a full compaction (run with the catalog closed), so deleted points count
// only once RocksDB has dropped them, as in a long-running store.
uint64_t CompactedCatalogBytes(const fs::path& root) {
  const fs::path dir = StoreLayout(root).catalog_dir();
  {
    rocksdb::DB* raw = nullptr;
    rocksdb::Options options;
    REQUIRE(rocksdb::DB::Open(options, dir.string(), &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    REQUIRE(db->CompactRange(rocksdb::CompactRangeOptions(), nullptr, nullptr).ok());
  }
  uint64_t total = 0;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".sst") total += e.file_size();
  return total;
}

}  // namespace

TEST_CASE("a store written without segments is sealed at open, bit-identical and smaller", "[sealed]") {
  TempDir dir;
  std::vector<std::string> finished;
  auto store = OpenStore(dir.path());
  for (int i = 0; i < 3; ++i) {
    auto run = NewRun(*store);
    finished.push_back(run->id());
    LogMixedRun(*run, 10000, 10 + i);
    REQUIRE(run->Finish(i == 2 ? RunStatus::kFailed : RunStatus::kFinished).ok());
  }
  auto live = NewRun(*store);
  LogMixedRun(*live, 3000);
  REQUIRE(live->Flush().ok());

  std::map<std::string, std::string> before;
  Index(*OpenCatalogWith(dir.path(), SealingOff()));  // the current release's layout
  {
    auto old = OpenCatalogWith(dir.path(), SealingOff());
    for (const std::string& id : finished) before[id] = Transcript(*old, id);
    before[live->id()] = Transcript(*old, live->id());
  }
  const uint64_t bytes_before = CompactedCatalogBytes(dir.path());
  for (const std::string& id : finished) CHECK(SegmentFiles(dir.path(), id).empty());

  {
    auto upgraded = OpenCatalog(dir.path());  // sealing on: the background thread upgrades it
    upgraded->WaitForSealing();
    for (const std::string& id : finished) {
      CHECK(SegmentFiles(dir.path(), id).size() == 8);
      CheckSameAnswers(Transcript(*upgraded, id), before[id]);
    }
    CHECK(SegmentFiles(dir.path(), live->id()).empty());  // still running
    CheckSameAnswers(Transcript(*upgraded, live->id()), before[live->id()]);
  }
  const uint64_t bytes_after = CompactedCatalogBytes(dir.path());
  INFO("catalog " << bytes_before << " -> " << bytes_after << " bytes");
  // 3 x 80,000 sealed points left; the live run's 12,000 and the records stay.
  CHECK(bytes_after * 4 < bytes_before);

  // The upgraded store opened again, by a catalog with sealing off too: same answers.
  auto reopened = OpenCatalogWith(dir.path(), SealingOff());
  for (const std::string& id : finished) CheckSameAnswers(Transcript(*reopened, id), before[id]);
}
