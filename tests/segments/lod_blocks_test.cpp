// Persisted LOD blocks: a pyramid read back is the same pyramid, answers every downsample query
// exactly as the in-memory one (with raw points from a sealed segment), and keeps growing the same.
#include <catch2/catch.hpp>

#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "metrics/downsample.h"
#include "metrics/lod_pyramid.h"
#include "segment_test_util.h"
#include "segments/lod_blocks.h"
#include "segments/segment_reader.h"
#include "segments/segment_writer.h"
#include "test_support.h"
#include "util/crc32c.h"

using namespace runtrack;
using namespace runtrack::segments;
using runtrack::testing::AdversarialSeries;
using runtrack::testing::BitIdentical;
using runtrack::testing::Bits;
using runtrack::testing::FirstDifference;
using runtrack::testing::TrainingSeries;

namespace {

bool SameOrdinalPoint(const OrdinalPoint& a, const OrdinalPoint& b) {
  return a.ordinal == b.ordinal && BitIdentical(a.point, b.point);
}

bool SameBucket(const LodBucket& a, const LodBucket& b) {
  return a.count == b.count && a.nonfinite_count == b.nonfinite_count && Bits(a.sum) == Bits(b.sum) &&
         SameOrdinalPoint(a.first, b.first) && SameOrdinalPoint(a.last, b.last) && SameOrdinalPoint(a.min, b.min) &&
         SameOrdinalPoint(a.max, b.max) && SameOrdinalPoint(a.first_nonfinite, b.first_nonfinite);
}

void RequireSamePyramid(const LodPyramid& a, const LodPyramid& b) {
  REQUIRE(a.count() == b.count());
  REQUIRE(a.steps_monotonic() == b.steps_monotonic());
  REQUIRE(Bits(a.first_wall_time()) == Bits(b.first_wall_time()));
  REQUIRE(a.num_levels() == b.num_levels());
  for (size_t k = 0; k < a.num_levels(); ++k) {
    REQUIRE(a.level(k).size() == b.level(k).size());
    for (size_t i = 0; i < a.level(k).size(); ++i) {
      INFO("level " << k << " bucket " << i);
      REQUIRE(SameBucket(a.level(k)[i], b.level(k)[i]));
    }
  }
}

LodPyramid RoundTrip(const LodPyramid& pyr) {
  StringByteSource source(EncodeLodPyramid(pyr));
  auto back = DecodeLodPyramid(source);
  REQUIRE(back.ok());
  return std::move(back).value();
}

LodPyramid Build(const std::vector<MetricPoint>& pts, size_t batch) {
  LodPyramid pyr;
  for (size_t i = 0; i < pts.size(); i += batch) {
    pyr.Append(std::span<const MetricPoint>(pts).subspan(i, std::min(batch, pts.size() - i)));
  }
  return pyr;
}

}  // namespace

TEST_CASE("LOD blocks: pyramids of every shape round-trip field for field") {
  for (size_t n : {0ul, 1ul, 127ul, 128ul, 129ul, 1024ul, 1025ul, 9000ul, 70000ul}) {
    for (size_t batch : {1ul, 100ul, 4096ul}) {
      if (n > 10000 && batch == 1) continue;
      INFO("n " << n << " batch " << batch);
      const LodPyramid adversarial = Build(AdversarialSeries(n, n + batch), batch);
      RequireSamePyramid(RoundTrip(adversarial), adversarial);
      const LodPyramid smooth = Build(TrainingSeries(n, n), batch);
      RequireSamePyramid(RoundTrip(smooth), smooth);
    }
  }
}

TEST_CASE("LOD blocks: a restored pyramid plus a segment answers every query exactly like memory") {
  const std::vector<std::string> stages = {"", "train", "eval"};
  for (int variant = 0; variant < 2; ++variant) {
    std::vector<MetricPoint> pts = variant == 0 ? TrainingSeries(200'000, 11) : AdversarialSeries(60'000, 12);
    if (variant == 0) {  // a few non-finite values and spikes inside the smooth curve
      pts[5000].value = std::numeric_limits<double>::quiet_NaN();
      pts[77777].value = std::numeric_limits<double>::infinity();
      pts[150000].value = 1e6;
    }
    const LodPyramid memory = Build(pts, 1000);
    const LodPyramid restored = RoundTrip(memory);
    auto bytes = EncodeSegment({"loss", stages, pts});
    REQUIRE(bytes.ok());
    auto segment = SegmentReader::Open(std::make_shared<StringByteSource>(std::move(bytes).value()));
    REQUIRE(segment.ok());
    const RawPointReader from_memory = [&](uint64_t b, uint64_t e, std::vector<MetricPoint>* out) {
      out->assign(pts.begin() + static_cast<long>(b), pts.begin() + static_cast<long>(e));
      return Status::Ok();
    };
    std::mt19937_64 rng(13);
    int pyramid_answers = 0;
    for (int q = 0; q < 120; ++q) {
      DownsampleOptions o;
      o.method = static_cast<DownsampleMethod>(q % 4);
      o.x_axis = static_cast<XAxis>((q / 4) % 3);
      o.target_points = q % 5 == 0 ? 10 : 1 + rng() % 2000;
      if (q % 3 != 0) {
        int64_t a = pts[rng() % pts.size()].step, b = pts[rng() % pts.size()].step;
        o.step_min = std::min(a, b);
        o.step_max = std::max(a, b);
      }
      auto want = Downsample(memory, from_memory, o);
      auto got = Downsample(restored, segment->AsRawPointReader(), o);
      REQUIRE(want.ok());
      REQUIRE(got.ok());
      INFO("variant " << variant << " query " << q);
      CHECK(got->level_used == want->level_used);
      CHECK(got->points_in_range == want->points_in_range);
      CHECK(FirstDifference(got->points, want->points) == -1);
      pyramid_answers += want->level_used >= 0;
    }
    if (variant == 0) CHECK(pyramid_answers > 20);  // the comparison covered the pyramid path
  }
}

