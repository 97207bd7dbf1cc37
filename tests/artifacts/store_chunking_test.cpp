// A store keeps the chunking it was created with (lib/artifacts/store_chunking.h).
#include <catch2/catch.hpp>

#include <thread>
#include <vector>

#include "artifact_test_util.h"
#include "artifacts/manifest.h"

using namespace artifact_test;
using runtrack::ArtifactStore;
using runtrack::ArtifactStoreOptions;
using runtrack::ArtifactType;
using runtrack::ChunkingOptions;
using runtrack::StatusCode;

namespace {

const ChunkingOptions kSmall{1024, 4096, 16384};
const char* kSmallRecord = R"({"algorithm":"fastcdc-gear64-nc2","min_size":1024,"avg_size":4096,"max_size":16384})"
                           "\n";
const char* kDefaultRecord =
    R"({"algorithm":"fastcdc-gear64-nc2","min_size":65536,"avg_size":262144,"max_size":2097152})"
    "\n";

ArtifactStoreOptions With(std::optional<ChunkingOptions> chunking) { return {chunking, false}; }

}  // namespace

TEST_CASE("a new store records its chunking and later opens cut with it") {
  ScratchDir dir;
  const fs::path root = dir / "store";
  REQUIRE(ArtifactStore::Open(root, With(kSmall)).ok());
  CHECK(ReadFile(root / "artifacts" / "chunking.json") == kSmallRecord);

  auto reopened = ArtifactStore::Open(root, With(std::nullopt));
  REQUIRE(reopened.ok());
  REQUIRE(reopened->options().chunking.has_value());
  CHECK(*reopened->options().chunking == kSmall);

  LogText(*reopened, dir.path(), "weights", ArtifactType::kModel, RandomBytes(256 << 10, 5));
  auto m = runtrack::artifacts::ParseManifest(ReadFile(root / "artifacts/model/weights/v1/manifest.json"));
  REQUIRE(m.ok());
  CHECK(m->chunking == kSmall);
  REQUIRE(m->files.size() == 1);
  CHECK(m->files[0].chunks.size() >= 16);  // 256 KiB in chunks of at most 16 KiB; the defaults would cut one
}

TEST_CASE("opening a store with other chunking is refused and changes nothing") {
  ScratchDir dir;
  const fs::path root = dir / "store";
  REQUIRE(ArtifactStore::Open(root, With(std::nullopt)).ok());
  CHECK(ReadFile(root / "artifacts" / "chunking.json") == kDefaultRecord);

  auto refused = ArtifactStore::Open(root, With(kSmall));
  REQUIRE(refused.status().code() == StatusCode::kFailedPrecondition);
  CHECK(refused.status().message() ==
        "the artifact store at " + root.string() +
            " cuts files with chunking min 65536 / avg 262144 / max 2097152 (recorded when it was created); "
            "opening it with min 1024 / avg 4096 / max 16384 would stop new versions from sharing chunks with old "
            "ones. Open it without chunking options");
  CHECK(ReadFile(root / "artifacts" / "chunking.json") == kDefaultRecord);

  auto same = ArtifactStore::Open(root, With(ChunkingOptions{}));
  REQUIRE(same.ok());
  CHECK(*same->options().chunking == ChunkingOptions{});
}

TEST_CASE("invalid chunking options are rejected before anything is recorded") {
  ScratchDir dir;
  auto s = ArtifactStore::Open(dir / "store", With(ChunkingOptions{4096, 1024, 8192}));
  CHECK(s.status().code() == StatusCode::kInvalidArgument);
  CHECK_FALSE(fs::exists(dir / "store" / "artifacts" / "chunking.json"));
}

TEST_CASE("an unreadable chunking record is reported as corruption") {
  ScratchDir dir;
  const fs::path root = dir / "store";
  const fs::path record = root / "artifacts" / "chunking.json";
  fs::create_directories(record.parent_path());
  struct Case {
    std::string text, message;
  };
  const std::vector<Case> cases = {
      {"not json", record.string() + ": not a JSON object"},
      {R"({"min_size":1024,"avg_size":4096,"max_size":16384})", record.string() + ": no \"algorithm\""},
      {R"({"algorithm":"rabin","min_size":1024,"avg_size":4096,"max_size":16384})",
       record.string() +
           ": chunking algorithm \"rabin\" is not supported (this build cuts with \"fastcdc-gear64-nc2\")"},
      {R"({"algorithm":"fastcdc-gear64-nc2","min_size":-1,"avg_size":4096,"max_size":16384})",
       record.string() + ": min_size, avg_size and max_size must be non-negative integers"},
      {R"({"algorithm":"fastcdc-gear64-nc2","min_size":1024,"avg_size":"4096","max_size":16384})",
       record.string() + ": min_size, avg_size and max_size must be non-negative integers"},
      {R"({"algorithm":"fastcdc-gear64-nc2","min_size":8192,"avg_size":4096,"max_size":16384})",
       record.string() +
           ": chunking sizes must satisfy 64 <= min < avg < max <= 64 MiB, got min 8192, avg 4096, max 16384"},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    WriteFile(record, c.text);
    auto s = ArtifactStore::Open(root, With(std::nullopt));
    CHECK(s.status().code() == StatusCode::kCorruption);
    CHECK(s.status().message() == c.message);
    CHECK(ReadFile(record) == c.text);  // left for a person to look at, not overwritten
  }
}

TEST_CASE("concurrent first opens agree on one recorded chunking") {
  for (int round = 0; round < 5; ++round) {
    ScratchDir dir;
    const fs::path root = dir / "store";
    constexpr int kThreads = 8;
    std::vector<runtrack::Status> results(kThreads);
    std::vector<std::thread> threads;
    for (int i = 0; i < kThreads; ++i) {
      threads.emplace_back([&, i] {
        results[i] = ArtifactStore::Open(root, With(i % 2 ? kSmall : ChunkingOptions{})).status();
      });
    }
    for (auto& t : threads) t.join();
    const std::string record = ReadFile(root / "artifacts" / "chunking.json");
    REQUIRE((record == kSmallRecord || record == kDefaultRecord));
    const int winner = record == kSmallRecord ? 1 : 0;
    for (int i = 0; i < kThreads; ++i) {
      INFO("round " << round << " thread " << i);
      CHECK(results[i].code() == (i % 2 == winner ? StatusCode::kOk : StatusCode::kFailedPrecondition));
    }
    size_t temporaries = 0;
    for (const auto& e : fs::directory_iterator(root / "artifacts")) {
      if (e.path().filename().string().rfind(".tmp-", 0) == 0) ++temporaries;
    }
    CHECK(temporaries == 0);
  }
}
