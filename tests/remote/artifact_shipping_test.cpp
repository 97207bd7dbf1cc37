// Artifact shipping end to end (docs/REMOTE.md "Artifacts"): a real viewer on 127.0.0.1, writers
// that log artifacts with shipping on, and the ingest routes called directly for the refusals.
#include <sys/wait.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <random>
#include <set>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "artifacts/layout.h"
#include "artifacts/manifest.h"
#include "artifacts/sha256.h"
#include "remote/artifact_client.h"
#include "runtrack/artifact_transfer.h"
#include "runtrack/artifacts.h"
#include "runtrack/remote.h"
#include "runtrack/store.h"
#include "server_fixture.h"
#include "test_support.h"
#include "util/files.h"
#include "viewer_fixture.h"

namespace {
using namespace runtrack;
namespace fs = std::filesystem;
using runicorn::testing::RestartableViewer;
namespace http = boost::beast::http;

std::string RandomBytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string out(n, '\0');
  for (size_t i = 0; i + 8 <= n; i += 8) {
    uint64_t v = rng();
    std::memcpy(out.data() + i, &v, 8);
  }
  return out;
}

void WriteBytes(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

// Logs `files` (name -> bytes) as the next version of model `name` from a new run of `store`
// and finishes the run (which waits for the shipper when the store has a server).
std::pair<std::string, int> LogFromRun(Store& store, const fs::path& src, const std::string& name,
                                       const std::map<std::string, std::string>& files) {
  auto run = store.CreateRun({});
  REQUIRE(run.ok());
  auto art = Artifact::Create(name, ArtifactType::kModel);
  REQUIRE(art.ok());
  for (const auto& [file, bytes] : files) {
    WriteBytes(src / file, bytes);
    REQUIRE(art->AddFile(src / file).ok());
  }
  auto v = (*run)->LogArtifact(*art);
  REQUIRE(v.ok());
  std::string id = (*run)->id();
  REQUIRE((*run)->Finish().ok());
  return {id, *v};
}

// The chunk digests of a version's manifest in a store, each once.
std::set<std::string> ChunksOf(const fs::path& root, const std::string& name, int version) {
  artifacts::Layout layout(root);
  auto text = util::ReadFile(layout.version_dir(ArtifactType::kModel, name, version) / "manifest.json");
  REQUIRE(text.ok());
  auto m = artifacts::ParseManifest(*text);
  REQUIRE(m.ok());
  std::set<std::string> out;
  for (const auto& f : m->files)
    for (const auto& c : f.chunks) out.insert(c.sha256);
  return out;
}

std::string ManifestText(const fs::path& root, const std::string& name, int version) {
  auto text = util::ReadFile(artifacts::Layout(root).version_dir(ArtifactType::kModel, name, version) / "manifest.json");
  REQUIRE(text.ok());
  return *text;
}

// Every file of `files` downloaded through the viewer's API has the SHA-256 of the original.
void CheckServedFiles(RestartableViewer& viewer, const std::string& name, int version,
                      const std::map<std::string, std::string>& files, const std::string& token = {}) {
  runicorn::testing::HttpClient http(viewer.port());
  std::map<std::string, std::string> auth;
  if (!token.empty()) auth["Authorization"] = "Bearer " + token;
  auto list = http.Get(fmt::format("/api/artifacts/{}/v{}/files", name, version), auth);
  REQUIRE(list.status == 200);
  CHECK(list.json().as_object().at("files").as_array().size() == files.size());
  for (const auto& [file, bytes] : files) {
    auto got = http.Get(fmt::format("/api/artifacts/{}/v{}/download?path={}", name, version, file), auth);
    REQUIRE(got.status == 200);
    CHECK(got.body.size() == bytes.size());
    CHECK(artifacts::Sha256Hex(got.body) == artifacts::Sha256Hex(bytes));
  }
}

std::string Detail(const remote::IngestReply& r) {
  return std::string(boost::json::parse(r.body).as_object().at("detail").as_string());
}

bool NoPartialChunks(const fs::path& root) {
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(StoreLayout(root).blobs_dir(), ec);
       it != fs::recursive_directory_iterator(); ++it)
    if (it->path().filename().string().starts_with(".tmp-")) return false;
  return true;
}

}  // namespace

