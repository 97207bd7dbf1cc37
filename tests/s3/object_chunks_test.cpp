// Artifact chunks in the bucket: PUT-if-absent by digest, verified reads, and the mirror that
// publishes a store's chunks — dedup within one store and across replicas.
#include <catch2/catch.hpp>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "rgw_test_server.h"
#include "runtrack/artifacts.h"
#include "runtrack/layout.h"
#include "service/s3/object_chunk_mirror.h"
#include "service/s3/object_chunk_store.h"
#include "service/s3/s3_client.h"

namespace fs = std::filesystem;
using runicorn::service::s3::ObjectChunkMirror;
using runicorn::service::s3::ObjectChunkStore;
using runicorn::service::s3::S3Client;
using runicorn::service::s3::S3Location;
using runicorn::service::s3::Sha256Hex;
using runtrack::StatusCode;

namespace {

std::shared_ptr<S3Client> NewBucket(const runicorn::testing::RgwTestServer& server, const std::string& prefix) {
  static std::atomic<int> n{0};
  S3Location loc;
  loc.bucket = fmt::format("rt-chunks-{}-{}", ::getpid(), n++);
  loc.prefix = prefix;
  loc.endpoint = server.endpoint();
  auto client = std::make_shared<S3Client>(
      loc, runicorn::service::s3::S3Credentials{runicorn::testing::RgwTestServer::kAccessKey,
                                                runicorn::testing::RgwTestServer::kSecretKey, ""});
  REQUIRE(client->CreateBucket().ok());
  return client;
}

std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/runicorn-s3-store-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

// Logs `bytes` as file "weights.bin" of model `name` into the store at `root`; returns the version.
int LogModel(const fs::path& root, const std::string& name, const std::string& bytes) {
  const fs::path src = root.parent_path() / ("src-" + name + ".bin");
  std::ofstream(src, std::ios::binary) << bytes;
  auto store = runtrack::ArtifactStore::Open(root);
  REQUIRE(store.ok());
  auto artifact = runtrack::Artifact::Create(name, runtrack::ArtifactType::kModel);
  REQUIRE(artifact.ok());
  REQUIRE(artifact->AddFile(src, "weights.bin").ok());
  auto version = store->Log(*artifact, "");
  REQUIRE(version.ok());
  return *version;
}

// The chunk digests of "weights.bin" in version `version` of model `name`, in file order, read
// from the manifest (docs/FORMATS-artifacts.md: files[].chunks[].sha256).
std::vector<std::string> ManifestChunks(const fs::path& root, const std::string& name, int version) {
  const fs::path manifest = runtrack::StoreLayout(root).artifacts_dir() / "model" / name /
                            fmt::format("v{}", version) / "manifest.json";
  std::ifstream in(manifest);
  REQUIRE(in);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto doc = boost::json::parse(text);
  std::vector<std::string> out;
  for (const auto& file : doc.at("files").as_array())
    for (const auto& chunk : file.at("chunks").as_array()) out.emplace_back(chunk.at("sha256").as_string());
  return out;
}

}  // namespace

