// Lazily loaded LOD objects (OpenLodPyramid): the same answers as the in-memory pyramid for every
// range and target, only the blocks a query touches are read, a damaged block is rebuilt from the
// raw points, and format-1 objects are still read.
#include <catch2/catch.hpp>

#include <cstring>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "metrics/downsample.h"
#include "metrics/lod_pyramid.h"
#include "segment_test_util.h"
#include "segments/byte_io.h"
#include "segments/lod_blocks.h"
#include "segments/object_footer.h"
#include "util/crc32c.h"

using namespace runtrack;
using namespace runtrack::segments;
using runtrack::testing::AdversarialSeries;
using runtrack::testing::BitIdentical;
using runtrack::testing::Bits;
using runtrack::testing::FirstDifference;
using runtrack::testing::TrainingSeries;

namespace {

// A remote-like source: no View(), every byte goes through ReadAt and is counted.
class CountingSource final : public ByteSource {
 public:
  explicit CountingSource(std::string bytes) : bytes_(std::move(bytes)) {}
  uint64_t size() const override { return bytes_.size(); }
  Status ReadAt(uint64_t offset, uint64_t length, std::string* out) const override {
    if (offset > bytes_.size() || length > bytes_.size() - offset) return Status::InvalidArgument("out of range");
    bytes_read += length;
    ++reads;
    out->assign(bytes_, offset, length);
    return Status::Ok();
  }
  mutable uint64_t bytes_read = 0;
  mutable uint64_t reads = 0;

 private:
  std::string bytes_;
};

LodPyramid Build(const std::vector<MetricPoint>& pts, size_t batch = 1000) {
  LodPyramid pyr;
  for (size_t i = 0; i < pts.size(); i += batch) {
    pyr.Append(std::span<const MetricPoint>(pts).subspan(i, std::min(batch, pts.size() - i)));
  }
  return pyr;
}

RawPointReader FromMemory(const std::vector<MetricPoint>& pts) {
  return [&pts](uint64_t b, uint64_t e, std::vector<MetricPoint>* out) {
    if (e > pts.size()) return Status::InvalidArgument("past the end");
    out->assign(pts.begin() + static_cast<long>(b), pts.begin() + static_cast<long>(e));
    return Status::Ok();
  };
}

bool SameOrdinalPoint(const OrdinalPoint& a, const OrdinalPoint& b) {
  return a.ordinal == b.ordinal && BitIdentical(a.point, b.point);
}
bool SameBucket(const LodBucket& a, const LodBucket& b) {
  return a.count == b.count && a.nonfinite_count == b.nonfinite_count && Bits(a.sum) == Bits(b.sum) &&
         SameOrdinalPoint(a.first, b.first) && SameOrdinalPoint(a.last, b.last) && SameOrdinalPoint(a.min, b.min) &&
         SameOrdinalPoint(a.max, b.max) && SameOrdinalPoint(a.first_nonfinite, b.first_nonfinite);
}

// Steps 0, 0, 0, 1, 1, 1, ...: monotonic with repeats that straddle bucket and block borders.
std::vector<MetricPoint> RepeatedSteps(size_t n) {
  std::vector<MetricPoint> pts = TrainingSeries(n, 5);
  for (size_t i = 0; i < n; ++i) pts[i].step = static_cast<int64_t>(i / 3);
  pts[n / 2].value = std::numeric_limits<double>::quiet_NaN();
  pts[n / 3].value = -std::numeric_limits<double>::infinity();
  return pts;
}

LodPyramid OpenLazy(const std::string& bytes, const std::vector<MetricPoint>& pts,
                    std::shared_ptr<CountingSource>* source_out = nullptr) {
  auto source = std::make_shared<CountingSource>(bytes);
  if (source_out != nullptr) *source_out = source;
  auto lazy = OpenLodPyramid(source, FromMemory(pts));
  INFO(lazy.status().ToString());
  REQUIRE(lazy.ok());
  REQUIRE(lazy->lazy() == (lazy->count() > 0));
  return std::move(lazy).value();
}

void CheckSameAnswer(const LodPyramid& memory, const LodPyramid& lazy, const std::vector<MetricPoint>& pts,
                     const DownsampleOptions& o) {
  auto want = Downsample(memory, FromMemory(pts), o);
  auto got = Downsample(lazy, FromMemory(pts), o);
  REQUIRE(want.ok());
  REQUIRE(got.ok());
  CHECK(got->level_used == want->level_used);
  CHECK(got->points_in_range == want->points_in_range);
  CHECK(FirstDifference(got->points, want->points) == -1);
  REQUIRE(lazy.load_status().ok());
}

// The format-2 footer's offset of block `block` of `level` (layout in lod_blocks.h).
uint64_t BlockOffset(const std::string& bytes, size_t level, size_t block) {
  const auto footer_offset = LoadLE<uint64_t>(bytes.data() + bytes.size() - 32);
  const char* footer = bytes.data() + footer_offset;
  const auto levels = LoadLE<uint32_t>(footer + 20);
  const auto bb = LoadLE<uint32_t>(footer + 24);
  size_t index = 0;
  for (size_t k = 0; k < level; ++k) index += (LoadLE<uint32_t>(footer + 28 + 4 * k) + bb - 1) / bb;
  index += block;
  return LoadLE<uint64_t>(footer + 28 + 4 * levels + 12 * index);
}

}  // namespace