TEST_CASE("LOD blocks: a restored pyramid keeps growing exactly like the original") {
  const std::vector<MetricPoint> pts = AdversarialSeries(5000, 21);
  for (size_t cut : {1ul, 128ul, 1000ul, 1024ul, 3333ul}) {
    INFO("cut " << cut);
    LodPyramid original = Build(std::vector<MetricPoint>(pts.begin(), pts.begin() + static_cast<long>(cut)), 77);
    LodPyramid restored = RoundTrip(original);
    const std::span<const MetricPoint> rest = std::span<const MetricPoint>(pts).subspan(cut);
    original.Append(rest);
    restored.Append(rest);
    RequireSamePyramid(restored, original);
  }
}

TEST_CASE("LOD blocks: written with WriteLodFile and read back from a file") {
  runtrack::testing::TempDir dir;
  const LodPyramid pyr = Build(TrainingSeries(50'000, 2), 512);
  REQUIRE(WriteLodFile(dir.path() / "loss.lod", pyr).ok());
  auto source = FileByteSource::Open(dir.path() / "loss.lod");
  REQUIRE(source.ok());
  auto back = DecodeLodPyramid(**source);
  REQUIRE(back.ok());
  RequireSamePyramid(*back, pyr);
}

TEST_CASE("LOD blocks: every flipped byte and every truncation is Corruption") {
  const std::string good = EncodeLodPyramid(Build(AdversarialSeries(3000, 4), 100));
  for (size_t i = 0; i < good.size(); ++i) {
    std::string bad = good;
    bad[i] = static_cast<char>(bad[i] ^ (1 << (i % 8)));
    auto r = DecodeLodPyramid(StringByteSource(bad));
    INFO("byte " << i << ": " << r.status().ToString());
    REQUIRE(r.status().code() == StatusCode::kCorruption);
  }
  for (size_t len = 0; len < good.size(); ++len) {
    auto r = DecodeLodPyramid(StringByteSource(good.substr(0, len)));
    INFO("length " << len);
    REQUIRE(r.status().code() == StatusCode::kCorruption);
  }
  std::string bad = good;
  const size_t level0_body_end = 16 + 16 + 20;  // a byte inside level 0's zstd frame
  bad[level0_body_end] ^= 1;
  CHECK(DecodeLodPyramid(StringByteSource(bad)).status().message() == "LOD level 0 block fails its CRC-32C check");
}

TEST_CASE("LOD blocks: an object built with another chunk size or fanout is refused, to be rebuilt") {
  std::string bytes = EncodeLodPyramid(Build(TrainingSeries(1000, 1), 1000));
  // Patch raw_chunk_points in the footer (at footer offset + 12), then fix the footer's CRC in
  // the trailer, so only the constant differs.
  uint64_t footer_offset = 0;
  uint32_t footer_length = 0;
  std::memcpy(&footer_offset, bytes.data() + bytes.size() - 32, 8);
  std::memcpy(&footer_length, bytes.data() + bytes.size() - 24, 4);
  const uint32_t other_chunk = 256;
  std::memcpy(bytes.data() + footer_offset + 12, &other_chunk, 4);
  const uint32_t crc = util::Crc32c(0, bytes.data() + footer_offset, footer_length);
  std::memcpy(bytes.data() + bytes.size() - 20, &crc, 4);
  auto r = DecodeLodPyramid(StringByteSource(bytes));
  CHECK(r.status().code() == StatusCode::kFailedPrecondition);
  CHECK(r.status().message() ==
        "LOD object was built with 256 points per chunk and fanout 8; this build uses 128 and 8: rebuild it from the "
        "raw points");
}

TEST_CASE("LodPyramid::FromLevels refuses levels Append could not have produced") {
  const LodPyramid good = Build(TrainingSeries(2000, 5), 2000);  // 16 level-0 buckets, 2 above, 1 top
  REQUIRE(good.num_levels() == 3);
  auto levels = [&] {
    std::vector<std::vector<LodBucket>> l;
    for (size_t k = 0; k < good.num_levels(); ++k) l.push_back(good.level(k));
    return l;
  };
  REQUIRE(LodPyramid::FromLevels(levels(), true).ok());
  auto refuse = [](std::vector<std::vector<LodBucket>> l, const std::string& message) {
    auto r = LodPyramid::FromLevels(std::move(l), true);
    CHECK(r.status().code() == StatusCode::kCorruption);
    CHECK(r.status().message() == message);
  };
  auto l = levels();
  l.pop_back();  // top level has two buckets
  refuse(l, "LOD level 1 of 2 has 2 buckets");
  l = levels();
  l[1].pop_back();
  refuse(l, "LOD level 1 does not have one bucket per 8 of level 0");
  l = levels();
  l[0][3].count = 100;  // a partial bucket in the middle
  refuse(l, "LOD level 0 bucket 3: count out of range");
  l = levels();
  l[0][3].max.ordinal = 5;  // outside [384, 512)
  refuse(l, "LOD level 0 bucket 3: min/max outside the bucket");
  l = levels();
  l[1][0].count += 1;
  refuse(l, "LOD level 1 bucket 0: count does not match the points below it");
  l = levels();
  l[0][0].first.ordinal = 1;
  refuse(l, "LOD level 0 bucket 0: first/last ordinals misplaced");
  auto empty = LodPyramid::FromLevels({}, true);
  REQUIRE(empty.ok());
  CHECK(empty->count() == 0);
}
