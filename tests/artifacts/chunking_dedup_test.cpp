#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <cstring>
#include <cstdio>
#include <set>

#include "artifact_test_util.h"
#include "artifacts/fastcdc.h"
#include "artifacts/manifest.h"

using namespace artifact_test;
using runtrack::ArtifactType;

namespace {

std::vector<size_t> Cut(const runtrack::artifacts::FastCdc& cdc, const std::string& data) {
  std::vector<size_t> sizes;
  const auto* p = reinterpret_cast<const uint8_t*>(data.data());
  size_t pos = 0;
  while (pos < data.size()) {
    size_t n = cdc.FindCut(p + pos, data.size() - pos);
    sizes.push_back(n);
    pos += n;
  }
  return sizes;
}

std::vector<std::string> ChunksOf(const fs::path& root, const std::string& type, const std::string& name, int v) {
  auto m = runtrack::artifacts::ParseManifest(
      ReadFile(root / "artifacts" / type / name / ("v" + std::to_string(v)) / "manifest.json"));
  REQUIRE(m.ok());
  std::vector<std::string> out;
  for (const auto& f : m->files)
    for (const auto& c : f.chunks) out.push_back(c.sha256);
  return out;
}

}  // namespace

TEST_CASE("fastcdc cuts within min and max and is deterministic") {
  runtrack::ChunkingOptions o;
  runtrack::artifacts::FastCdc cdc(o);
  std::string data = RandomBytes(48u << 20, 42);
  auto a = Cut(cdc, data);
  auto b = Cut(cdc, data);
  CHECK(a == b);
  for (size_t i = 0; i + 1 < a.size(); ++i) {
    CHECK(a[i] >= o.min_size);
    CHECK(a[i] <= o.max_size);
  }
  double mean = static_cast<double>(data.size()) / static_cast<double>(a.size());
  std::printf("fastcdc: %zu chunks over 48 MiB, mean %.0f KiB\n", a.size(), mean / 1024);
  CHECK(mean > 0.75 * o.avg_size);
  CHECK(mean < 1.5 * o.avg_size);
}

namespace {

// Xorshift bytes that do not depend on the test helpers, so the golden cuts below stay put.
std::string XorshiftBytes(size_t n, uint64_t x) {
  std::string d(n, '\0');
  for (size_t i = 0; i + 8 <= n; i += 8) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    std::memcpy(&d[i], &x, 8);
  }
  return d;
}

// FNV-1a over the chunk lengths.
uint64_t Fingerprint(const std::vector<size_t>& sizes) {
  uint64_t h = 1469598103934665603ULL;
  for (size_t n : sizes) h = (h ^ n) * 1099511628211ULL;
  return h;
}

// The gear hash one byte at a time, as the FastCDC paper writes it: what FindCut's unrolled loop
// must equal bit for bit.
size_t ReferenceCut(const uint8_t* data, size_t n, const runtrack::ChunkingOptions& o, int avg_bits) {
  static const std::array<uint64_t, 256> gear = [] {
    std::array<uint64_t, 256> table{};
    uint64_t state = 0x52554e5452414b31ULL;
    for (auto& entry : table) {
      state += 0x9e3779b97f4a7c15ULL;
      uint64_t z = state;
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
      entry = z ^ (z >> 31);
    }
    return table;
  }();
  const uint64_t mask_small = ~uint64_t{0} << (64 - (avg_bits + 2));
  const uint64_t mask_large = ~uint64_t{0} << (64 - (avg_bits - 2));
  if (n <= o.min_size) return n;
  const size_t end = std::min<size_t>(n, o.max_size);
  const size_t normal = std::min<size_t>(end, o.avg_size);
  uint64_t fp = 0;
  size_t i = o.min_size;
  for (; i < normal; ++i) {
    fp = (fp << 1) + gear[data[i]];
    if ((fp & mask_small) == 0) return i + 1;
  }
  for (; i < end; ++i) {
    fp = (fp << 1) + gear[data[i]];
    if ((fp & mask_large) == 0) return i + 1;
  }
  return end;
}

}  // namespace

TEST_CASE("fastcdc cuts exactly where the byte-at-a-time gear hash does") {
  // Small sizes cut often, so every position of the four-byte rounds and both masks get hit;
  // lengths that are not multiples of four exercise the tail loop.
  const runtrack::ChunkingOptions options[] = {{64, 256, 1024}, {100, 300, 777}, {64 << 10, 256 << 10, 2 << 20}};
  const int avg_bits[] = {8, 8, 18};  // log2(avg) rounded to the nearest
  for (size_t k = 0; k < 3; ++k) {
    runtrack::artifacts::FastCdc cdc(options[k]);
    for (uint64_t seed = 1; seed <= 4; ++seed) {
      std::string data = XorshiftBytes((k == 2 ? 8u << 20 : 1u << 20) + seed * 3, seed);
      const auto* p = reinterpret_cast<const uint8_t*>(data.data());
      size_t pos = 0, cuts = 0;
      while (pos < data.size()) {
        size_t n = cdc.FindCut(p + pos, data.size() - pos);
        REQUIRE(n == ReferenceCut(p + pos, data.size() - pos, options[k], avg_bits[k]));
        pos += n;
        ++cuts;
      }
      CHECK(cuts > 1);
    }
  }
}