TEST_CASE("artifact shipping: a logged version reaches the viewer byte for byte, a second one sends only new chunks",
          "[remote][artifacts]") {
  testing::TempDir dir;
  RestartableViewer viewer(dir.path() / "central", dir.path() / "config.json");
  StoreOptions o;
  o.server = viewer.url();
  auto store = Store::Open(dir.path() / "node", o);
  REQUIRE(store.ok());
  fs::create_directories(dir.path() / "src");
  // Several MiB each, random: dozens of chunks, some larger than one 512 KiB upload part.
  std::map<std::string, std::string> files{{"weights.bin", RandomBytes(5u << 20, 1)},
                                           {"optimizer.bin", RandomBytes(3u << 20, 2)},
                                           {"config.json", RandomBytes(40000, 3)}};
  auto [run1, v1] = LogFromRun(**store, dir.path() / "src", "resnet", files);
  CHECK(v1 == 1);

  const auto chunks1 = ChunksOf(dir.path() / "node", "resnet", 1);
  auto stats = viewer.ctx().services->artifact_ingest.stats();
  // Finish() returned: the version is on the server, every chunk uploaded exactly once.
  CHECK(stats.versions_created == 1);
  CHECK(stats.chunks_stored == chunks1.size());
  CHECK(stats.chunk_bytes_stored == (5u << 20) + (3u << 20) + 40000);
  CHECK(ManifestText(dir.path() / "central", "resnet", 1) == ManifestText(dir.path() / "node", "resnet", 1));
  CheckServedFiles(viewer, "resnet", 1, files);

  // Lineage: the version names its producing run on the server too, and the run's journal (which
  // carried the lineage record) lists it.
  runicorn::testing::HttpClient http(viewer.port());
  auto lineage = http.Get("/api/artifacts/resnet/v1/lineage");
  REQUIRE(lineage.status == 200);
  CHECK(lineage.body.find(fmt::format(R"("node_id":"run:{}")", run1)) != std::string::npos);
  viewer.Sync();
  auto produced = http.Get(fmt::format("/api/runs/{}/artifacts", run1));
  REQUIRE(produced.status == 200);
  CHECK(produced.body.find(R"("resnet")") != std::string::npos);

  // Version 2: one file changed. Only its chunks travel.
  files["optimizer.bin"] = RandomBytes(3u << 20, 4);
  auto [run2, v2] = LogFromRun(**store, dir.path() / "src", "resnet", files);
  CHECK(v2 == 2);
  const auto chunks2 = ChunksOf(dir.path() / "node", "resnet", 2);
  std::set<std::string> fresh;
  for (const auto& c : chunks2)
    if (!chunks1.count(c)) fresh.insert(c);
  REQUIRE(fresh.size() < chunks2.size());  // the unchanged files share their chunks
  auto after = viewer.ctx().services->artifact_ingest.stats();
  CHECK(after.versions_created == 2);
  CHECK(after.chunks_stored - stats.chunks_stored == fresh.size());
  CHECK(after.digests_missing - stats.digests_missing == fresh.size());
  CHECK(after.chunk_bytes_stored - stats.chunk_bytes_stored == 3u << 20);
  CheckServedFiles(viewer, "resnet", 2, files);
  auto aliases = http.Get("/api/artifacts/resnet/aliases");
  REQUIRE(aliases.status == 200);
  CHECK(aliases.body.find(R"("latest":2)") != std::string::npos);
}

