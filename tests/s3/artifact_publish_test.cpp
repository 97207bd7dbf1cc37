// Artifacts on the team back end, the remaining paths (docs/SCALE-OUT.md "Local artifacts on a
// replica", "Datasets on the team back end", "S3 object store"): versions logged into a
// replica's own store published to PostgreSQL (PgArtifactMirror, in-process and through real
// `runicorn viewer --catalog … --objects …` replicas), /api/v1/datasets uploaded through one
// replica and processed through another, and `runicorn artifacts download --objects` reading
// chunks missing from blobs/ from the bucket. Real PostgreSQL 15 and Ceph RGW.
#include <catch2/catch.hpp>

#ifdef RUNICORN_HAVE_PG

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "pg/pg_test_server.h"
#include "rgw_test_server.h"
#include "runicorn_process.h"
#include "team_fixture.h"
#include "runtrack/artifacts.h"
#include "runtrack/layout.h"
#include "service/dataset_service.h"
#include "service/pg/pg_artifact_mirror.h"
#include "service/pg/pg_artifact_repository.h"
#include "service/pg/pg_user_repository.h"
#include "service/s3/object_chunk_mirror.h"
#include "service/s3/object_chunk_pool.h"
#include "service/s3/object_chunk_source.h"
#include "service/s3/object_chunk_store.h"
#include "service/s3/s3_client.h"

namespace {
namespace fs = std::filesystem;
namespace bj = boost::json;
using runicorn::service::pg::PgArtifactMirror;
using runicorn::service::pg::PgArtifactMirrorReport;
using runicorn::service::pg::PgArtifactRepository;
using runicorn::service::s3::ObjectChunkStore;
using runicorn::service::s3::S3Client;
using runicorn::service::s3::S3Location;
using runicorn::testing::RunicornProcess;

using TempDir = runicorn::testing::ScratchDir;
using Reply = runicorn::testing::HttpReply;
using runicorn::testing::Eventually;
using runicorn::testing::Http;
using runicorn::testing::RandomBytes;
using runicorn::testing::Slurp;
Reply Get(const std::string& url, const std::string& token = "") { return runicorn::testing::HttpGet(url, token); }

// Logs one single-file version into a store through the library (no Python, no viewer).
int LogFile(runtrack::ArtifactStore& store, const fs::path& scratch, const std::string& name, const std::string& bytes,
            runtrack::ArtifactType type = runtrack::ArtifactType::kModel) {
  fs::create_directories(scratch);
  const fs::path src = scratch / "weights.bin";
  std::ofstream(src, std::ios::binary | std::ios::trunc) << bytes;
  auto artifact = runtrack::Artifact::Create(name, type);
  REQUIRE(artifact.ok());
  REQUIRE(artifact->AddFile(src, "weights.bin").ok());
  auto v = store.Log(*artifact, "");
  INFO(v.status().ToString());
  REQUIRE(v.ok());
  return *v;
}

// digest -> size of one local version's distinct chunks.
std::map<std::string, uint64_t> ChunksOf(runtrack::ArtifactStore& store, const std::string& name, int version) {
  auto names = store.Export();
  REQUIRE(names.ok());
  for (const auto& n : *names)
    if (n.name == name)
      for (const auto& v : n.versions)
        if (v.version == version) return v.chunks;
  FAIL("no version " << name << ":v" << version);
  return {};
}

// The team back end, and its catalog as a replica opens it.
struct Team : runicorn::testing::TeamBackEnd {
  using TeamBackEnd::TeamBackEnd;

