// Garbage collection of the bucket's chunk objects (service/s3/object_chunk_gc.h): every store's
// published reference list protects its chunks, the grace period protects fresh uploads, and
// `runicorn gc --objects` reports exact counts. Plus the reference list format.
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <unordered_set>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "rgw_test_server.h"
#include "runtrack/artifacts.h"
#include "runtrack/layout.h"
#include "service/s3/chunk_references.h"
#include "service/s3/object_chunk_gc.h"
#include "service/s3/object_chunk_mirror.h"
#include "service/s3/object_chunk_store.h"
#include "service/s3/s3_client.h"
#include "test_support.h"

#ifndef RUNICORN_BINARY
#error "RUNICORN_BINARY must name the runicorn executable (set by apps/CMakeLists.txt)"
#endif

namespace fs = std::filesystem;
using namespace runicorn::service::s3;
using runtrack::StatusCode;

namespace {

std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

// A store with model "keep" (several chunks), mirrored to the bucket without a reference list.
struct StoreInBucket {
  runtrack::testing::TempDir dir;
  fs::path root = dir.path() / "store";
  std::shared_ptr<S3Client> client;
  std::shared_ptr<ObjectChunkStore> objects;
  std::vector<std::string> referenced;

  explicit StoreInBucket(const runicorn::testing::RgwTestServer& server, const std::string& bucket) {
    S3Location loc;
    loc.bucket = bucket;
    loc.prefix = "team";
    loc.endpoint = server.endpoint();
    client = std::make_shared<S3Client>(loc, S3Credentials{runicorn::testing::RgwTestServer::kAccessKey,
                                                           runicorn::testing::RgwTestServer::kSecretKey, ""});
    REQUIRE(client->CreateBucket().ok());
    objects = std::make_shared<ObjectChunkStore>(client);
    fs::create_directories(root);
    std::ofstream(dir.path() / "w.bin", std::ios::binary) << RandomBytes((1u << 20) + 7, 5);
    auto store = runtrack::ArtifactStore::Open(root);
    REQUIRE(store.ok());
    auto a = runtrack::Artifact::Create("keep", runtrack::ArtifactType::kModel);
    REQUIRE(a.ok());
    REQUIRE(a->AddFile(dir.path() / "w.bin", "weights.bin").ok());
    REQUIRE(store->Log(*a, "").ok());
    auto refs = store->ReferencedChunks();
    REQUIRE(refs.ok());
    referenced = *refs;
    REQUIRE(referenced.size() >= 2);
    ObjectChunkMirror mirror(runtrack::StoreLayout(root).blobs_dir(), objects);
    auto pushed = mirror.Push();
    REQUIRE(pushed.ok());
    REQUIRE(pushed->uploaded == referenced.size());
  }

  // Uploads a chunk no version of this store references; returns its digest.
  std::string PutStray(uint32_t seed) {
    const std::string bytes = RandomBytes(5000, seed);
    const std::string hex = Sha256Hex(bytes);
    REQUIRE(objects->PutIfAbsent(hex, bytes).ok());
    return hex;
  }

  std::set<std::string> ChunkKeys() {
    auto listed = client->ListAll("team/chunks/");
    REQUIRE(listed.ok());
    std::set<std::string> keys;
    for (const auto& o : *listed) keys.insert(o.key);
    return keys;
  }
  double LastModified(const std::string& key) {
    auto listed = client->ListAll(key);
    REQUIRE(listed.ok());
    REQUIRE(listed->size() == 1);
    return listed->at(0).last_modified;
  }
};

// Runs the binary with `args`; stdout, and the exit code in *code.
std::string RunCli(const std::string& args, int* code) {
  const std::string cmd = fmt::format("{} {} 2>&1", RUNICORN_BINARY, args);
  FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  std::string out;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof(buf), p)) > 0;) out.append(buf, n);
  const int status = ::pclose(p);
  *code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

}  // namespace

TEST_CASE("chunk reference lists round-trip and refuse what they cannot read", "[s3][gc]") {
  const std::string a(64, 'a'), b(64, 'b');
  const std::string text = FormatChunkReferences("host:/data/store", {b, a, b});
  CHECK(text == "runicorn-chunk-references 1\nstore host:/data/store\n" + a + "\n" + b + "\n");
  std::unordered_set<std::string> parsed;
  REQUIRE(ParseChunkReferences(text, &parsed).ok());
  CHECK(parsed == std::unordered_set<std::string>{a, b});

  std::unordered_set<std::string> ignored;
  auto bad_header = ParseChunkReferences("something else\n" + a + "\n", &ignored);
  CHECK(bad_header.code() == StatusCode::kCorruption);
  CHECK(bad_header.message() == "chunk reference list does not start with 'runicorn-chunk-references 1'");
  auto bad_line = ParseChunkReferences("runicorn-chunk-references 1\nstore x\n" + a + "\nABC\n", &ignored);
  CHECK(bad_line.message() == "chunk reference list line 4 is not a SHA-256 digest");
  auto torn = ParseChunkReferences("runicorn-chunk-references 1\n" + a, &ignored);
  CHECK(torn.message() == "chunk reference list is cut short (no final newline)");
  CHECK(ParseChunkReferences("", &ignored).message() == "chunk reference list is empty");
  // Different stores, different lists; one store, one list.
  CHECK(StoreReferencesKey("/data/a") != StoreReferencesKey("/data/b"));
  CHECK(StoreReferencesKey("/data/a") == StoreReferencesKey("/data/a/"));
  CHECK(StoreReferencesKey("/data/a").size() == 16);
}