TEST_CASE("artifact shipping: chunk uploads are verified, validated and idempotent", "[remote][artifacts]") {
  testing::TempDir dir;
  RestartableViewer viewer(dir.path() / "central", dir.path() / "config.json");
  remote::ArtifactClient client(ShipperOptions{.server = viewer.url()});
  const std::string good = RandomBytes(300000, 7);
  const std::string digest = artifacts::Sha256Hex(good);

  // Bytes that do not hash to the name: 400, and neither the chunk nor a partial file stays.
  std::string bad = good;
  bad[1234] ^= 1;
  auto r = client.PutChunk(digest, bad.size(), 0, CompressIngestBody(bad));
  CHECK(r.status == 400);
  CHECK(Detail(r).starts_with(fmt::format("chunk bytes do not match their digest: sha256 of the 300000 bytes "
                                          "received is {}, not {}",
                                          artifacts::Sha256Hex(bad), digest)));
  auto missing = client.Missing({digest});
  REQUIRE(missing.status == 200);
  CHECK(missing.body == fmt::format(R"({{"missing":["{}"]}})", digest));
  CHECK(NoPartialChunks(dir.path() / "central"));

  // In two parts: the first is held, a part that skips ahead is a gap, the last one publishes.
  r = client.PutChunk(digest, good.size(), 0, CompressIngestBody(good.substr(0, 100000)));
  CHECK(r.status == 200);
  CHECK(r.body == fmt::format(R"({{"digest":"{}","stored":false,"received":100000}})", digest));
  r = client.PutChunk(digest, good.size(), 200000, CompressIngestBody(good.substr(200000)));
  CHECK(r.status == 409);
  CHECK(r.body == fmt::format(R"({{"digest":"{}","stored":false,"received":100000,"detail":"the part does not )"
                              R"(continue the server's partial copy; resend from 'received'"}})",
                              digest));
  r = client.PutChunk(digest, good.size(), 100000, CompressIngestBody(good.substr(100000)));
  CHECK(r.status == 200);
  CHECK(r.body == fmt::format(R"({{"digest":"{}","stored":true,"received":300000}})", digest));
  CHECK(client.Missing({digest}).body == R"({"missing":[]})");
  auto stored = util::ReadFile(StoreLayout(dir.path() / "central").blobs_dir() / digest.substr(0, 2) / digest);
  REQUIRE(stored.ok());
  CHECK(*stored == good);
  // Again: acknowledged, nothing rewritten.
  r = client.PutChunk(digest, good.size(), 0, CompressIngestBody(good));
  CHECK(r.status == 200);
  CHECK(viewer.ctx().services->artifact_ingest.stats().chunks_stored == 1);

  // An uncompressed body is fine too (no Content-Encoding).
  const std::string small = "a small chunk";
  const std::string small_digest = artifacts::Sha256Hex(small);
  runicorn::testing::HttpClient http(viewer.port());
  std::string raw = http.Raw(fmt::format("PUT /api/ingest/chunks/{} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                         "Content-Type: application/octet-stream\r\nContent-Length: {}\r\n"
                                         "Connection: close\r\n\r\n{}",
                                         small_digest, small.size(), small));
  CHECK(raw.starts_with("HTTP/1.1 200"));
  CHECK(raw.ends_with(fmt::format(R"({{"digest":"{}","stored":true,"received":13}})", small_digest)));

  // Names that are not a digest never reach the file system.
  for (const std::string name : {std::string("..%2F..%2Fetc%2Fpasswd"), std::string(64, 'A'), std::string(63, 'a')}) {
    r = client.PutChunk(name, 3, 0, CompressIngestBody("abc"));
    CHECK(r.status == 400);
  }
  r = client.PutChunk(std::string(64, 'A'), 3, 0, CompressIngestBody("abc"));
  CHECK(Detail(r) == fmt::format("Invalid chunk digest '{}': expected 64 lower-case hex digits", std::string(64, 'A')));
  r = client.Missing({"abc"});
  CHECK(r.status == 400);
  CHECK(Detail(r) == "Invalid chunk digest 'abc': expected 64 lower-case hex digits");
  r = client.Missing(std::vector<std::string>(kMaxMissingQueryDigests + 1, digest));
  CHECK(r.status == 400);
  CHECK(Detail(r) == "Cannot process more than 10000 items in digests at once");
  // A part past the declared size, and a declared size past the largest chunk.
  r = client.PutChunk(digest, 10, 5, CompressIngestBody("0123456789"));
  CHECK(r.status == 400);
  CHECK(Detail(r) == "part [5, 15) is past the chunk's size 10");
  r = client.PutChunk(digest, (64u << 20) + 1, 0, CompressIngestBody("x"));
  CHECK(r.status == 400);
  CHECK(viewer.ctx().services->artifact_ingest.stats().chunks_stored == 2);
}

