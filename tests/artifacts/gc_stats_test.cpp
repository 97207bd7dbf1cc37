#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>

#include <chrono>

#include "artifact_test_util.h"

using namespace artifact_test;
using runtrack::ArtifactType;
using runtrack::DeleteMode;

namespace {
// Pretends a file was last written `seconds` ago.
void Age(const fs::path& p, int seconds) {
  struct timespec times[2];
  clock_gettime(CLOCK_REALTIME, &times[0]);
  times[0].tv_sec -= seconds;
  times[1] = times[0];
  REQUIRE(::utimensat(AT_FDCWD, p.c_str(), times, 0) == 0);
}
void AgeAllBlobs(const fs::path& root, int seconds) {
  for (auto& e : fs::recursive_directory_iterator(root / "blobs"))
    if (e.is_regular_file()) Age(e.path(), seconds);
}
}  // namespace

TEST_CASE("gc frees exactly the unreferenced old chunks and keeps fresh ones") {
  ScratchDir dir;
  auto store = OpenStore(dir / "store", {runtrack::ChunkingOptions{64 * 1024, 128 * 1024, 512 * 1024}, false});
  std::string shared = RandomBytes(2 << 20, 1);
  std::string only_v1 = RandomBytes(1 << 20, 2);
  LogText(store, dir.path(), "m", ArtifactType::kModel, shared + only_v1);
  LogText(store, dir.path(), "m", ArtifactType::kModel, shared);
  auto before = store.Stats();
  REQUIRE(before.ok());
  const uint64_t pool = before->blob_pool_bytes;
  auto v2 = store.Stats()->stored_bytes;
  REQUIRE(store.Delete("m", 1, DeleteMode::kPermanent).ok());
  auto after_delete = store.Stats();
  const uint64_t unreferenced = pool - after_delete->stored_bytes;
  CHECK(unreferenced > 0);
  CHECK(after_delete->stored_bytes <= v2);

  // Fresh chunks survive a GC with a grace period, even unreferenced ones.
  auto fresh = store.Gc(std::chrono::seconds(3600));
  REQUIRE(fresh.ok());
  CHECK(fresh->bytes_freed == 0);
  CHECK(fresh->chunks_in_grace > 0);

  // An orphan written "just now" by a writer still publishing must survive an old-chunk sweep.
  AgeAllBlobs(dir / "store", 7200);
  WriteFile(dir / "store/blobs/ab" / std::string(64, 'a').replace(0, 2, "ab"), "in-flight chunk");
  auto swept = store.Gc(std::chrono::seconds(3600));
  REQUIRE(swept.ok());
  CHECK(swept->bytes_freed == unreferenced);
  CHECK(swept->chunks_in_grace == 1);
  CHECK(store.Stats()->blob_pool_bytes == after_delete->stored_bytes + 15);
  auto h = store.Use("m", "");
  REQUIRE(h.ok());
  CHECK(*h->ReadFile("data.bin") == shared);
}

TEST_CASE("gc keeps chunks of soft-deleted versions") {
  ScratchDir dir;
  auto store = OpenStore(dir / "store");
  LogText(store, dir.path(), "m", ArtifactType::kModel, RandomBytes(100000, 3));
  REQUIRE(store.Delete("m", 1).ok());
  auto gc = store.Gc(std::chrono::seconds(0));
  REQUIRE(gc.ok());
  CHECK(gc->bytes_freed == 0);
  CHECK(gc->chunks_kept == 1);
  REQUIRE(store.Restore("m", 1).ok());
  CHECK(store.Use("m", "")->ReadFile("data.bin")->size() == 100000);
}

TEST_CASE("stats report logical, stored and saved bytes by type") {
  ScratchDir dir;
  auto store = OpenStore(dir / "store");
  std::string body = RandomBytes(300000, 4);
  LogText(store, dir.path(), "m", ArtifactType::kModel, body);
  LogText(store, dir.path(), "m", ArtifactType::kModel, body);           // identical: fully deduplicated
  LogText(store, dir.path(), "d", ArtifactType::kDataset, RandomBytes(1000, 5));
  LogText(store, dir.path(), "d", ArtifactType::kDataset, RandomBytes(1000, 6));
  REQUIRE(store.Delete("d", 2).ok());  // soft-deleted versions still hold storage
  auto s = store.Stats();
  REQUIRE(s.ok());
  CHECK(s->total_artifacts == 2);
  CHECK(s->total_versions == 4);
  CHECK(s->deleted_versions == 1);
  CHECK(s->total_files == 4);
  CHECK(s->total_size_bytes == 602000);
  CHECK(s->stored_bytes == 302000);
  CHECK(s->space_saved_bytes == 300000);
  CHECK(s->dedup_ratio == Approx(300000.0 / 602000.0));
  CHECK(s->blob_pool_bytes == 302000);
  REQUIRE(s->by_type.size() == 2);
  CHECK(s->by_type.at("model").count == 1);
  CHECK(s->by_type.at("model").versions == 2);
  CHECK(s->by_type.at("model").size_bytes == 600000);
  CHECK(s->by_type.at("dataset").versions == 2);
  CHECK(s->by_type.at("dataset").size_bytes == 2000);

  ScratchDir empty;
  auto e = OpenStore(empty / "store").Stats();
  REQUIRE(e.ok());
  CHECK(e->total_size_bytes == 0);
  CHECK(e->dedup_ratio == 0.0);
}

TEST_CASE("gc reports progress once per blob fan-out directory") {
  ScratchDir dir;
  auto store = OpenStore(dir / "store", {runtrack::ChunkingOptions{64 * 1024, 128 * 1024, 512 * 1024}, false});
  LogText(store, dir.path(), "m", ArtifactType::kModel, RandomBytes(4 << 20, 5));
  size_t fanout_dirs = 0;
  for (auto& e : fs::directory_iterator(dir / "store/blobs")) fanout_dirs += e.is_directory() ? 1 : 0;
  REQUIRE(fanout_dirs > 1);
  std::vector<std::pair<uint64_t, uint64_t>> calls;
  auto report = store.Gc(std::chrono::seconds(0), [&](uint64_t done, uint64_t total) { calls.emplace_back(done, total); });
  REQUIRE(report.ok());
  CHECK(report->bytes_freed == 0);
  REQUIRE(calls.size() == fanout_dirs + 1);
  for (size_t i = 0; i < calls.size(); ++i) CHECK(calls[i] == std::make_pair(uint64_t{i}, uint64_t{fanout_dirs}));

  // An empty store: one call, 0 of 0.
  auto empty = OpenStore(dir / "empty");
  calls.clear();
  REQUIRE(empty.Gc(std::chrono::seconds(0), [&](uint64_t d, uint64_t t) { calls.emplace_back(d, t); }).ok());
  CHECK(calls == std::vector<std::pair<uint64_t, uint64_t>>{{0, 0}});
}
