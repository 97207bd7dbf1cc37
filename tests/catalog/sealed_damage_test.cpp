// Damaged sealed files are reported as Corruption (never a crash or a wrong point), a damaged LOD
// object only costs a rebuild, and a crash between writing the files and committing the index
// is finished by the next sealing pass.
#include <fstream>

#include <rocksdb/db.h>
#include <rocksdb/iterator.h>

#include "catalog/keys.h"
#include "catalog/sealed_support.h"

using namespace runtrack;
using namespace runtrack::testing;
namespace fs = std::filesystem;

namespace {

struct SealedStore {
  TempDir dir;
  std::string id;
  std::string before;  // the transcript while the points were still in RocksDB
};

// A finished run indexed and sealed; the catalog is closed on return.
void BuildSealed(SealedStore* s) {
  {
    auto store = OpenStore(s->dir.path());
    auto run = NewRun(*store);
    s->id = run->id();
    LogMixedRun(*run, 10000);
    REQUIRE(run->Finish().ok());
  }
  Index(*OpenCatalogWith(s->dir.path(), SealingOff()));
  // Taken from a reopened catalog: run records reloaded from RocksDB, as in every later check.
  auto catalog = OpenCatalogWith(s->dir.path(), SealingOff());
  s->before = Transcript(*catalog, s->id);
  auto report = catalog->SealFinishedRuns();
  REQUIRE(report.ok());
  REQUIRE(report->runs_sealed == 1);
}

std::vector<fs::path> FilesEndingWith(const fs::path& root, const std::string& id, const std::string& suffix) {
  std::vector<fs::path> out;
  for (const std::string& name : SegmentFiles(root, id))
    if (name.ends_with(suffix)) out.push_back(StoreLayout(root).segments_dir(id) / name);
  return out;
}

void FlipByte(const fs::path& path, uint64_t offset) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  REQUIRE(f.good());
  f.seekg(static_cast<std::streamoff>(offset));
  char c = 0;
  f.read(&c, 1);
  c = static_cast<char>(c ^ 0x5A);
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(&c, 1);
}

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

TEST_CASE("a damaged segment gives Corruption, deleting the catalog rebuilds the run", "[sealed]") {
  SealedStore s;
  BuildSealed(&s);
  const std::vector<fs::path> segments = FilesEndingWith(s.dir.path(), s.id, ".seg");
  REQUIRE(segments.size() == 4);
  for (const fs::path& p : segments) FlipByte(p, fs::file_size(p) / 2);  // inside a block

  {
    auto catalog = OpenCatalogWith(s.dir.path(), SealingOff());
    for (const char* name : {"loss", "noise", "special", "backwards"}) {
      auto all = catalog->ReadMetric(s.id, name);
      INFO(name << ": " << all.status().ToString());
      CHECK(all.status().code() == StatusCode::kCorruption);
      CHECK(all.status().message().find("CRC-32C") != std::string::npos);
      auto since = catalog->ReadMetricSince(s.id, name);
      CHECK(since.status().code() == StatusCode::kCorruption);
    }
    auto table = catalog->QueryMetrics(s.id, MetricQuery{});
    CHECK(table.status().code() == StatusCode::kCorruption);
    // Blocks before the damaged one still read.
    auto first = catalog->ReadMetricSince(s.id, "loss", MetricCursor{0}, 100);
    REQUIRE(first.ok());
    CHECK(first->points.size() == 100);
  }

  // A file cut short (or replaced by another) no longer matches its index entry.
  for (const fs::path& p : segments) fs::resize_file(p, fs::file_size(p) - 1);
  {
    auto catalog = OpenCatalogWith(s.dir.path(), SealingOff());
    auto detail = catalog->GetRun(s.id);
    REQUIRE(detail.ok());  // the run's record is intact
    MetricQuery q;
    auto table = catalog->QueryMetrics(s.id, q);
    CHECK(table.status().code() == StatusCode::kCorruption);
    CHECK(table.status().message().find("delete the catalog folder") != std::string::npos);
  }

  // The journal still holds everything: a rebuilt catalog answers as before, and resealing
  // replaces the damaged files.
  fs::remove_all(StoreLayout(s.dir.path()).catalog_dir());
  Index(*OpenCatalogWith(s.dir.path(), SealingOff()));
  {
    auto catalog = OpenCatalogWith(s.dir.path(), SealingOff());
    CheckSameAnswers(Transcript(*catalog, s.id), s.before);
    auto report = catalog->SealFinishedRuns();
    REQUIRE(report.ok());
    CHECK(report->runs_sealed == 1);
    CheckSameAnswers(Transcript(*catalog, s.id), s.before);
  }
  auto reopened = OpenCatalogWith(s.dir.path(), SealingOff());
  CheckSameAnswers(Transcript(*reopened, s.id), s.before);
}

TEST_CASE("a damaged or missing LOD object is rebuilt from the segment: same answers", "[sealed]") {
  SealedStore s;
  BuildSealed(&s);
  const std::vector<fs::path> lods = FilesEndingWith(s.dir.path(), s.id, ".lod");
  REQUIRE(lods.size() == 4);
  FlipByte(lods[0], fs::file_size(lods[0]) / 2);
  fs::remove(lods[1]);
  fs::resize_file(lods[2], 10);
  auto catalog = OpenCatalogWith(s.dir.path(), SealingOff());
  CheckSameAnswers(Transcript(*catalog, s.id), s.before);
}

TEST_CASE("a crash after the files were written and before the index batch is redone", "[sealed]") {
  TempDir dir;
  std::string id, before;
  {
    auto store = OpenStore(dir.path());
    auto run = NewRun(*store);
    id = run->id();
    LogMixedRun(*run, 10000);
    REQUIRE(run->Finish().ok());
  }
  const fs::path catalog_dir = StoreLayout(dir.path()).catalog_dir();
  const fs::path unsealed_copy = dir.path() / "catalog-before-seal";
  Index(*OpenCatalogWith(dir.path(), SealingOff()));
  {
    auto catalog = OpenCatalogWith(dir.path(), SealingOff());
    before = Transcript(*catalog, id);
  }
  fs::copy(catalog_dir, unsealed_copy, fs::copy_options::recursive);
  {
    auto catalog = OpenCatalogWith(dir.path(), SealingOff());
    REQUIRE(catalog->SealFinishedRuns().ok());
  }
  // The state a crash between the two steps leaves: durable files, a catalog that still holds
  // the points and no index entry. A partly written temporary file is left too.
  fs::remove_all(catalog_dir);
  fs::rename(unsealed_copy, catalog_dir);
  const std::vector<std::string> files = SegmentFiles(dir.path(), id);
  REQUIRE(files.size() == 8);
  std::ofstream(StoreLayout(dir.path()).segments_dir(id) / (files[1] + ".tmp.123")) << "RTSEGMT";
  REQUIRE(StoredChunks(dir.path(), id) == 40);

  {
    auto catalog = OpenCatalogWith(dir.path(), SealingOff());
    CheckSameAnswers(Transcript(*catalog, id), before);  // still read from RocksDB, the files are ignored
    auto report = catalog->SealFinishedRuns();
    REQUIRE(report.ok());
    CHECK(report->runs_sealed == 1);  // redone
    CheckSameAnswers(Transcript(*catalog, id), before);
  }
  CHECK(StoredChunks(dir.path(), id) == 0);
  auto catalog = OpenCatalog(dir.path());
  CheckSameAnswers(Transcript(*catalog, id), before);
}