TEST_CASE("artifact shipping: a manifest needs its chunks, is idempotent, and never replaces another version",
          "[remote][artifacts]") {
  testing::TempDir dir;
  RestartableViewer viewer(dir.path() / "central", dir.path() / "config.json");
  remote::ArtifactClient client(ShipperOptions{.server = viewer.url()});
  // A version logged in a store of its own (no run, no server).
  fs::create_directories(dir.path() / "src");
  auto local = ArtifactStore::Open(dir.path() / "node");
  REQUIRE(local.ok());
  auto log = [&](const std::string& bytes) {
    WriteBytes(dir.path() / "src" / "data.bin", bytes);
    auto art = Artifact::Create("tokenizer", ArtifactType::kModel);
    REQUIRE(art.ok());
    REQUIRE(art->AddFile(dir.path() / "src" / "data.bin").ok());
    auto v = local->Log(*art, "");
    REQUIRE(v.ok());
    return *v;
  };
  REQUIRE(log(RandomBytes(700000, 9)) == 1);
  const std::string manifest = ManifestText(dir.path() / "node", "tokenizer", 1);
  const auto chunks = ChunksOf(dir.path() / "node", "tokenizer", 1);
  REQUIRE(chunks.size() >= 2);

  // Nothing uploaded: 409 naming every chunk, and no version appears.
  auto r = client.PutManifest("tokenizer", 1, "", CompressIngestBody(manifest));
  CHECK(r.status == 409);
  auto body = boost::json::parse(r.body).as_object();
  std::set<std::string> named;
  for (const auto& d : body.at("missing_chunks").as_array()) named.insert(std::string(d.as_string()));
  CHECK(named == chunks);
  runicorn::testing::HttpClient http(viewer.port());
  CHECK(http.Get("/api/artifacts/tokenizer/v1").status == 404);

  // One chunk still missing: only that one is named.
  artifacts::Layout layout(dir.path() / "node");
  for (auto it = std::next(chunks.begin()); it != chunks.end(); ++it) {
    auto bytes = util::ReadFile(layout.blob_path(*it));
    REQUIRE(bytes.ok());
    REQUIRE(client.PutChunk(*it, bytes->size(), 0, CompressIngestBody(*bytes)).status == 200);
  }
  r = client.PutManifest("tokenizer", 1, "", CompressIngestBody(manifest));
  CHECK(r.status == 409);
  CHECK(r.body == fmt::format(R"({{"detail":"the manifest references chunks the server does not have; upload them )"
                              R"(first","missing_chunks":["{}"]}})",
                              *chunks.begin()));
  auto first = util::ReadFile(layout.blob_path(*chunks.begin()));
  REQUIRE(first.ok());
  REQUIRE(client.PutChunk(*chunks.begin(), first->size(), 0, CompressIngestBody(*first)).status == 200);

  // Sent as another version or name than the one it describes: 400.
  r = client.PutManifest("tokenizer", 2, "", CompressIngestBody(manifest));
  CHECK(r.status == 400);
  CHECK(Detail(r) == "manifest describes tokenizer:v1, but was sent as tokenizer:v2");
  std::string tampered = manifest;
  tampered.replace(tampered.find("\"tokenizer\""), 11, "\"tokenizes\"");
  r = client.PutManifest("tokenizes", 1, "", CompressIngestBody(tampered));
  CHECK(r.status == 400);
  CHECK(Detail(r).starts_with("Invalid manifest: "));

  r = client.PutManifest("tokenizer", 1, "", CompressIngestBody(manifest));
  CHECK(r.status == 201);
  CHECK(r.body == R"({"name":"tokenizer","type":"model","version":1,"created":true})");
  CHECK(ManifestText(dir.path() / "central", "tokenizer", 1) == manifest);
  r = client.PutManifest("tokenizer", 1, "", CompressIngestBody(manifest));  // a resend
  CHECK(r.status == 200);
  CHECK(r.body == R"({"name":"tokenizer","type":"model","version":1,"created":false})");
  CHECK(viewer.ctx().services->artifact_ingest.stats().versions_created == 1);

  // Another writer's v1 of the same name (different bytes): refused, the stored one stays.
  testing::TempDir other_dir;
  auto other = ArtifactStore::Open(other_dir.path());
  REQUIRE(other.ok());
  auto art = Artifact::Create("tokenizer", ArtifactType::kModel);
  REQUIRE(art.ok());
  WriteBytes(dir.path() / "src" / "other.bin", "other bytes");
  REQUIRE(art->AddFile(dir.path() / "src" / "other.bin").ok());
  auto other_version = other->Log(*art, "");
  REQUIRE(other_version.ok());
  REQUIRE(*other_version == 1);
  const std::string other_manifest = ManifestText(other_dir.path(), "tokenizer", 1);
  for (const auto& c : ChunksOf(other_dir.path(), "tokenizer", 1)) {
    auto bytes = util::ReadFile(artifacts::Layout(other_dir.path()).blob_path(c));
    REQUIRE(bytes.ok());
    REQUIRE(client.PutChunk(c, bytes->size(), 0, CompressIngestBody(*bytes)).status == 200);
  }
  r = client.PutManifest("tokenizer", 1, "", CompressIngestBody(other_manifest));
  CHECK(r.status == 409);
  CHECK(Detail(r) == "tokenizer:v1 already exists on the server with a different manifest");
  CHECK(ManifestText(dir.path() / "central", "tokenizer", 1) == manifest);
}