  // Reads chunks from an empty local folder + the bucket.
  std::shared_ptr<PgArtifactRepository> Repository(const std::string& reader) {
    auto repo = PgArtifactRepository::Open(
        conninfo, {tmp.path / reader, std::make_shared<runicorn::service::s3::ObjectChunkSource>(chunks)});
    INFO(repo.status().ToString());
    REQUIRE(repo.ok());
    return std::shared_ptr<PgArtifactRepository>(std::move(*repo));
  }
};

// The bucket as the mirror's pool, counting the chunks it actually PUT.
struct CountingPool final : runicorn::service::SharedChunkPool {
  runicorn::service::s3::ObjectChunkPool inner;
  uint64_t puts = 0;
  explicit CountingPool(std::shared_ptr<ObjectChunkStore> objects) : inner(std::move(objects)) {}
  runtrack::Result<std::vector<std::string>> Missing(const std::vector<std::string>& digests) override {
    return inner.Missing(digests);
  }
  runtrack::Result<bool> Put(std::string_view hex, std::string_view bytes) override {
    auto put = inner.Put(hex, bytes);
    if (put.ok() && *put) ++puts;
    return put;
  }
};

runtrack::ArtifactStore OpenStore(const fs::path& root) {
  auto store = runtrack::ArtifactStore::Open(root);
  REQUIRE(store.ok());
  return std::move(*store);
}

std::string ReadThrough(PgArtifactRepository& repo, const std::string& spec) {
  auto handle = repo.Resolve(spec);
  INFO(handle.status().ToString());
  REQUIRE(handle.ok());
  auto bytes = handle->ReadFile("weights.bin");
  INFO(bytes.status().ToString());
  REQUIRE(bytes.ok());
  return *bytes;
}

PgArtifactMirrorReport MirrorPass(PgArtifactMirror& mirror) {
  auto report = mirror.Pass();
  INFO(report.status().ToString());
  REQUIRE(report.ok());
  return *report;
}

std::string Base(int port) { return fmt::format("http://127.0.0.1:{}/api", port); }

}  // namespace

TEST_CASE("a replica's locally logged versions are published to PostgreSQL once, uploading only new chunks",
          "[s3][rgw][pg][artifacts][publish]") {
  RUNICORN_PG_TEST_SERVER(pg);
  RUNICORN_S3_TEST_SERVER(rgw);
  Team team(pg.NewDatabase(), rgw.endpoint(), "rt-artpub-mirror");
  const fs::path root = team.tmp.path / "replica-a";
  runtrack::ArtifactStore local = OpenStore(root);
  auto repo = team.Repository("reader");
  auto pool = std::make_shared<CountingPool>(team.chunks);
  PgArtifactMirror mirror(root, repo, pool);

  const std::string base = RandomBytes(4 * 1024 * 1024, 31);
  REQUIRE(LogFile(local, team.tmp.path / "src", "net", base) == 1);
  const auto v1_chunks = ChunksOf(local, "net", 1);
  REQUIRE(v1_chunks.size() >= 4);
  PgArtifactMirrorReport first = MirrorPass(mirror);
  CHECK(first.versions_published == 1);
  CHECK(first.versions_present == 0);
  CHECK(first.chunks_uploaded == v1_chunks.size());
  CHECK(first.bytes_uploaded == base.size());
  CHECK(first.conflicts.empty());
  CHECK(first.problems.empty());
  CHECK(pool->puts == v1_chunks.size());
  CHECK(team.ChunkKeys() == team.KeysOf(v1_chunks));
  // Another replica reads it from PostgreSQL + the bucket, byte-identical (its blobs/ is empty).
  CHECK(ReadThrough(*repo, "net:v1") == base);

  // A second version sharing all but its last 64 KiB: only its new chunks go up.
  std::string tuned = base;
  const std::string tail = RandomBytes(64 * 1024, 32);
  std::copy(tail.begin(), tail.end(), tuned.end() - static_cast<std::ptrdiff_t>(tail.size()));
  REQUIRE(LogFile(local, team.tmp.path / "src", "net", tuned) == 2);
  const auto v2_chunks = ChunksOf(local, "net", 2);
  uint64_t new_chunks = 0, new_bytes = 0;
  for (const auto& [hex, size] : v2_chunks)
    if (!v1_chunks.count(hex)) {
      ++new_chunks;
      new_bytes += size;
    }
  REQUIRE(new_chunks >= 1);
  REQUIRE(new_chunks < v2_chunks.size() / 2);
  PgArtifactMirrorReport second = MirrorPass(mirror);
  CHECK(second.versions_published == 1);
  CHECK(second.chunks_uploaded == new_chunks);
  CHECK(second.bytes_uploaded == new_bytes);
  CHECK(pool->puts == v1_chunks.size() + new_chunks);
  CHECK(ReadThrough(*repo, "net:v2") == tuned);
  CHECK(ReadThrough(*repo, "net:latest") == tuned);

  // Nothing changed: a pass writes nothing.
  PgArtifactMirrorReport idle = MirrorPass(mirror);
  CHECK(idle.versions_published == 0);
  CHECK(idle.versions_present == 0);
  CHECK(idle.chunks_uploaded == 0);

  // A restarted replica (a new mirror, nothing remembered) finds both versions there: no upload,
  // no second row.
  PgArtifactMirror restarted(root, repo, pool);
  PgArtifactMirrorReport again = MirrorPass(restarted);
  CHECK(again.versions_published == 0);
  CHECK(again.versions_present == 2);
  CHECK(again.chunks_uploaded == 0);
  CHECK(pool->puts == v1_chunks.size() + new_chunks);
  auto versions = repo->ListVersions("net", true);
  REQUIRE(versions.ok());
  REQUIRE(versions->size() == 2);
  CHECK((*versions)[0].version == 1);
  CHECK((*versions)[1].version == 2);
}