TEST_CASE("gc of the bucket removes old unreferenced chunks only, with exact counts", "[s3][rgw][gc]") {
  RUNICORN_S3_TEST_SERVER(server);
  static int round = 0;
  StoreInBucket s(server, fmt::format("rt-gc-{}-{}", ::getpid(), round++));

  SECTION("in process: referenced, another store's, fresh and foreign objects stay") {
    const std::string old_stray = s.PutStray(1);
    const std::string others = s.PutStray(2);  // referenced only by another store's list
    REQUIRE(s.client->PutObject("team/refs/0123456789abcdef", FormatChunkReferences("elsewhere:/x", {others})).ok());
    REQUIRE(s.client->PutObject("team/chunks/README", "not a chunk").ok());
    // Age by the bucket's own clock: the stray is >= 2 s older than the fresh one.
    std::this_thread::sleep_for(std::chrono::milliseconds(2100));
    const std::string fresh = s.PutStray(3);
    const double fresh_time = s.LastModified(s.objects->KeyOf(fresh));
    REQUIRE(fresh_time > 0);
    BucketGcOptions options;
    options.grace = std::chrono::seconds(1);
    options.now = fresh_time + 0.5;  // the cutoff falls between the stray and the fresh chunk

    options.dry_run = true;
    auto preview = CollectBucketChunks(*s.objects, s.root, s.referenced, options);
    REQUIRE(preview.ok());
    CHECK(preview->objects_removed == 1);
    CHECK(preview->bytes_freed == 5000);
    CHECK(s.ChunkKeys().count(s.objects->KeyOf(old_stray)) == 1);  // a dry run deletes nothing

    options.dry_run = false;
    auto report = CollectBucketChunks(*s.objects, s.root, s.referenced, options);
    REQUIRE(report.ok());
    CHECK(report->objects_removed == 1);
    CHECK(report->bytes_freed == 5000);
    CHECK(report->objects_kept == s.referenced.size() + 1);
    CHECK(report->objects_in_grace == 1);
    CHECK(report->reference_lists == 2);  // this store's (published first) and the other's

    std::set<std::string> expected = {"team/chunks/README", s.objects->KeyOf(others), s.objects->KeyOf(fresh)};
    for (const auto& hex : s.referenced) expected.insert(s.objects->KeyOf(hex));
    CHECK(s.ChunkKeys() == expected);
    // This store's list is in the bucket now, naming exactly its chunks.
    auto mine = s.client->GetObject("team/refs/" + StoreReferencesKey(s.root));
    REQUIRE(mine.ok());
    std::unordered_set<std::string> parsed;
    REQUIRE(ParseChunkReferences(*mine, &parsed).ok());
    CHECK(parsed == std::unordered_set<std::string>(s.referenced.begin(), s.referenced.end()));
  }

  SECTION("runicorn gc --objects: local gc, then the bucket; an unreadable list stops it") {
    const std::string stray = s.PutStray(4);
    ::setenv("AWS_ACCESS_KEY_ID", runicorn::testing::RgwTestServer::kAccessKey, 1);
    ::setenv("AWS_SECRET_ACCESS_KEY", runicorn::testing::RgwTestServer::kSecretKey, 1);
    ::setenv("HOME", s.dir.path().c_str(), 1);
    const std::string url = fmt::format("'s3://{}/team?endpoint={}'", s.client->location().bucket, server.endpoint());
    int code = -1;
    std::string out = RunCli(fmt::format("gc --storage {} --objects {} --grace-seconds 0 --json --no-progress",
                                         s.root.string(), url),
                             &code);
    INFO(out);
    REQUIRE(code == 0);
    auto doc = boost::json::parse(out).as_object();
    CHECK(doc.at("objects") == boost::json::value{{"objects_removed", 1},
                                                  {"bytes_freed", 5000},
                                                  {"objects_kept", static_cast<int64_t>(s.referenced.size())},
                                                  {"objects_in_grace", 0},
                                                  {"reference_lists", 1}});
    // No run of this store was sealed and published: nothing under segments/, no segment list.
    CHECK(doc.at("segment_objects") == boost::json::value{{"objects_removed", 0},
                                                          {"bytes_freed", 0},
                                                          {"objects_kept", 0},
                                                          {"objects_in_grace", 0},
                                                          {"reference_lists", 0}});
    std::string text = RunCli(fmt::format("gc --storage {} --objects {} --grace-seconds 0 --dry-run --no-progress",
                                          s.root.string(), url),
                              &code);
    CHECK(code == 0);
    CHECK(text.find("bucket: would free 0 B: 0 segment objects to remove, 0 kept (named by 0 stores' lists), 0 "
                    "unnamed but within the grace period\n") != std::string::npos);
    CHECK(s.ChunkKeys().count(s.objects->KeyOf(stray)) == 0);
    CHECK(s.ChunkKeys().size() == s.referenced.size());

    // A reference list gc cannot read: its chunks are unknown, so nothing is deleted.
    const std::string stray2 = s.PutStray(5);
    REQUIRE(s.client->PutObject("team/refs/broken", "garbage\n").ok());
    out = RunCli(fmt::format("gc --storage {} --objects {} --grace-seconds 0 --no-progress", s.root.string(), url),
                 &code);
    INFO(out);
    CHECK(code != 0);
    CHECK(out.find(fmt::format("runicorn gc: bucket: corruption: {}/team/refs/broken: chunk reference list does not "
                               "start with 'runicorn-chunk-references 1'",
                               s.client->location().bucket)) != std::string::npos);
    CHECK(s.ChunkKeys().count(s.objects->KeyOf(stray2)) == 1);
  }
}