TEST_CASE("lazy LOD: every bucket and every step range match the in-memory pyramid", "[lod_lazy]") {
  for (int variant = 0; variant < 3; ++variant) {
    INFO("variant " << variant);
    const std::vector<MetricPoint> pts =
        variant == 0 ? TrainingSeries(300'000, 3) : variant == 1 ? RepeatedSteps(200'000) : AdversarialSeries(50'000, 9);
    const LodPyramid memory = Build(pts);
    LodEncodeOptions small_blocks;
    small_blocks.block_buckets = 16;  // many blocks, so ranges start and end inside and across them
    const LodPyramid lazy = OpenLazy(EncodeLodPyramid(memory, small_blocks), pts);
    REQUIRE(lazy.count() == memory.count());
    REQUIRE(lazy.steps_monotonic() == memory.steps_monotonic());
    REQUIRE(Bits(lazy.first_wall_time()) == Bits(memory.first_wall_time()));
    std::mt19937_64 rng(17);
    for (int q = 0; q < 400; ++q) {
      int64_t a = pts[rng() % pts.size()].step, b = pts[rng() % pts.size()].step;
      if (q % 7 == 0) b = a;
      const OrdinalRange want = memory.LocateStepRange(std::min(a, b), std::max(a, b));
      const OrdinalRange got = lazy.LocateStepRange(std::min(a, b), std::max(a, b));
      INFO("steps " << std::min(a, b) << ".." << std::max(a, b));
      REQUIRE(got.begin == want.begin);
      REQUIRE(got.end == want.end);
    }
    for (int64_t a : {std::numeric_limits<int64_t>::min(), pts.front().step - 1, pts.back().step + 1}) {
      const OrdinalRange want = memory.LocateStepRange(a, std::numeric_limits<int64_t>::max());
      const OrdinalRange got = lazy.LocateStepRange(a, std::numeric_limits<int64_t>::max());
      CHECK(got.begin == want.begin);
      CHECK(got.end == want.end);
    }
    // Also from a source that holds the object in memory (blocks are copied out of it).
    auto in_memory = OpenLodPyramid(std::make_shared<StringByteSource>(EncodeLodPyramid(memory, small_blocks)), nullptr);
    REQUIRE(in_memory.ok());
    for (const LodPyramid* p : std::initializer_list<const LodPyramid*>{&lazy, &in_memory.value()}) {
      REQUIRE(p->num_levels() == memory.num_levels());
      for (size_t k = 0; k < memory.num_levels(); ++k) {
        REQUIRE(p->level(k).size() == memory.level(k).size());
        for (size_t i = 0; i < memory.level(k).size(); ++i) {
          INFO("level " << k << " bucket " << i);
          REQUIRE(SameBucket(p->level(k)[i], memory.level(k)[i]));
        }
      }
      CHECK(p->rebuilt_blocks() == 0);
      CHECK(p->load_status().ok());
    }
  }
}

TEST_CASE("lazy LOD: downsampled answers equal the in-memory pyramid's for every range and target", "[lod_lazy]") {
  const std::vector<MetricPoint> pts = RepeatedSteps(1'200'000);  // 9375 level-0 buckets, 1172 level-1
  const LodPyramid memory = Build(pts, 4096);
  const std::string bytes = EncodeLodPyramid(memory);  // default blocks of 512 buckets
  const int64_t last = pts.back().step;
  struct Range {
    const char* name;
    std::optional<int64_t> lo, hi;
  };
  const int64_t block0 = 512 * 128 / 3;  // the step at level-0 block border 1
  const std::vector<Range> ranges = {
      {"whole series", std::nullopt, std::nullopt},
      {"narrow window at the start", 0, 700},
      {"narrow window at the end", last - 700, last},
      {"open-ended start", std::nullopt, 150'000},
      {"open-ended end", 250'000, std::nullopt},
      {"inside one block", 1000, 20'000},
      {"across one block border", block0 - 5000, block0 + 5000},
      {"across many block borders", 12'345, 387'654},
      {"one step", 77'777, 77'777},
      {"nothing", last + 1, last + 10},
  };
  for (const Range& r : ranges) {
    for (size_t target : {1ul, 2ul, 10ul, 100ul, 1000ul, 3000ul, 10'000ul}) {
      for (int method = 0; method < 3; ++method) {
        DownsampleOptions o;
        o.target_points = target;
        o.step_min = r.lo;
        o.step_max = r.hi;
        o.method = static_cast<DownsampleMethod>(method);
        o.x_axis = static_cast<XAxis>(target % 3);
        // A fresh lazy pyramid per query: each one is "the first chart after a restart".
        const LodPyramid lazy = OpenLazy(bytes, pts);
        INFO(r.name << ", target " << target << ", method " << method);
        CheckSameAnswer(memory, lazy, pts, o);
      }
    }
  }
}

TEST_CASE("lazy LOD: the first whole-series chart reads the coarse levels, never level 0", "[lod_lazy]") {
  const std::vector<MetricPoint> pts = TrainingSeries(600'000, 8);  // 4688 level-0, 586 level-1 buckets
  const LodPyramid memory = Build(pts, 4096);
  const std::string bytes = EncodeLodPyramid(memory);
  std::shared_ptr<CountingSource> source;
  const LodPyramid lazy = OpenLazy(bytes, pts, &source);
  // Open: trailer, footer, then the coarse levels that fit 16 KiB in one read.
  CHECK(source->reads == 3);
  const uint64_t at_open = source->bytes_read;
  CHECK(at_open < 16 * 1024 + 4096);
  DownsampleOptions o;
  o.target_points = 100;  // level 1: 586 buckets >= 4 x 100
  auto want = Downsample(memory, FromMemory(pts), o);
  auto got = Downsample(lazy, FromMemory(pts), o);
  REQUIRE(got.ok());
  REQUIRE(got->level_used == 1);
  CHECK(FirstDifference(got->points, want->points) == -1);
  // Exactly, each byte once: level 1's blocks, plus what open read (the trailer, the footer and
  // levels 3..5, 13 buckets); no byte of level 0 or 2 (74 buckets: more than 16 KiB).
  REQUIRE(lazy.num_levels() == 6);
  const uint64_t level1 = BlockOffset(bytes, 2, 0) - BlockOffset(bytes, 1, 0);
  CHECK(at_open == bytes.size() - BlockOffset(bytes, 3, 0));
  CHECK(source->bytes_read == at_open + level1);
  CHECK(source->bytes_read * 2 < bytes.size());
  // A second query of the same range reads nothing more.
  REQUIRE(Downsample(lazy, FromMemory(pts), o).ok());
  CHECK(source->bytes_read == at_open + level1);
  // A narrow window reads one or two level-0 blocks for its ragged edges.
  o.step_min = 300'000;
  o.step_max = 310'000;
  o.target_points = 10;
  const uint64_t before = source->bytes_read;
  CheckSameAnswer(memory, lazy, pts, o);
  const uint64_t level0_block = BlockOffset(bytes, 0, 1) - BlockOffset(bytes, 0, 0);
  CHECK(source->bytes_read - before <= 2 * (level0_block + 4096));
  CHECK(source->bytes_read - before > 0);
}

TEST_CASE("lazy LOD: a damaged block is rebuilt from the raw points, same answers", "[lod_lazy]") {
  const std::vector<MetricPoint> pts = RepeatedSteps(300'000);  // 2344 level-0 buckets: 5 blocks
  const LodPyramid memory = Build(pts, 1000);
  std::string bytes = EncodeLodPyramid(memory);
  bytes[BlockOffset(bytes, 0, 2) + 100] ^= 0x10;  // inside level-0 block 2's zstd frame
  bytes[BlockOffset(bytes, 1, 0) + 500] ^= 0x01;  // a raw level-1 record

  // Read whole, the damage is Corruption naming the first damaged block.
  auto whole = DecodeLodPyramid(StringByteSource(bytes));
  CHECK(whole.status().code() == StatusCode::kCorruption);
  CHECK(whole.status().message() == "LOD level 0 block 2 fails its CRC-32C check");

  // Read lazily, the blocks are rebuilt from the points when first touched.
  const LodPyramid lazy = OpenLazy(bytes, pts);
  DownsampleOptions o;
  o.target_points = 50;  // level 1 (293 buckets)
  CheckSameAnswer(memory, lazy, pts, o);
  CHECK(lazy.rebuilt_blocks() == 1);
  o.step_min = 2 * 512 * 128 / 3 + 10;  // a window whose left edge is in level-0 block 2
  o.step_max = o.step_min.value() + 20'000;
  o.target_points = 5;
  CheckSameAnswer(memory, lazy, pts, o);
  CHECK(lazy.rebuilt_blocks() == 2);
  // Rebuilt buckets are the original ones (sum may differ in its last bits: batch grouping).
  for (size_t k = 0; k < 2; ++k) {
    for (size_t i = 0; i < memory.level(k).size(); ++i) {
      LodBucket a = lazy.level(k)[i], b = memory.level(k)[i];
      a.sum = b.sum = 0;
      INFO("level " << k << " bucket " << i);
      REQUIRE(SameBucket(a, b));
    }
  }
  CHECK(lazy.load_status().ok());
}

TEST_CASE("lazy LOD: a damaged block with no readable points makes load_status Corruption", "[lod_lazy]") {
  const std::vector<MetricPoint> pts = TrainingSeries(300'000, 4);
  const LodPyramid memory = Build(pts);
  std::string bytes = EncodeLodPyramid(memory);
  bytes[BlockOffset(bytes, 1, 0) + 30] ^= 0x04;
  auto source = std::make_shared<CountingSource>(bytes);
  const RawPointReader broken = [](uint64_t, uint64_t, std::vector<MetricPoint>*) {
    return Status::Corruption("segment block at ordinal 0 fails its CRC-32C check");
  };
  auto lazy = OpenLodPyramid(source, broken);
  REQUIRE(lazy.ok());
  CHECK(lazy->load_status().ok());
  DownsampleOptions o;
  o.target_points = 50;
  REQUIRE(Downsample(*lazy, FromMemory(pts), o).ok());
  CHECK(lazy->load_status().code() == StatusCode::kCorruption);
  CHECK(lazy->load_status().message() ==
        "LOD level 1 block fails its CRC-32C check; rebuilding it from the raw points failed: corruption: segment "
        "block at ordinal 0 fails its CRC-32C check");
  // Appending cannot continue from it either; the owner rebuilds from the points.
  LodPyramid grown = std::move(lazy).value();
  grown.Append(pts);
  CHECK(grown.load_status().code() == StatusCode::kCorruption);
}

TEST_CASE("lazy LOD: damage in what is read at open is Corruption at open", "[lod_lazy]") {
  const std::vector<MetricPoint> pts = TrainingSeries(100'000, 4);
  std::string bytes = EncodeLodPyramid(Build(pts));
  const size_t levels = LoadLE<uint32_t>(bytes.data() + LoadLE<uint64_t>(bytes.data() + bytes.size() - 32) + 20);
  std::string top = bytes;
  top[BlockOffset(bytes, levels - 1, 0) + 40] ^= 1;
  auto r = OpenLodPyramid(std::make_shared<CountingSource>(top), FromMemory(pts));
  CHECK(r.status().code() == StatusCode::kCorruption);
  CHECK(r.status().message() == "LOD level " + std::to_string(levels - 1) + " block fails its CRC-32C check");
  std::string footer = bytes;
  footer[LoadLE<uint64_t>(bytes.data() + bytes.size() - 32) + 2] ^= 1;
  r = OpenLodPyramid(std::make_shared<CountingSource>(footer), FromMemory(pts));
  CHECK(r.status().code() == StatusCode::kCorruption);
  CHECK(r.status().message() == "LOD object footer fails its CRC-32C check");
}

TEST_CASE("lazy LOD: a lazily loaded pyramid keeps growing exactly like the original", "[lod_lazy]") {
  const std::vector<MetricPoint> pts = AdversarialSeries(40'000, 21);
  for (size_t cut : {1ul, 128ul, 1024ul, 3333ul, 20'000ul}) {
    INFO("cut " << cut);
    const std::vector<MetricPoint> head(pts.begin(), pts.begin() + static_cast<long>(cut));
    LodPyramid original = Build(head, 77);
    LodPyramid lazy = OpenLazy(EncodeLodPyramid(original), head);
    const std::span<const MetricPoint> rest = std::span<const MetricPoint>(pts).subspan(cut);
    original.Append(rest);
    lazy.Append(rest);
    CHECK_FALSE(lazy.lazy());
    REQUIRE(lazy.load_status().ok());
    REQUIRE(lazy.num_levels() == original.num_levels());
    for (size_t k = 0; k < original.num_levels(); ++k) {
      REQUIRE(lazy.level(k).size() == original.level(k).size());
      for (size_t i = 0; i < original.level(k).size(); ++i) REQUIRE(SameBucket(lazy.level(k)[i], original.level(k)[i]));
    }
  }
}

// Format 1 (what the previous release wrote): one zstd-planes block per level with 16-byte block
// headers. Made here from a format-2 object with one compressed block per level, whose frames are
// byte for byte format 1's.
std::string ToFormat1(const LodPyramid& pyr) {
  LodEncodeOptions one_block;
  one_block.block_buckets = kMaxLodBlockBuckets;
  one_block.raw_from_level = kMaxLodLevels;
  const std::string v2 = EncodeLodPyramid(pyr, one_block);
  std::string out(kLodMagic, 8);
  PutU32(&out, 1);
  PutU32(&out, 0);
  std::string footer;
  PutU64(&footer, pyr.count());
  PutU8(&footer, pyr.steps_monotonic() ? 1 : 0);
  footer.append(3, '\0');
  PutU32(&footer, 128);
  PutU32(&footer, 8);
  PutU32(&footer, static_cast<uint32_t>(pyr.num_levels()));
  for (size_t k = 0; k < pyr.num_levels(); ++k) {
    const uint64_t at = BlockOffset(v2, k, 0);
    const uint64_t end = k + 1 < pyr.num_levels() ? BlockOffset(v2, k + 1, 0) : LoadLE<uint64_t>(v2.data() + v2.size() - 32);
    const std::string frame = v2.substr(at + kLodBlockHeaderSize, end - at - kLodBlockHeaderSize);
    const uint64_t offset = out.size();
    std::string block(16, '\0');
    StoreLE<uint32_t>(block.data() + 4, static_cast<uint32_t>(frame.size()));
    StoreLE<uint32_t>(block.data() + 8, static_cast<uint32_t>(k));
    StoreLE<uint32_t>(block.data() + 12, static_cast<uint32_t>(pyr.level(k).size()));
    block += frame;
    StoreLE<uint32_t>(block.data(), util::Crc32c(0, block.data() + 4, block.size() - 4));
    out += block;
    PutU64(&footer, offset);
    PutU32(&footer, static_cast<uint32_t>(block.size()));
    PutU32(&footer, static_cast<uint32_t>(pyr.level(k).size()));
  }
  AppendFooterAndTrailer(footer, 1, kLodTrailerMagic, &out);
  return out;
}

TEST_CASE("lazy LOD: a format-1 object is still read, whole", "[lod_lazy]") {
  const std::vector<MetricPoint> pts = AdversarialSeries(30'000, 2);
  const LodPyramid memory = Build(pts, 500);
  const std::string v1 = ToFormat1(memory);
  auto decoded = DecodeLodPyramid(StringByteSource(v1));
  INFO(decoded.status().ToString());
  REQUIRE(decoded.ok());
  auto opened = OpenLodPyramid(std::make_shared<CountingSource>(v1), FromMemory(pts));
  REQUIRE(opened.ok());
  CHECK_FALSE(opened->lazy());
  for (const LodPyramid* p : {&decoded.value(), &opened.value()}) {
    REQUIRE(p->num_levels() == memory.num_levels());
    for (size_t k = 0; k < memory.num_levels(); ++k) {
      REQUIRE(p->level(k).size() == memory.level(k).size());
      for (size_t i = 0; i < memory.level(k).size(); ++i) REQUIRE(SameBucket(p->level(k)[i], memory.level(k)[i]));
    }
  }
  std::string damaged = v1;
  damaged[16 + 16 + 20] ^= 1;
  CHECK(DecodeLodPyramid(StringByteSource(damaged)).status().message() == "LOD level 0 block fails its CRC-32C check");
}

TEST_CASE("lazy LOD: block checksums are CRC-32C as util::Crc32c computes it", "[lod_lazy]") {
  const std::string bytes = EncodeLodPyramid(Build(TrainingSeries(200'000, 6)));  // blocks of 24 B .. 115 KB
  const auto footer_offset = LoadLE<uint64_t>(bytes.data() + bytes.size() - 32);
  const auto levels = LoadLE<uint32_t>(bytes.data() + footer_offset + 20);
  for (size_t k = 0; k < levels; ++k) {
    const uint64_t at = BlockOffset(bytes, k, 0);
    const uint64_t end = k + 1 < levels ? BlockOffset(bytes, k + 1, 0) : footer_offset;
    const auto length = LoadLE<uint32_t>(bytes.data() + at + 4) + kLodBlockHeaderSize;
    REQUIRE(length <= end - at);
    INFO("level " << k);
    CHECK(LoadLE<uint32_t>(bytes.data() + at) == util::Crc32c(0, bytes.data() + at + 4, length - 4));
  }
}