TEST_CASE("a version only half published (chunks up, row missing) is completed by the next pass",
          "[s3][rgw][pg][artifacts][publish]") {
  RUNICORN_PG_TEST_SERVER(pg);
  RUNICORN_S3_TEST_SERVER(rgw);
  Team team(pg.NewDatabase(), rgw.endpoint(), "rt-artpub-resume");
  const fs::path root = team.tmp.path / "replica-a";
  runtrack::ArtifactStore local = OpenStore(root);
  const std::string bytes = RandomBytes(2 * 1024 * 1024, 41);
  REQUIRE(LogFile(local, team.tmp.path / "src", "ckpt", bytes) == 1);
  // A crash between the steps: every chunk already in the bucket (the viewer's chunk mirror, or
  // a pass killed before its transaction), no row in PostgreSQL.
  runicorn::service::s3::ObjectChunkMirror chunks(runtrack::StoreLayout(root).blobs_dir(), team.chunks);
  REQUIRE(chunks.Push().ok());
  auto repo = team.Repository("reader");
  CHECK(repo->GetVersion("ckpt", 1).status().code() == runtrack::StatusCode::kNotFound);
  auto pool = std::make_shared<CountingPool>(team.chunks);
  PgArtifactMirror mirror(root, repo, pool);
  PgArtifactMirrorReport r = MirrorPass(mirror);
  CHECK(r.versions_published == 1);
  CHECK(r.chunks_uploaded == 0);
  CHECK(pool->puts == 0);
  CHECK(ReadThrough(*repo, "ckpt:v1") == bytes);
}

TEST_CASE("a local version whose number holds another manifest in PostgreSQL is a conflict, never written",
          "[s3][rgw][pg][artifacts][publish]") {
  RUNICORN_PG_TEST_SERVER(pg);
  RUNICORN_S3_TEST_SERVER(rgw);
  Team team(pg.NewDatabase(), rgw.endpoint(), "rt-artpub-conflict");
  auto repo = team.Repository("reader");
  auto pool = std::make_shared<CountingPool>(team.chunks);
  // Replica B published its net:v1 first.
  const fs::path root_b = team.tmp.path / "replica-b";
  runtrack::ArtifactStore store_b = OpenStore(root_b);
  const std::string theirs = RandomBytes(1024 * 1024, 51);
  REQUIRE(LogFile(store_b, team.tmp.path / "src-b", "net", theirs) == 1);
  PgArtifactMirror mirror_b(root_b, repo, pool);
  REQUIRE(MirrorPass(mirror_b).versions_published == 1);

  // Replica A's own writer logged a different net:v1.
  const fs::path root_a = team.tmp.path / "replica-a";
  runtrack::ArtifactStore store_a = OpenStore(root_a);
  const std::string ours = RandomBytes(1024 * 1024, 52);
  REQUIRE(LogFile(store_a, team.tmp.path / "src-a", "net", ours) == 1);
  PgArtifactMirror mirror_a(root_a, repo, pool);
  PgArtifactMirrorReport r = MirrorPass(mirror_a);
  CHECK(r.versions_published == 0);
  CHECK(r.conflicts == std::vector<std::string>{
                           "net:v1 in this replica's store conflicts with the team catalog: net:v1 already exists on "
                           "the server with a different manifest; it stays in this store only and is not listed by "
                           "the replicas"});
  CHECK(ReadThrough(*repo, "net:v1") == theirs);
  // Reported once; still not written.
  PgArtifactMirrorReport later = MirrorPass(mirror_a);
  CHECK(later.conflicts.empty());
  CHECK(later.versions_published == 0);
  CHECK(ReadThrough(*repo, "net:v1") == theirs);
  // A's next version has a number PostgreSQL has not given out: published.
  const std::string next = RandomBytes(1024 * 1024, 53);
  REQUIRE(LogFile(store_a, team.tmp.path / "src-a", "net", next) == 2);
  CHECK(MirrorPass(mirror_a).versions_published == 1);
  CHECK(ReadThrough(*repo, "net:v2") == next);
  // The name used locally by another type is a conflict too.
  REQUIRE(LogFile(store_a, team.tmp.path / "src-a", "tok", "vocab", runtrack::ArtifactType::kDataset) == 1);
  REQUIRE(LogFile(store_b, team.tmp.path / "src-b", "tok", "vocab!", runtrack::ArtifactType::kConfig) == 1);
  REQUIRE(MirrorPass(mirror_b).versions_published == 1);
  CHECK(MirrorPass(mirror_a).conflicts ==
        std::vector<std::string>{"tok:v1 in this replica's store conflicts with the team catalog: artifact name 'tok' "
                                 "is already used by type config on the server; it stays in this store only and is "
                                 "not listed by the replicas"});
}