TEST_CASE("artifact shipping: runicorn sync ships an offline run's artifact once", "[remote][artifacts][sync]") {
  testing::TempDir dir;
  RestartableViewer viewer(dir.path() / "central", dir.path() / "config.json", "main-token",
                           [](runicorn::server::ApiOptions& a) { a.ingest_token = "ingest-only"; });
  auto store = Store::Open(dir.path() / "node");  // no server: offline
  REQUIRE(store.ok());
  fs::create_directories(dir.path() / "src");
  std::map<std::string, std::string> files{{"a.bin", RandomBytes(1u << 20, 11)},
                                           {"b.bin", RandomBytes(600000, 12)},
                                           {"c.txt", "hello\n"}};
  auto [run, v] = LogFromRun(**store, dir.path() / "src", "offline-model", files);
  REQUIRE(v == 1);
  CHECK(viewer.ctx().services->artifact_ingest.stats().missing_queries == 0);

  // Without the ingest scope the routes refuse.
  remote::ArtifactClient anonymous(ShipperOptions{.server = viewer.url()});
  auto refused = anonymous.Missing({std::string(64, 'a')});
  CHECK(refused.status == 401);
  CHECK(refused.body == R"({"detail":"Not authenticated"})");

  const std::string cmd = fmt::format("env -u RUNICORN_SERVER -u RUNICORN_TOKEN {} sync --server {} --token ingest-only "
                                      "--storage {} 2>&1",
                                      RUNICORN_BINARY, viewer.url(), (dir.path() / "node").string());
  auto run_cli = [&] {
    std::string out;
    FILE* p = ::popen(cmd.c_str(), "r");
    REQUIRE(p != nullptr);
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    const int status = ::pclose(p);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    return out;
  };
  const std::string first = run_cli();
  const size_t chunks = ChunksOf(dir.path() / "node", "offline-model", 1).size();
  CHECK(first.find(fmt::format("{}: 1 artifact version(s) on the server, 1 new; sent {} chunk(s), 1.6 MiB\n", run,
                               chunks)) != std::string::npos);
  CheckServedFiles(viewer, "offline-model", 1, files, "main-token");
  auto stats = viewer.ctx().services->artifact_ingest.stats();
  CHECK(stats.versions_created == 1);
  CHECK(stats.chunks_stored == chunks);

  // Marked shipped: a second sync asks nothing about it.
  const std::string second = run_cli();
  CHECK(second == "1 runs checked, 0 shipped (0 B), 0 failed\n");
  CHECK(viewer.ctx().services->artifact_ingest.stats().missing_queries == stats.missing_queries);
}