TEST_CASE("artifact chunks in the bucket: put-if-absent, verified reads, mirror dedup", "[s3][rgw]") {
  RUNICORN_S3_TEST_SERVER(server);

  SECTION("a chunk is stored once under prefix/chunks/<aa>/<digest> and read back verified") {
    auto client = NewBucket(server, "team/a");
    ObjectChunkStore chunks(client);
    const std::string bytes = RandomBytes(100000, 1);
    const std::string hex = Sha256Hex(bytes);
    CHECK(chunks.KeyOf(hex) == "team/a/chunks/" + hex.substr(0, 2) + "/" + hex);

    auto first = chunks.PutIfAbsent(hex, bytes);
    REQUIRE(first.ok());
    CHECK(*first);
    auto second = chunks.PutIfAbsent(hex, bytes);
    REQUIRE(second.ok());
    CHECK_FALSE(*second);
    CHECK(client->counts().put.load() == 1);  // the second one cost a HEAD only

    auto back = chunks.Get(hex);
    REQUIRE(back.ok());
    CHECK(*back == bytes);
    auto contains = chunks.Contains(hex);
    REQUIRE(contains.ok());
    CHECK(*contains);

    // A name that is not the bytes' digest is refused before anything is sent.
    const std::string other = Sha256Hex("other");
    auto mismatch = chunks.PutIfAbsent(other, bytes);
    REQUIRE_FALSE(mismatch.ok());
    CHECK(mismatch.status().code() == StatusCode::kInvalidArgument);
    CHECK(mismatch.status().message() == "chunk " + other + ": the bytes' SHA-256 differs from the name");
    auto absent = chunks.Get(other);
    REQUIRE_FALSE(absent.ok());
    CHECK(absent.status().code() == StatusCode::kNotFound);

    // A chunk altered in the bucket is detected on read, never handed out.
    REQUIRE(client->PutObject(chunks.KeyOf(other), "not the bytes of 'other'").ok());
    auto corrupt = chunks.Get(other);
    REQUIRE_FALSE(corrupt.ok());
    CHECK(corrupt.status().code() == StatusCode::kCorruption);
    CHECK(corrupt.status().message() == "chunk " + other + " in the bucket does not match its SHA-256 name");

    auto bad_name = chunks.Get("../../etc/passwd");
    CHECK(bad_name.status().code() == StatusCode::kInvalidArgument);
  }

  SECTION("the mirror uploads a logged artifact's chunks once; an identical artifact uploads none") {
    auto client = NewBucket(server, "");
    auto chunks = std::make_shared<ObjectChunkStore>(client);
    TempDir tmp;
    const fs::path root = tmp.path / "store";
    // ~3 MiB of random bytes: several FastCDC chunks (256 KiB average).
    const std::string weights = RandomBytes(3 * 1024 * 1024 + 5, 7);
    REQUIRE(LogModel(root, "net", weights) == 1);

    ObjectChunkMirror mirror(runtrack::StoreLayout(root).blobs_dir(), chunks);
    auto first = mirror.Push();
    REQUIRE(first.ok());
    const auto digests = ManifestChunks(root, "net", 1);
    REQUIRE(digests.size() > 1);
    CHECK(first->chunks_seen == digests.size());
    CHECK(first->uploaded == digests.size());
    CHECK(first->already_present == 0);
    CHECK(first->bytes_uploaded == weights.size());

    // The bucket holds exactly those chunks, and the file reassembled from the bucket is
    // byte-identical to what was logged.
    auto listed = client->ListAll("chunks/");
    REQUIRE(listed.ok());
    CHECK(listed->size() == std::set<std::string>(digests.begin(), digests.end()).size());
    std::string reassembled;
    for (const auto& hex : digests) {
      auto bytes = chunks->Get(hex);
      REQUIRE(bytes.ok());
      reassembled += *bytes;
    }
    CHECK(reassembled == weights);

    // The same bytes logged again (another name): local dedup adds no chunk file, the mirror
    // uploads nothing.
    const uint64_t puts_before = client->counts().put.load();
    REQUIRE(LogModel(root, "net-copy", weights) == 1);
    auto second = mirror.Push();
    REQUIRE(second.ok());
    CHECK(second->uploaded == 0);
    CHECK(second->bytes_uploaded == 0);
    CHECK(client->counts().put.load() == puts_before);

    // Another replica (a fresh mirror over another store with the same content) finds every
    // chunk in the bucket by HEAD and uploads none: team-wide dedup.
    const fs::path root2 = tmp.path / "store2";
    REQUIRE(LogModel(root2, "net", weights) == 1);
    ObjectChunkMirror replica(runtrack::StoreLayout(root2).blobs_dir(), chunks);
    auto third = replica.Push();
    REQUIRE(third.ok());
    CHECK(third->uploaded == 0);
    CHECK(third->already_present == digests.size());
    CHECK(client->counts().put.load() == puts_before);
    auto listed_after = client->ListAll("chunks/");
    REQUIRE(listed_after.ok());
    CHECK(listed_after->size() == listed->size());
  }

  SECTION("a corrupt local chunk is reported and never uploaded") {
    auto client = NewBucket(server, "");
    auto chunks = std::make_shared<ObjectChunkStore>(client);
    TempDir tmp;
    const fs::path blobs = tmp.path / "blobs";
    const std::string hex = Sha256Hex("the real bytes");
    fs::create_directories(blobs / hex.substr(0, 2));
    std::ofstream(blobs / hex.substr(0, 2) / hex, std::ios::binary) << "flipped bytes";
    std::ofstream(blobs / hex.substr(0, 2) / (".tmp-" + hex + "-x"), std::ios::binary) << "partial";
    ObjectChunkMirror mirror(blobs, chunks);
    auto report = mirror.Push();
    REQUIRE(report.ok());
    CHECK(report->chunks_seen == 1);
    CHECK(report->corrupt == 1);
    CHECK(report->uploaded == 0);
    CHECK(client->counts().put.load() == 0);
  }
}