TEST_CASE("local deletes, restores, purges, uses and alias moves are mirrored, changes made through the team are kept",
          "[s3][rgw][pg][artifacts][publish]") {
  RUNICORN_PG_TEST_SERVER(pg);
  RUNICORN_S3_TEST_SERVER(rgw);
  Team team(pg.NewDatabase(), rgw.endpoint(), "rt-artpub-life");
  const fs::path root = team.tmp.path / "replica-a";
  runtrack::ArtifactStore local = OpenStore(root);
  auto repo = team.Repository("reader");
  auto pool = std::make_shared<CountingPool>(team.chunks);
  PgArtifactMirror mirror(root, repo, pool);
  REQUIRE(LogFile(local, team.tmp.path / "src", "m", "one") == 1);
  REQUIRE(LogFile(local, team.tmp.path / "src", "m", "two") == 2);
  REQUIRE(local.SetAlias("m", "prod", 1).ok());
  PgArtifactMirrorReport first = MirrorPass(mirror);
  CHECK(first.versions_published == 2);
  CHECK(first.aliases_written == 1);
  CHECK(*repo->Aliases("m") == std::map<std::string, int>{{"latest", 2}, {"prod", 1}});

  // An alias move, a soft delete and a "use" made locally.
  REQUIRE(local.SetAlias("m", "prod", 2).ok());
  REQUIRE(local.Delete("m", 1, runtrack::DeleteMode::kSoft).ok());
  const std::string run = "20261204_020000_abcdef";
  REQUIRE(local.Use("m:v2", run).ok());
  PgArtifactMirrorReport second = MirrorPass(mirror);
  CHECK(second.aliases_written == 1);
  CHECK(second.lifecycle_changes == 1);
  CHECK(*repo->Aliases("m") == std::map<std::string, int>{{"latest", 2}, {"prod", 2}});
  CHECK(repo->GetVersion("m", 1)->status == "deleted");
  auto lineage = repo->Lineage("m", 2, 1);
  REQUIRE(lineage.ok());
  std::set<std::string> nodes;
  for (const auto& n : lineage->nodes) nodes.insert(n.node_id);
  CHECK(nodes == std::set<std::string>{"m:v2", run});

  // Restore, alias removal and a permanent delete.
  REQUIRE(local.Restore("m", 1).ok());
  REQUIRE(local.RemoveAlias("m", "prod").ok());
  PgArtifactMirrorReport third = MirrorPass(mirror);
  CHECK(third.lifecycle_changes == 1);
  CHECK(third.aliases_written == 1);
  CHECK(repo->GetVersion("m", 1)->status == "ready");
  CHECK(*repo->Aliases("m") == std::map<std::string, int>{{"latest", 2}});
  REQUIRE(local.Delete("m", 2, runtrack::DeleteMode::kPermanent).ok());
  CHECK(MirrorPass(mirror).lifecycle_changes == 1);
  CHECK(repo->GetVersion("m", 2).status().code() == runtrack::StatusCode::kNotFound);
  CHECK(*repo->Aliases("m") == std::map<std::string, int>{{"latest", 1}});

  // Changes made through the team catalog (any replica's API) are not undone by this store's
  // older view, neither by a running mirror nor by one restarted.
  REQUIRE(repo->Delete("m", 1, runtrack::DeleteMode::kSoft).ok());
  REQUIRE(local.SetAlias("m", "best", 1).ok());
  REQUIRE(LogFile(local, team.tmp.path / "src", "m", "three") == 3);
  REQUIRE(repo->Restore("m", 1).ok());
  REQUIRE(repo->SetAlias("m", "best", 1).ok());
  PgArtifactMirror restarted(root, repo, pool);
  MirrorPass(mirror);
  PgArtifactMirrorReport after = MirrorPass(restarted);
  CHECK(after.versions_present == 2);  // v1, v3 (v2 is purged)
  CHECK(after.lifecycle_changes == 0);
  REQUIRE(repo->Delete("m", 3, runtrack::DeleteMode::kSoft).ok());
  PgArtifactMirror restarted_again(root, repo, pool);
  CHECK(MirrorPass(restarted_again).lifecycle_changes == 0);
  CHECK(repo->GetVersion("m", 3)->status == "deleted");  // local v3 is ready: not restored
}

