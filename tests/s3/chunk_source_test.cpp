// ArtifactHandle::ReadingMissingChunksFrom (runtrack/chunk_source.h): a chunk missing from
// blobs/ is read from the attached source and verified like a local one, on every read path
// (ReadFile, Download, OpenFile). No S3 here: an in-memory source, so the library's half of
// "downloads read from the bucket" is tested without a gateway (the bucket half:
// viewer_objects_test.cpp).
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <string>

#include "runtrack/artifacts.h"
#include "runtrack/chunk_source.h"
#include "runtrack/layout.h"
#include "test_support.h"

namespace fs = std::filesystem;
using runtrack::Status;
using runtrack::StatusCode;

namespace {

std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Chunks by digest, as a bucket would hold them; counts the reads.
class MemoryChunkSource final : public runtrack::ChunkSource {
 public:
  runtrack::Result<std::string> Read(std::string_view hex, uint64_t size) const override {
    std::lock_guard<std::mutex> lock(mu_);
    ++reads_;
    auto it = chunks_.find(std::string(hex));
    if (it == chunks_.end()) return Status::NotFound("no such chunk");
    (void)size;  // returned as stored: the reader must catch a wrong size itself
    return it->second;
  }
  std::string Describe() const override { return "memory://pool"; }

  std::map<std::string, std::string> chunks_;
  mutable std::mutex mu_;
  mutable int reads_ = 0;
};

// A store with one version of model "m" holding weights.bin, whose chunks are then moved out of
// blobs/ into a MemoryChunkSource.
struct Fixture {
  runtrack::testing::TempDir dir;
  fs::path root = dir.path() / "store";
  std::string weights = RandomBytes((3u << 20) + 12345, 7);  // several chunks
  std::shared_ptr<MemoryChunkSource> source = std::make_shared<MemoryChunkSource>();
  std::vector<std::string> chunk_order;  // file order, from the library's own file list

  Fixture() {
    fs::create_directories(root);
    std::ofstream(dir.path() / "w.bin", std::ios::binary) << weights;
    runtrack::ArtifactStoreOptions options;
    options.sync = false;
    auto store = runtrack::ArtifactStore::Open(root, options);
    REQUIRE(store.ok());
    auto a = runtrack::Artifact::Create("m", runtrack::ArtifactType::kModel);
    REQUIRE(a.ok());
    REQUIRE(a->AddFile(dir.path() / "w.bin", "weights.bin").ok());
    REQUIRE(store->Log(*a, "").ok());
    auto referenced = store->ReferencedChunks();
    REQUIRE(referenced.ok());
    REQUIRE(referenced->size() >= 3);
    runtrack::StoreLayout layout(root);
    for (const auto& hex : *referenced) {
      const fs::path p = layout.blobs_dir() / hex.substr(0, 2) / hex;
      source->chunks_[hex] = ReadAll(p);
      fs::remove(p);
    }
  }

  runtrack::ArtifactHandle Handle() {
    auto store = runtrack::ArtifactStore::Open(root);
    REQUIRE(store.ok());
    auto h = store->Use("m:v1", "");
    REQUIRE(h.ok());
    return *h;
  }
};

std::string ReadStream(runtrack::ArtifactFileReader& reader, Status* error) {
  std::string out;
  char buf[100000];
  for (;;) {
    auto n = reader.Read(buf, sizeof(buf));
    if (!n.ok()) {
      *error = n.status();
      return out;
    }
    if (*n == 0) return out;
    out.append(buf, *n);
  }
}

}  // namespace

