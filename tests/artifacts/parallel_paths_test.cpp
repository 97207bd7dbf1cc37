// The multi-threaded paths: the pipelined ingest must cut and name chunks exactly as one
// sequential FastCDC pass over the whole file does (segment boundaries and carried tails must not
// show), and the parallel assembly must report the earliest bad chunk and progress in order.
#include <catch2/catch.hpp>

#include <set>

#include "artifact_test_util.h"
#include "artifacts/chunk_ingest.h"
#include "artifacts/fastcdc.h"
#include "artifacts/layout.h"
#include "artifacts/sha256.h"

using namespace artifact_test;
using runtrack::ArtifactType;
using runtrack::StatusCode;
namespace art = runtrack::artifacts;

namespace {

// The reference: cut the whole buffer in one pass, name every chunk.
std::vector<art::ChunkRef> ReferenceCuts(const std::string& data, const art::FastCdc& cdc) {
  std::vector<art::ChunkRef> out;
  const auto* p = reinterpret_cast<const uint8_t*>(data.data());
  size_t pos = 0;
  while (pos < data.size()) {
    size_t n = cdc.FindCut(p + pos, data.size() - pos);
    out.push_back({art::ToHex(art::Sha256Of(p + pos, n)), n});
    pos += n;
  }
  return out;
}

}  // namespace

TEST_CASE("pipelined ingest cuts exactly like one sequential pass, across segment boundaries") {
  ScratchDir dir;
  art::Layout layout(dir / "store");
  art::ChunkStore chunks(layout, false);
  // Sizes around the 16 MiB read segment and its multiples, where tails are carried over.
  const std::vector<size_t> sizes = {(4u << 20) - 1, 16u << 20, (16u << 20) + 1, (32u << 20) + 777, 50u << 20};
  const runtrack::ChunkingOptions options[] = {{64 << 10, 256 << 10, 2 << 20}, {4 << 10, 16 << 10, 64 << 10}};
  for (const auto& o : options) {
    art::FastCdc cdc(o);
    for (size_t i = 0; i < sizes.size(); ++i) {
      CAPTURE(o.avg_size, sizes[i]);
      std::string data = RandomBytes(sizes[i], 40 + i);
      WriteFile(dir / "src.bin", data);
      art::FileRecord record;
      std::set<fs::path> dirty;
      art::IngestStats stats;
      REQUIRE(art::IngestFile(dir / "src.bin", cdc, chunks, &record, &dirty, &stats).ok());
      auto expected = ReferenceCuts(data, cdc);
      REQUIRE(record.chunks.size() == expected.size());
      for (size_t k = 0; k < expected.size(); ++k) {
        CHECK(record.chunks[k].size == expected[k].size);
        CHECK(record.chunks[k].sha256 == expected[k].sha256);
      }
      CHECK(record.size == data.size());
      CHECK(record.digest == "sha256:" + art::Sha256Hex(data));
      CHECK(stats.bytes_read == data.size());
      CHECK(stats.chunks == expected.size());
      // Every stored chunk holds exactly its bytes.
      CHECK(ReadFile(layout.blob_path(expected.back().sha256)) ==
            data.substr(data.size() - expected.back().size));
    }
  }
}

TEST_CASE("a second ingest of the same bytes writes nothing new") {
  ScratchDir dir;
  art::Layout layout(dir / "store");
  art::ChunkStore chunks(layout, false);
  art::FastCdc cdc({64 << 10, 256 << 10, 2 << 20});
  WriteFile(dir / "src.bin", RandomBytes(20u << 20, 9));
  art::FileRecord first, second;
  std::set<fs::path> dirty_first, dirty_second;
  art::IngestStats s1, s2;
  REQUIRE(art::IngestFile(dir / "src.bin", cdc, chunks, &first, &dirty_first, &s1).ok());
  REQUIRE(art::IngestFile(dir / "src.bin", cdc, chunks, &second, &dirty_second, &s2).ok());
  CHECK(s1.new_chunks == s1.chunks);
  CHECK(s1.bytes_written == 20u << 20);
  CHECK_FALSE(dirty_first.empty());
  CHECK(s2.new_chunks == 0);
  CHECK(s2.bytes_written == 0);
  CHECK(dirty_second.empty());
  CHECK(second.digest == first.digest);
}