TEST_CASE("an artifact logged into replica A's store is listed and downloaded byte-identical through replica B",
          "[s3][rgw][pg][artifacts][publish][binary]") {
  RUNICORN_PG_TEST_SERVER(pg);
  RUNICORN_S3_TEST_SERVER(rgw);
  Team team(pg.NewDatabase(), rgw.endpoint(), "rt-artpub-replicas");
  int port_a = 0, port_b = 0;
  auto a = team.Replica("a", &port_a);
  auto b = team.Replica("b", &port_b);
  // A training program on A's machine writes into A's store directly.
  runtrack::ArtifactStore store_a = OpenStore(team.tmp.path / "a" / "store");
  const std::string bytes = RandomBytes(3 * 1024 * 1024, 61);
  REQUIRE(LogFile(store_a, team.tmp.path / "src", "net", bytes) == 1);
  CHECK(Eventually([&] { return Get(Base(port_b) + "/artifacts/net/v1/download?path=weights.bin").status == 200; }));
  const Reply download = Get(Base(port_b) + "/artifacts/net/v1/download?path=weights.bin");
  CHECK(download.status == 200);
  CHECK(download.body == bytes);
  CHECK(Get(Base(port_a) + "/artifacts").body == Get(Base(port_b) + "/artifacts").body);
  CHECK(team.ChunkKeys() == team.KeysOf(ChunksOf(store_a, "net", 1)));

  // B's own writer logs another net:v1: B reports the conflict, the team keeps A's.
  runtrack::ArtifactStore store_b = OpenStore(team.tmp.path / "b" / "store");
  REQUIRE(LogFile(store_b, team.tmp.path / "src-b", "net", "other bytes") == 1);
  const std::string expected =
      "runicorn viewer: artifact mirror: net:v1 in this replica's store conflicts with the team catalog: net:v1 "
      "already exists on the server with a different manifest; it stays in this store only and is not listed by "
      "the replicas\n";
  CHECK(Eventually([&] { return b->err().find(expected) != std::string::npos; }));
  CHECK(Get(Base(port_a) + "/artifacts/net/v1/download?path=weights.bin").body == bytes);
  a->Stop();
  b->Stop();
}

namespace {

const char* const kRowsJson =
    R"([{"instruction":"q0","response":"a0"},{"instruction":"q1","response":"a1"},)"
    R"({"instruction":"q2","response":"a2"},{"instruction":"q3","response":"a3"},)"
    R"({"instruction":"q4","response":"a4"},{"instruction":"q5","response":"a5"},)"
    R"({"instruction":"q6","response":"a6"},{"instruction":"q7","response":"a7"},)"
    R"({"instruction":"q8","response":"a8"},{"instruction":"q9","response":"a9"}])";

std::string Multipart(const std::string& boundary, const std::string& name, const std::string& content) {
  return "--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"d.json\"\r\n" +
         "Content-Type: application/octet-stream\r\n\r\n" + content + "\r\n--" + boundary +
         "\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\n" + name + "\r\n--" + boundary + "--\r\n";
}

}  // namespace