TEST_CASE("fastcdc cut points are frozen (the on-disk contract)") {
  // Recorded from the original byte-at-a-time implementation: if these change, new versions stop
  // sharing chunks with everything already stored.
  std::string data = XorshiftBytes(8u << 20, 42);
  auto defaults = Cut(runtrack::artifacts::FastCdc({64 << 10, 256 << 10, 2 << 20}), data);
  REQUIRE(defaults.size() == 29);
  CHECK(std::vector<size_t>(defaults.begin(), defaults.begin() + 6) ==
        std::vector<size_t>{267322, 304545, 278181, 286023, 279268, 309945});
  CHECK(Fingerprint(defaults) == 12071893080616140921ULL);
  auto tiny = Cut(runtrack::artifacts::FastCdc({64, 256, 1024}), data);
  REQUIRE(tiny.size() == 28642);
  CHECK(std::vector<size_t>(tiny.begin(), tiny.begin() + 6) == std::vector<size_t>{281, 113, 423, 726, 369, 343});
  CHECK(Fingerprint(tiny) == 16707868724484644247ULL);
}

TEST_CASE("fastcdc rejects inconsistent sizes") {
  CHECK_FALSE(runtrack::artifacts::FastCdc::Validate({1024, 1024, 4096}).ok());
  CHECK_FALSE(runtrack::artifacts::FastCdc::Validate({32, 1024, 4096}).ok());
  CHECK_FALSE(runtrack::artifacts::FastCdc::Validate({1024, 8192, 4096}).ok());
  CHECK(runtrack::artifacts::FastCdc::Validate({512 * 1024, 1 << 20, 8 << 20}).ok());
  ScratchDir dir;
  auto s = runtrack::ArtifactStore::Open(dir / "store", {runtrack::ChunkingOptions{4096, 1024, 8192}, false});
  CHECK(s.status().code() == runtrack::StatusCode::kInvalidArgument);
}

TEST_CASE("one byte inserted near the start still shares at least 90% of the chunks") {
  ScratchDir dir;
  auto store = OpenStore(dir / "store");
  std::string original = RandomBytes(64u << 20, 9);
  std::string edited = original;
  edited.insert(edited.begin() + 1000, 'X');
  LogText(store, dir.path(), "blob", ArtifactType::kModel, original);
  LogText(store, dir.path(), "blob", ArtifactType::kModel, edited);
  auto v1 = ChunksOf(dir / "store", "model", "blob", 1);
  auto v2 = ChunksOf(dir / "store", "model", "blob", 2);
  std::set<std::string> old(v1.begin(), v1.end());
  size_t shared = std::count_if(v2.begin(), v2.end(), [&](const auto& c) { return old.count(c) != 0; });
  double fraction = static_cast<double>(shared) / static_cast<double>(v2.size());
  std::printf("insertion: %zu of %zu chunks shared (%.1f%%)\n", shared, v2.size(), 100 * fraction);
  CHECK(fraction >= 0.90);
  auto h = store.Use("blob:v2", "");
  REQUIRE(h.ok());
  auto back = h->ReadFile("data.bin");
  REQUIRE(back.ok());
  CHECK(*back == edited);
}

TEST_CASE("ten checkpoints with 80% frozen tensors store at most 1.3x their unique bytes") {
  ScratchDir dir;
  auto store = OpenStore(dir / "store");
  // A ~64 MiB "model": tensors of mixed sizes at fixed offsets, like a state_dict on disk.
  const std::vector<size_t> pattern = {4u << 20, 512u << 10, 2u << 20, 1u << 20, 6u << 20, 256u << 10, 3u << 20};
  std::vector<size_t> tensors;
  size_t total = 0;
  for (size_t i = 0; total < (64u << 20); ++i) {
    size_t t = std::min(pattern[i % pattern.size()], (64u << 20) - total);
    tensors.push_back(t);
    total += t;
  }
  std::vector<uint64_t> seeds(tensors.size());
  for (size_t i = 0; i < seeds.size(); ++i) seeds[i] = 100 + i;

  uint64_t unique_bytes = total;
  uint64_t next_seed = 100000;
  for (int version = 1; version <= 10; ++version) {
    if (version > 1) {
      // Re-train ~20% of the bytes: a different random subset of tensors each time.
      std::vector<size_t> order(tensors.size());
      for (size_t i = 0; i < order.size(); ++i) order[i] = i;
      std::string shuffle = RandomBytes(order.size() * 8, 777 + version);
      for (size_t i = order.size() - 1; i > 0; --i) {
        uint64_t r;
        std::memcpy(&r, &shuffle[i * 8], 8);
        std::swap(order[i], order[r % (i + 1)]);
      }
      uint64_t changed = 0;
      for (size_t idx : order) {
        if (changed + tensors[idx] > total / 5) continue;
        seeds[idx] = next_seed++;
        changed += tensors[idx];
      }
      unique_bytes += changed;
    }
    std::string model;
    model.reserve(total);
    for (size_t i = 0; i < tensors.size(); ++i) model += RandomBytes(tensors[i], seeds[i]);
    WriteFile(dir / "model.pth", model);
    auto a = MakeArtifact("resnet", ArtifactType::kModel);
    REQUIRE(a.AddFile(dir / "model.pth").ok());
    auto v = store.Log(a, kRunA);
    REQUIRE(v.ok());
    CHECK(*v == version);
  }
  auto stats = store.Stats();
  REQUIRE(stats.ok());
  double ratio = static_cast<double>(stats->stored_bytes) / static_cast<double>(unique_bytes);
  std::printf("dedup: logical %.1f MiB, unique %.1f MiB, stored %.1f MiB -> stored/unique %.3f, "
              "space saved %.1f%% (dedup_ratio %.3f)\n",
              stats->total_size_bytes / 1048576.0, unique_bytes / 1048576.0, stats->stored_bytes / 1048576.0, ratio,
              100.0 * stats->space_saved_bytes / stats->total_size_bytes, stats->dedup_ratio);
  CHECK(stats->total_size_bytes == 10ull * total);
  CHECK(ratio <= 1.3);
  CHECK(stats->dedup_ratio >= 0.65);
  CHECK(stats->blob_pool_bytes == stats->stored_bytes);
}