TEST_CASE("chunks missing from blobs/ are read from the attached source on every read path",
          "[s3][chunk-source]") {
  Fixture f;
  SECTION("without a source a missing chunk is NotFound, as before") {
    auto read = f.Handle().ReadFile("weights.bin");
    REQUIRE_FALSE(read.ok());
    CHECK(read.status().code() == StatusCode::kNotFound);
    CHECK(read.status().message().find("is missing from the store") != std::string::npos);
  }
  SECTION("ReadFile, Download and OpenFile give the logged bytes") {
    auto handle = f.Handle().ReadingMissingChunksFrom(f.source);
    auto read = handle.ReadFile("weights.bin");
    REQUIRE(read.ok());
    CHECK(*read == f.weights);

    REQUIRE(handle.Download(f.dir.path() / "out").ok());
    CHECK(ReadAll(f.dir.path() / "out" / "weights.bin") == f.weights);

    auto reader = handle.OpenFile("weights.bin");
    REQUIRE(reader.ok());
    Status error;
    CHECK(ReadStream(*reader, &error) == f.weights);
    CHECK(error.ok());
  }
  SECTION("a local chunk is read from blobs/, not from the source") {
    // Put every chunk back: the source must not be asked at all.
    runtrack::StoreLayout layout(f.root);
    for (const auto& [hex, bytes] : f.source->chunks_) {
      std::ofstream(layout.blobs_dir() / hex.substr(0, 2) / hex, std::ios::binary) << bytes;
    }
    auto read = f.Handle().ReadingMissingChunksFrom(f.source).ReadFile("weights.bin");
    REQUIRE(read.ok());
    CHECK(*read == f.weights);
    CHECK(f.source->reads_ == 0);
  }
  SECTION("a source's wrong bytes are Corruption and never handed out") {
    auto& [hex, bytes] = *f.source->chunks_.begin();
    const std::string bad_hex = hex;
    bytes[10] = static_cast<char>(bytes[10] ^ 0x5a);
    auto handle = f.Handle().ReadingMissingChunksFrom(f.source);
    auto read = handle.ReadFile("weights.bin");
    REQUIRE_FALSE(read.ok());
    CHECK(read.status().code() == StatusCode::kCorruption);
    CHECK(read.status().message() == "chunk " + bad_hex + " of file 'weights.bin' does not match its digest");
    CHECK_FALSE(handle.Download(f.dir.path() / "out").ok());
    CHECK_FALSE(fs::exists(f.dir.path() / "out" / "weights.bin"));
    // Streamed: what comes out before the error is a prefix of the file.
    auto reader = handle.OpenFile("weights.bin");
    std::string got;
    Status error = reader.ok() ? Status::Ok() : reader.status();
    if (reader.ok()) got = ReadStream(*reader, &error);
    CHECK(error.code() == StatusCode::kCorruption);
    CHECK(got.size() < f.weights.size());
    CHECK(f.weights.compare(0, got.size(), got) == 0);
  }
  SECTION("a source's chunk of the wrong size is Corruption naming the source") {
    auto& [hex, bytes] = *f.source->chunks_.begin();
    const std::string bad_hex = hex;
    bytes += "x";
    auto read = f.Handle().ReadingMissingChunksFrom(f.source).ReadFile("weights.bin");
    REQUIRE_FALSE(read.ok());
    CHECK(read.status().code() == StatusCode::kCorruption);
    CHECK(read.status().message() == "chunk " + bad_hex + " of file 'weights.bin' has the wrong size in memory://pool");
  }
  SECTION("a chunk the source lacks too is NotFound naming both places") {
    const std::string gone = f.source->chunks_.begin()->first;
    f.source->chunks_.erase(gone);
    auto read = f.Handle().ReadingMissingChunksFrom(f.source).ReadFile("weights.bin");
    REQUIRE_FALSE(read.ok());
    CHECK(read.status().code() == StatusCode::kNotFound);
    CHECK(read.status().message() == "chunk " + gone +
                                         " of file 'weights.bin' is not in blobs/, and reading it from memory://pool "
                                         "failed: no such chunk");
  }
  SECTION("with a source, OpenFile reports a bad first chunk itself") {
    // Every chunk bad: whichever is first in the file, OpenFile fails before any byte is read.
    for (auto& [hex, bytes] : f.source->chunks_) bytes[0] = static_cast<char>(bytes[0] ^ 1);
    auto reader = f.Handle().ReadingMissingChunksFrom(f.source).OpenFile("weights.bin");
    REQUIRE_FALSE(reader.ok());
    CHECK(reader.status().code() == StatusCode::kCorruption);
  }
}