TEST_CASE("a dataset uploaded through replica A is processed through replica B, its splits exact",
          "[s3][rgw][pg][artifacts][publish][datasets][binary]") {
  RUNICORN_PG_TEST_SERVER(pg);
  RUNICORN_S3_TEST_SERVER(rgw);
  Team team(pg.NewDatabase(), rgw.endpoint(), "rt-artpub-datasets");
  {
    auto users = runicorn::service::pg::PgUserRepository::Open(team.conninfo);
    REQUIRE(users.ok());
    REQUIRE((*users)->Add("ada", "correct-horse").ok());
  }
  int port_a = 0, port_b = 0;
  auto a = team.Replica("a", &port_a);
  auto b = team.Replica("b", &port_b);
  const std::string login_body = R"({"username":"ada","password":"correct-horse"})";
  const Reply login = Http("POST", Base(port_a) + "/v1/login", &login_body);
  REQUIRE(login.status == 200);
  const std::string token(login.json().at("token").as_string());

  const std::string boundary = "----runicornArtpubBoundary";
  const std::string form = Multipart(boundary, "ten", kRowsJson);
  const Reply upload =
      Http("POST", Base(port_a) + "/v1/datasets/upload", &form, "multipart/form-data; boundary=" + boundary, token);
  INFO(upload.body);
  REQUIRE(upload.status == 200);
  CHECK(upload.json().at("id") == bj::value("ten:v1"));
  const std::string request =
      R"({"dataset_id":"ten:v1","output_name":"ten-proc","train_ratio":0.6,"val_ratio":0.2,"test_ratio":0.2,"seed":7})";
  const Reply processed = Http("POST", Base(port_b) + "/v1/datasets/process", &request, "application/json", token);
  INFO(processed.body);
  REQUIRE(processed.status == 200);
  CHECK(processed.json().at("output_path") == bj::value("ten-proc:v1"));
  CHECK(processed.json().at("splits") == bj::parse(R"({"train":6,"validation":2,"test":2})"));

  // The same upload and processing on an embedded store is the reference: the split is a pure
  // function of the rows and the seed.
  TempDir oracle;
  runicorn::service::DatasetService local{runtrack::StoreLayout(oracle.path)};
  runicorn::service::DatasetUpload up;
  up.name = "ten";
  up.content = kRowsJson;
  REQUIRE(local.Upload(up, nullptr).ok());
  runicorn::service::ProcessRequest pr;
  pr.dataset_id = "ten:v1";
  pr.output_name = "ten-proc";
  pr.train_ratio = 0.6;
  pr.val_ratio = 0.2;
  pr.test_ratio = 0.2;
  pr.seed = 7;
  REQUIRE(local.Process(pr, nullptr).ok());
  runtrack::ArtifactStore reference = OpenStore(oracle.path);
  auto expected = reference.Use("ten-proc:v1", "");
  REQUIRE(expected.ok());
  std::string all;
  for (const char* file : {"train.jsonl", "validation.jsonl", "test.jsonl"}) {
    const std::string want = *expected->ReadFile(file);
    all += want;
    for (int port : {port_a, port_b}) {
      const Reply got = Get(Base(port) + "/artifacts/ten-proc/v1/download?path=" + file);
      CHECK(got.status == 200);
      CHECK(got.body == want);
    }
  }
  for (int i = 0; i < 10; ++i)
    CHECK(all.find(fmt::format(R"({{"instruction":"q{}","response":"a{}"}})", i, i)) != std::string::npos);
  // Both replicas list both datasets; neither replica's own store holds them.
  for (int port : {port_a, port_b}) {
    const Reply list = Get(Base(port) + "/v1/datasets", token);
    CHECK(list.json().at("count") == bj::value(2));
  }
  for (const char* replica : {"a", "b"}) {
    runtrack::ArtifactStore own = OpenStore(team.tmp.path / replica / "store");
    CHECK(own.ListArtifacts()->empty());
  }
  // Lineage: the processing used ten:v1 and produced ten-proc:v1.
  const Reply lineage = Get(Base(port_a) + "/artifacts/ten-proc/v1/lineage?max_depth=2");
  CHECK(lineage.status == 200);
  CHECK(lineage.body.find("\"ten:v1\"") != std::string::npos);
  a->Stop();
  b->Stop();
}