TEST_CASE("ingesting a file that is not there or not a file fails cleanly") {
  ScratchDir dir;
  art::Layout layout(dir / "store");
  art::ChunkStore chunks(layout, false);
  art::FastCdc cdc({64 << 10, 256 << 10, 2 << 20});
  art::FileRecord record;
  auto missing = art::IngestFile(dir / "nope.bin", cdc, chunks, &record, nullptr, nullptr);
  CHECK(missing.code() == StatusCode::kNotFound);
  CHECK_THAT(missing.message(), Catch::Contains("nope.bin"));
  fs::create_directories(dir / "a_dir");
  auto not_file = art::IngestFile(dir / "a_dir", cdc, chunks, &record, nullptr, nullptr);
  CHECK(not_file.code() == StatusCode::kInvalidArgument);
  CHECK_THAT(not_file.message(), Catch::Contains("is not a regular file"));
}

TEST_CASE("parallel download names the earliest corrupted chunk of a large file and publishes nothing") {
  ScratchDir dir;
  auto store = OpenStore(dir / "store");
  std::string content = RandomBytes(24u << 20, 11);
  LogText(store, dir.path(), "big", ArtifactType::kModel, content);
  auto h = store.Use("big", "");
  REQUIRE(h.ok());
  auto files = store.ListFiles("big", 1);
  REQUIRE(files.ok());

  // Corrupt two chunks, one early and one late: whichever thread finds its error first, the
  // report names the earlier chunk.
  art::Layout layout(dir / "store");
  art::FastCdc cdc({64 << 10, 256 << 10, 2 << 20});
  auto cuts = ReferenceCuts(content, cdc);
  REQUIRE(cuts.size() > 20);
  for (size_t k : {size_t{3}, cuts.size() - 2}) {
    fs::path blob = layout.blob_path(cuts[k].sha256);
    std::string bytes = ReadFile(blob);
    bytes[bytes.size() / 3] ^= 0x01;
    WriteFile(blob, bytes);
  }
  for (int attempt = 0; attempt < 3; ++attempt) {
    runtrack::Status s = h->Download(dir / "out");
    REQUIRE(s.code() == StatusCode::kCorruption);
    CHECK(s.message() == "chunk " + cuts[3].sha256 + " of file 'data.bin' does not match its digest");
    CHECK(CountFiles(dir / "out") == 0);
    auto read = h->ReadFile("data.bin");
    CHECK(read.status().message() == s.message());
  }
}

TEST_CASE("download progress starts at zero, grows, and ends at the total") {
  ScratchDir dir;
  auto store = OpenStore(dir / "store");
  auto a = MakeArtifact("set", ArtifactType::kDataset);
  const std::vector<size_t> sizes = {10u << 20, 0, 3u << 20, (9u << 20) + 5};
  uint64_t total = 0;
  for (size_t i = 0; i < sizes.size(); ++i) {
    WriteFile(dir / ("in/f" + std::to_string(i)), RandomBytes(sizes[i], 60 + i));
    REQUIRE(a.AddFile(dir / ("in/f" + std::to_string(i))).ok());
    total += sizes[i];
  }
  REQUIRE(store.Log(a, "").ok());
  auto h = store.Use("set", "");
  REQUIRE(h.ok());
  std::vector<std::pair<uint64_t, uint64_t>> calls;
  REQUIRE(h->Download(dir / "out", [&](uint64_t done, uint64_t of) { calls.emplace_back(done, of); }).ok());
  REQUIRE(calls.size() >= 3);  // start, at least one step in 22 MiB, end
  CHECK(calls.front() == std::make_pair(uint64_t{0}, total));
  CHECK(calls.back() == std::make_pair(total, total));
  for (size_t i = 1; i < calls.size(); ++i) {
    CHECK(calls[i].second == total);
    CHECK(calls[i].first > calls[i - 1].first);  // strictly growing: no repeated redraws
  }
  for (size_t i = 1; i + 1 < calls.size(); ++i) CHECK(calls[i].first - calls[i - 1].first >= (4u << 20));

  // An empty version reports 0 of 0, once.
  auto empty = MakeArtifact("empty", ArtifactType::kDataset);
  WriteFile(dir / "in/empty", "");
  REQUIRE(empty.AddFile(dir / "in/empty").ok());
  REQUIRE(store.Log(empty, "").ok());
  calls.clear();
  REQUIRE(store.Use("empty", "")->Download(dir / "out2", [&](uint64_t d, uint64_t t) { calls.emplace_back(d, t); }).ok());
  CHECK(calls == std::vector<std::pair<uint64_t, uint64_t>>{{0, 0}});
}
