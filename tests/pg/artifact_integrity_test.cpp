// PgArtifactRepository keeps bad data from readers and from PostgreSQL: handles on a replica
// without the chunks read them from a ChunkSource (verified), a manifest altered in PostgreSQL is
// refused by Resolve, and a source store with an unreadable manifest copies nothing.
#ifdef RUNICORN_HAVE_PG
#include <fstream>
#include <map>

#include "artifacts/artifact_test_util.h"
#include "pg/pg_test_support.h"
#include "runtrack/layout.h"
#include "service/pg/pg_artifact_repository.h"

using namespace runicorn::testing;
using namespace artifact_test;
using runicorn::service::pg::PgArtifactRepository;
using runicorn::service::pg::PgConnection;
using runtrack::ArtifactType;
using runtrack::StatusCode;

namespace {

// Chunks served from another store's blobs/ (what the team's bucket is for a replica), counting
// reads so a test can tell the source was used.
class OtherStoreChunks : public runtrack::ChunkSource {
 public:
  explicit OtherStoreChunks(fs::path root) : blobs_(runtrack::StoreLayout(root).blobs_dir()) {}
  runtrack::Result<std::string> Read(std::string_view hex, uint64_t size) const override {
    reads_++;
    std::string h(hex);
    fs::path p = blobs_ / h.substr(0, 2) / h;
    if (!fs::exists(p)) return runtrack::Status::NotFound("no chunk " + h);
    std::string bytes = ReadFile(p);
    if (bytes.size() > size) return runtrack::Status::Corruption("chunk " + h + " is too long");
    return bytes;
  }
  std::string Describe() const override { return "other-store"; }
  mutable std::atomic<int> reads_{0};

 private:
  fs::path blobs_;
};

struct Copied {
  ScratchDir dir;
  runtrack::ArtifactStore store = OpenStore(dir / "store");
  std::string conninfo;
  std::string content = RandomBytes(700 * 1024, 3);  // several chunks

  explicit Copied(std::string db) : conninfo(std::move(db)) {
    REQUIRE_FALSE(conninfo.empty());
    WriteFile(dir / "src" / "w.bin", content);
    auto a = MakeArtifact("net", ArtifactType::kModel);
    REQUIRE(a.AddFile(dir / "src" / "w.bin").ok());
    REQUIRE(store.Log(a, "").ok());
    auto loader = PgArtifactRepository::Open(conninfo, {dir / "store", nullptr});
    REQUIRE(loader.ok());
    REQUIRE((*loader)->CopyFrom(store).ok());
  }
};

}  // namespace

TEST_CASE("a replica without the chunks reads them from its chunk source, verified", "[pg][artifacts]") {
  RUNICORN_PG_TEST_SERVER(server);
  Copied c(server.NewDatabase());
  ScratchDir replica;  // an empty local store: no chunk of "net" in its blobs/
  auto bare = PgArtifactRepository::Open(c.conninfo, {replica / "store", nullptr});
  REQUIRE(bare.ok());
  auto handle = (*bare)->Resolve("net");
  REQUIRE(handle.ok());
  auto missing = handle->ReadFile("w.bin");
  CHECK(missing.status().code() == StatusCode::kNotFound);

  auto source = std::make_shared<OtherStoreChunks>(c.dir / "store");
  auto served = PgArtifactRepository::Open(c.conninfo, {replica / "store", source});
  REQUIRE(served.ok());
  auto h = (*served)->Resolve("net:v1");
  REQUIRE(h.ok());
  auto bytes = h->ReadFile("w.bin");
  INFO(bytes.status().ToString());
  REQUIRE(bytes.ok());
  CHECK(*bytes == c.content);
  CHECK(source->reads_ >= 2);
  CHECK(h->info().aliases == std::vector<std::string>{"latest"});
}

TEST_CASE("a manifest altered in PostgreSQL is refused, not handed out", "[pg][artifacts]") {
  RUNICORN_PG_TEST_SERVER(server);
  Copied c(server.NewDatabase());
  auto conn = PgConnection::Connect(c.conninfo);
  REQUIRE(conn.ok());
  // Another size for the file: the manifest's digest no longer matches its bytes.
  auto altered = (*conn)->Exec(
      "UPDATE artifact_versions SET manifest = replace(manifest, '\"size\":716800', '\"size\":716801')"
      " WHERE name = 'net' AND version = 1");
  REQUIRE(altered.ok());
  REQUIRE(altered->AffectedRows() == 1);
  auto repo = PgArtifactRepository::Open(c.conninfo, {c.dir / "store", nullptr});
  REQUIRE(repo.ok());
  auto h = (*repo)->Resolve("net");
  CHECK(h.status().code() == StatusCode::kCorruption);
  CHECK(h.status().message().starts_with("net:v1: "));
}

TEST_CASE("a source store with an unreadable manifest copies nothing", "[pg][artifacts]") {
  RUNICORN_PG_TEST_SERVER(server);
  const std::string conninfo = server.NewDatabase();
  REQUIRE_FALSE(conninfo.empty());
  ScratchDir dir;
  auto store = OpenStore(dir / "store");
  LogText(store, dir.path(), "aaa", ArtifactType::kDataset, "fine", "");
  LogText(store, dir.path(), "zzz", ArtifactType::kModel, "to be damaged", "");
  fs::path manifest = runtrack::StoreLayout(dir / "store").artifacts_dir() / "model" / "zzz" / "v1" / "manifest.json";
  REQUIRE(fs::exists(manifest));
  std::string text = ReadFile(manifest);
  text[text.size() / 2] ^= 1;
  WriteFile(manifest, text);
  auto repo = PgArtifactRepository::Open(conninfo, {dir / "store", nullptr});
  REQUIRE(repo.ok());
  auto copied = (*repo)->CopyFrom(store);
  CHECK(copied.status().code() == StatusCode::kCorruption);
  CHECK(copied.status().message().starts_with("zzz:v1: "));
  // Not even the healthy name before it: the source is read whole before anything is written.
  CHECK((*repo)->ListArtifacts(std::nullopt)->empty());
  CHECK((*repo)->GetVersion("aaa", 1).status().code() == StatusCode::kNotFound);
}

TEST_CASE("opening without a chunk root is refused", "[pg][artifacts]") {
  RUNICORN_PG_TEST_SERVER(server);
  auto repo = PgArtifactRepository::Open(server.NewDatabase(), {});
  CHECK(repo.status().code() == StatusCode::kInvalidArgument);
  CHECK(repo.status().message() == "the PostgreSQL artifact repository needs a chunk_root");
}

#endif