TEST_CASE("runicorn artifacts download --objects reads chunks missing from blobs/ from the bucket, a damaged one leaves no file",
          "[s3][rgw][artifacts][publish][cli][binary]") {
  RUNICORN_S3_TEST_SERVER(rgw);
  TempDir tmp;
  S3Location loc;
  loc.bucket = fmt::format("rt-artpub-cli-{}", ::getpid());
  loc.prefix = "team";
  loc.endpoint = rgw.endpoint();
  auto client = std::make_shared<S3Client>(
      loc, runicorn::service::s3::S3Credentials{runicorn::testing::RgwTestServer::kAccessKey,
                                                runicorn::testing::RgwTestServer::kSecretKey, ""});
  REQUIRE(client->CreateBucket().ok());
  auto objects = std::make_shared<ObjectChunkStore>(client);
  const std::string url = fmt::format("s3://{}/team?endpoint={}", loc.bucket, rgw.endpoint());
  const std::map<std::string, std::string> env{
      {"AWS_ACCESS_KEY_ID", runicorn::testing::RgwTestServer::kAccessKey},
      {"AWS_SECRET_ACCESS_KEY", runicorn::testing::RgwTestServer::kSecretKey},
      {"HOME", tmp.path.string()}};

  const fs::path root = tmp.path / "store";
  runtrack::ArtifactStore store = OpenStore(root);
  const std::string bytes = RandomBytes(3 * 1024 * 1024, 71);
  REQUIRE(LogFile(store, tmp.path / "src", "net", bytes) == 1);
  runicorn::service::s3::ObjectChunkMirror mirror(runtrack::StoreLayout(root).blobs_dir(), objects);
  REQUIRE(mirror.Push().ok());
  const auto chunks = ChunksOf(store, "net", 1);
  fs::remove_all(runtrack::StoreLayout(root).blobs_dir());
  fs::create_directories(runtrack::StoreLayout(root).blobs_dir());

  auto download = [&](const std::string& out, bool with_objects) {
    std::vector<std::string> args{"download", "net:v1", "--output", (tmp.path / out).string(), "--storage",
                                  root.string(), "--no-progress"};
    if (with_objects) {
      args.push_back("--objects");
      args.push_back(url);
    }
    fs::create_directories(tmp.path / ("run-" + out));
    return std::make_unique<RunicornProcess>("artifacts", args, env, tmp.path / ("run-" + out));
  };
  {
    auto p = download("out", true);
    const int code = p->Wait();
    INFO(p->err());
    CHECK(code == 0);
    CHECK(p->out() == fmt::format("downloaded net:v1 (1 file, 3.0 MiB) to {}\n", (tmp.path / "out").string()));
    CHECK(Slurp(tmp.path / "out" / "weights.bin") == bytes);
  }
  {
    // Without --objects, blobs/ alone: the chunk is missing.
    auto p = download("plain", false);
    CHECK(p->Wait() == 4);  // NotFound
    std::smatch m;
    const std::string err = p->err();
    REQUIRE(std::regex_match(err, m, std::regex("runicorn: chunk ([0-9a-f]{64}) of file 'weights.bin' is missing from the store\n")));
    CHECK(chunks.count(m[1].str()) == 1);
    CHECK_FALSE(fs::exists(tmp.path / "plain" / "weights.bin"));
  }
  // One chunk object damaged in the bucket (same size, other bytes).
  const std::string& bad = chunks.begin()->first;
  REQUIRE(client->PutObject(objects->KeyOf(bad), RandomBytes(chunks.begin()->second, 72)).ok());
  auto p = download("damaged", true);
  const int code = p->Wait();
  CHECK(code == 1);
  CHECK(p->out().empty());
  CHECK(p->err() == fmt::format("runicorn: chunk {0} of file 'weights.bin' is not in blobs/, and reading it from "
                                "s3://{1}/team failed: chunk {0} in the bucket does not match its SHA-256 name\n",
                                bad, loc.bucket));
  size_t files = 0;
  if (fs::exists(tmp.path / "damaged"))
    for (const auto& e : fs::recursive_directory_iterator(tmp.path / "damaged"))
      if (e.is_regular_file()) ++files;
  CHECK(files == 0);
}

#else

TEST_CASE("publishing replica-local artifacts needs libpq", "[s3][pg][artifacts][publish]") {
  WARN("SKIPPED: this runicorn was built without libpq (libpq-dev)");
}

#endif
