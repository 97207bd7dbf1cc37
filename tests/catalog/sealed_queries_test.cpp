// A sealed run answers every query exactly as it did from points in RocksDB, and its points have
// left RocksDB for segment files under the run's folder.
#include <rocksdb/db.h>
#include <rocksdb/iterator.h>

#include "catalog/keys.h"
#include "catalog/sealed_support.h"

using namespace runtrack;
using namespace runtrack::testing;
namespace fs = std::filesystem;

namespace {

// Stored point chunks ("p" keys) of the run, read with the catalog closed.
size_t StoredChunks(const fs::path& root, const std::string& id) {
  rocksdb::DB* raw = nullptr;
  REQUIRE(rocksdb::DB::OpenForReadOnly(rocksdb::Options(), StoreLayout(root).catalog_dir().string(), &raw).ok());
  std::unique_ptr<rocksdb::DB> db(raw);
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions()));
  const std::string prefix = catalog::RunPointsPrefix(id);
  size_t n = 0;
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) ++n;
  return n;
}

}  // namespace

TEST_CASE("a sealed run answers every query shape bit for bit as before sealing", "[sealed]") {
  TempDir dir;
  std::string id, live_id;
  {
    auto store = OpenStore(dir.path());
    auto run = NewRun(*store);
    id = run->id();
    LogMixedRun(*run, 10000);
    REQUIRE(run->Finish().ok());
  }
  auto store = OpenStore(dir.path());
  auto live = NewRun(*store);  // still running: never sealed
  live_id = live->id();
  LogMixedRun(*live, 3000, 2);
  REQUIRE(live->Flush().ok());

  std::string before;
  {
    auto catalog = OpenCatalogWith(dir.path(), SealingOff());
    Index(*catalog);
  }
  {
    // Taken from a reopened catalog: run records reloaded from RocksDB on both sides.
    auto catalog = OpenCatalogWith(dir.path(), SealingOff());
    before = Transcript(*catalog, id);
    CHECK(SegmentFiles(dir.path(), id).empty());
  }
  CHECK(StoredChunks(dir.path(), id) == 4 * 10);  // 4 series x 10 chunks of 1024 points

  {
    auto catalog = OpenCatalogWith(dir.path(), SealingOff());
    const std::string live_before = Transcript(*catalog, live_id);
    auto report = catalog->SealFinishedRuns();
    REQUIRE(report.ok());
    CHECK(report->runs_sealed == 1);
    CHECK(report->series_sealed == 4);
    CHECK(report->points_sealed == 4 * 10000);
    CHECK(report->runs_failed == 0);
    CheckSameAnswers(Transcript(*catalog, id), before);  // pyramids built before sealing, points from segments
    CheckSameAnswers(Transcript(*catalog, live_id), live_before);
    auto again = catalog->SealFinishedRuns();  // idempotent: nothing left to seal
    REQUIRE(again.ok());
    CHECK(again->runs_sealed == 0);
    CHECK(again->points_sealed == 0);
  }
  CHECK(StoredChunks(dir.path(), id) == 0);
  CHECK(StoredChunks(dir.path(), live_id) > 0);
  CHECK(SegmentFiles(dir.path(), live_id).empty());
  // One segment and one LOD object per series, named by series id and point count (hex).
  const std::vector<std::string> files = SegmentFiles(dir.path(), id);
  REQUIRE(files.size() == 8);
  CHECK(files[0].ends_with("-0000000000002710.lod"));
  CHECK(files[1].ends_with("-0000000000002710.seg"));

  // After a restart the pyramids come from the LOD objects: same answers.
  auto catalog = OpenCatalog(dir.path());
  CheckSameAnswers(Transcript(*catalog, id), before);
  CHECK(catalog->pyramid_cache_stats().pyramids == 4);
}

TEST_CASE("the background sealer seals a run once Refresh() has read its final record", "[sealed]") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  auto run = NewRun(*store);
  LogMixedRun(*run, 5000);
  REQUIRE(run->Flush().ok());
  auto catalog = OpenCatalog(dir.path());  // sealing on (the default)
  Index(*catalog);
  catalog->WaitForSealing();
  CHECK(SegmentFiles(dir.path(), run->id()).empty());  // running: its points stay in RocksDB
  const std::string before = Transcript(*catalog, run->id());
  REQUIRE(run->Finish().ok());
  Index(*catalog);
  catalog->WaitForSealing();
  CHECK(SegmentFiles(dir.path(), run->id()).size() == 8);
  CheckSameAnswers(Transcript(*catalog, run->id()), before);
  auto report = catalog->SealFinishedRuns();
  REQUIRE(report.ok());
  CHECK(report->runs_sealed == 0);  // the background thread did it already
}

TEST_CASE("deleting a sealed run removes its segments and index entries", "[sealed]") {
  TempDir dir;
  std::string id;
  {
    auto store = OpenStore(dir.path());
    auto run = NewRun(*store);
    id = run->id();
    LogMixedRun(*run, 2000);
    REQUIRE(run->Finish().ok());
  }
  auto catalog = OpenCatalogWith(dir.path(), SealingOff());
  Index(*catalog);
  REQUIRE(catalog->SealFinishedRuns().ok());
  REQUIRE(SegmentFiles(dir.path(), id).size() == 8);
  REQUIRE(catalog->PermanentDelete(id).ok());
  CHECK_FALSE(fs::exists(StoreLayout(dir.path()).run_dir(id)));
  CHECK(catalog->ReadMetric(id, "loss").status().code() == StatusCode::kNotFound);
  catalog.reset();
  rocksdb::DB* raw = nullptr;
  REQUIRE(rocksdb::DB::OpenForReadOnly(rocksdb::Options(), StoreLayout(dir.path()).catalog_dir().string(), &raw).ok());
  std::unique_ptr<rocksdb::DB> db(raw);
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions()));
  const std::string prefix = catalog::SealedPrefix(id);
  it->Seek(prefix);
  CHECK_FALSE((it->Valid() && it->key().starts_with(prefix)));
}
