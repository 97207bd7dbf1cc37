// ChunkStore: a chunk repeated within one Log is written once, also while its first copy is
// still in flight; a chunk already stored is only touched.
#include <catch2/catch.hpp>

#include <set>

#include "artifact_test_util.h"
#include "artifacts/chunk_ingest.h"
#include "artifacts/chunk_store.h"
#include "artifacts/fastcdc.h"
#include "artifacts/layout.h"
#include "artifacts/sha256.h"

using namespace artifact_test;
namespace art = runtrack::artifacts;

namespace {

// Every regular file under the blob directory, by file name.
std::multiset<std::string> BlobFiles(const art::Layout& layout) {
  std::multiset<std::string> out;
  if (!fs::exists(layout.blobs_dir())) return out;
  for (const auto& e : fs::recursive_directory_iterator(layout.blobs_dir())) {
    if (e.is_regular_file()) out.insert(e.path().filename().string());
  }
  return out;
}

}  // namespace

TEST_CASE("a chunk staged twice by one store is written once") {
  ScratchDir dir;
  art::Layout layout(dir / "store");
  art::ChunkStore chunks(layout, true);
  std::string a = RandomBytes(4096, 4);
  std::string ha = art::Sha256Hex(a);
  auto first = chunks.Stage(ha, a.data(), a.size());
  REQUIRE(first.ok());
  REQUIRE(first->has_value());
  // Not yet published: the chunk's name does not exist, and still it is not written again.
  auto second = chunks.Stage(ha, a.data(), a.size());
  REQUIRE(second.ok());
  CHECK_FALSE(second->has_value());
  CHECK(BlobFiles(layout).size() == 1);
  REQUIRE(chunks.Publish(**first).ok());
  CHECK(BlobFiles(layout) == std::multiset<std::string>{ha});
  CHECK(ReadFile(layout.blob_path(ha)) == a);
}

TEST_CASE("a chunk already stored is touched, not written") {
  ScratchDir dir;
  art::Layout layout(dir / "store");
  std::string a = RandomBytes(5000, 5);
  std::string ha = art::Sha256Hex(a);
  {
    art::ChunkStore chunks(layout, false);
    auto staged = chunks.Stage(ha, a.data(), a.size());
    REQUIRE(staged.ok());
    REQUIRE(chunks.Publish(staged->value()).ok());
  }
  fs::path blob = layout.blob_path(ha);
  fs::last_write_time(blob, fs::last_write_time(blob) - std::chrono::hours(2));
  auto old_time = fs::last_write_time(blob);
  art::ChunkStore later(layout, false);
  auto again = later.Stage(ha, a.data(), a.size());
  REQUIRE(again.ok());
  CHECK_FALSE(again->has_value());
  CHECK(fs::last_write_time(blob) > old_time);
  CHECK(BlobFiles(layout) == std::multiset<std::string>{ha});
}

TEST_CASE("a file of repeated content stores each distinct chunk once, with sync") {
  ScratchDir dir;
  art::Layout layout(dir / "store");
  // 24 MiB of zeros: the gear hash of a constant byte never matches, so every chunk is a full
  // 2 MiB one and all twelve are identical, spread over 16 MiB read segments and parallel workers.
  WriteFile(dir / "zeros.bin", std::string(24u << 20, '\0'));
  art::FastCdc cdc({64 << 10, 256 << 10, 2 << 20});
  art::ChunkStore chunks(layout, true);
  art::FileRecord record;
  art::IngestStats stats;
  REQUIRE(art::IngestFile(dir / "zeros.bin", cdc, chunks, &record, nullptr, &stats).ok());
  std::set<std::string> distinct;
  for (const auto& c : record.chunks) distinct.insert(c.sha256);
  CHECK(record.chunks.size() == 12);
  CHECK(distinct.size() == 1);
  CHECK(stats.new_chunks == 1);
  CHECK(stats.bytes_written == 2u << 20);
  CHECK(BlobFiles(layout) == std::multiset<std::string>{*distinct.begin()});
}
