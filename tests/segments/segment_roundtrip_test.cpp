// Sealed segments: whatever goes in comes back bit for bit, whole or by ordinal and step ranges.
#include <catch2/catch.hpp>

#include <algorithm>
#include <limits>
#include <cmath>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "segment_test_util.h"
#include "segments/segment_block.h"
#include "segments/segment_reader.h"
#include "segments/segment_writer.h"
#include "test_support.h"

using namespace runtrack;
using namespace runtrack::segments;
using runtrack::testing::AdversarialSeries;
using runtrack::testing::FirstDifference;
using runtrack::testing::TrainingSeries;

namespace {

const std::vector<std::string> kStages = {"", "train", "eval"};

std::string Seal(const std::vector<MetricPoint>& pts, SegmentWriterOptions opt = {}) {
  auto bytes = EncodeSegment({"loss", kStages, pts}, opt);
  REQUIRE(bytes.ok());
  return *bytes;
}

SegmentReader OpenBytes(std::string bytes) {
  auto reader = SegmentReader::Open(std::make_shared<StringByteSource>(std::move(bytes)));
  REQUIRE(reader.ok());
  return std::move(reader).value();
}

std::vector<MetricPoint> ReadAll(const SegmentReader& r) {
  std::vector<MetricPoint> out;
  REQUIRE(r.ReadOrdinals(r.first_ordinal(), r.end_ordinal(), &out).ok());
  return out;
}

std::vector<MetricPoint> InSteps(const std::vector<MetricPoint>& pts, int64_t lo, int64_t hi) {
  std::vector<MetricPoint> out;
  for (const MetricPoint& p : pts) {
    if (p.step >= lo && p.step <= hi) out.push_back(p);
  }
  return out;
}

}  // namespace

TEST_CASE("segment: adversarial series round-trip bit for bit with every value codec and many block sizes") {
  for (std::optional<ValueCodec> codec : {std::optional<ValueCodec>(ValueCodec::kGorillaXor),
                                          std::optional<ValueCodec>(ValueCodec::kXorShuffleZstd),
                                          std::optional<ValueCodec>(ValueCodec::kBitsDelta),
                                          std::optional<ValueCodec>()}) {
    for (uint32_t block_points : {1u, 7u, 128u, 1024u, 65536u}) {
      for (size_t n : {1ul, 2ul, 129ul, 5000ul}) {
        INFO("codec " << (codec ? int(*codec) : 0) << " block_points " << block_points << " n " << n);
        const std::vector<MetricPoint> pts = AdversarialSeries(n, n * 31 + block_points);
        SegmentWriterOptions opt;
        opt.value_codec = codec;
        opt.block_points = block_points;
        const SegmentReader r = OpenBytes(Seal(pts, opt));
        CHECK(r.info().point_count == n);
        CHECK(r.info().blocks.size() == (n + block_points - 1) / block_points);
        CHECK(r.info().series_name == "loss");
        CHECK(r.info().stages == kStages);
        CHECK(FirstDifference(ReadAll(r), pts) == -1);
      }
    }
  }
}

TEST_CASE("segment: an empty series is a valid segment with no blocks") {
  const SegmentReader r = OpenBytes(Seal({}));
  CHECK(r.info().point_count == 0);
  CHECK(r.info().blocks.empty());
  std::vector<MetricPoint> out = {MetricPoint{}};
  CHECK(r.ReadOrdinals(0, 0, &out).ok());
  CHECK(out.empty());
  out = {MetricPoint{}};
  CHECK(r.ReadStepRange(INT64_MIN, INT64_MAX, &out).ok());
  CHECK(out.empty());
}

TEST_CASE("segment: ordinal range reads return exactly the points of [begin, end)") {
  const std::vector<MetricPoint> pts = AdversarialSeries(3000, 5);
  SegmentWriterOptions opt;
  opt.block_points = 256;
  opt.first_ordinal = 1000;  // a series' second segment
  const SegmentReader r = OpenBytes(Seal(pts, opt));
  CHECK(r.first_ordinal() == 1000);
  CHECK(r.end_ordinal() == 4000);
  std::mt19937_64 rng(6);
  for (int i = 0; i < 300; ++i) {
    uint64_t a = 1000 + rng() % 3001, b = 1000 + rng() % 3001;
    if (a > b) std::swap(a, b);
    if (i == 0) a = 1000, b = 4000;
    if (i == 1) a = 1256, b = 1512;  // exactly one block
    std::vector<MetricPoint> out;
    REQUIRE(r.ReadOrdinals(a, b, &out).ok());
    const std::vector<MetricPoint> want(pts.begin() + static_cast<long>(a - 1000), pts.begin() + static_cast<long>(b - 1000));
    CHECK(FirstDifference(out, want) == -1);
  }
  std::vector<MetricPoint> out;
  CHECK(r.ReadOrdinals(999, 1001, &out).code() == StatusCode::kInvalidArgument);
  CHECK(r.ReadOrdinals(3999, 4001, &out).code() == StatusCode::kInvalidArgument);
  CHECK(r.ReadOrdinals(2000, 1999, &out).code() == StatusCode::kInvalidArgument);
}

TEST_CASE("segment: step range reads return exactly the points with steps in range, in arrival order") {
  SECTION("monotonic training curve") {
    const std::vector<MetricPoint> pts = TrainingSeries(10000, 7);
    const SegmentReader r = OpenBytes(Seal(pts));
    CHECK(r.info().steps_nondecreasing);
    for (auto [lo, hi] : std::vector<std::pair<int64_t, int64_t>>{
             {1, 10000}, {0, 0}, {1, 1}, {1024, 1025}, {5000, 7000}, {9999, 20000}, {-100, 3}, {10001, 20000}, {INT64_MIN, INT64_MAX}}) {
      INFO(lo << ".." << hi);
      std::vector<MetricPoint> out;
      REQUIRE(r.ReadStepRange(lo, hi, &out).ok());
      CHECK(FirstDifference(out, InSteps(pts, lo, hi)) == -1);
    }
  }
  SECTION("steps jumping in every direction, repeated and negative") {
    const std::vector<MetricPoint> pts = AdversarialSeries(4000, 8);
    SegmentWriterOptions opt;
    opt.block_points = 100;
    const SegmentReader r = OpenBytes(Seal(pts, opt));
    CHECK_FALSE(r.info().steps_nondecreasing);
    std::mt19937_64 rng(9);
    for (int i = 0; i < 100; ++i) {
      int64_t lo = pts[rng() % pts.size()].step, hi = pts[rng() % pts.size()].step;
      if (lo > hi) std::swap(lo, hi);
      std::vector<MetricPoint> out;
      REQUIRE(r.ReadStepRange(lo, hi, &out).ok());
      CHECK(FirstDifference(out, InSteps(pts, lo, hi)) == -1);
    }
  }
  const SegmentReader r = OpenBytes(Seal(TrainingSeries(10, 1)));
  std::vector<MetricPoint> out;
  CHECK(r.ReadStepRange(5, 4, &out).code() == StatusCode::kInvalidArgument);
}

TEST_CASE("segment: block headers carry count, first/last/min/max step and value") {
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  std::vector<MetricPoint> pts = {{5, 1.0, 2.0, 0}, {3, 2.0, nan, 0}, {9, 3.0, -7.5, 1}, {4, 4.0, inf, 2}, {6, 5.0, 0.25, 0}};
  const std::string bytes = Seal(pts);
  const SegmentReader r = OpenBytes(bytes);
  REQUIRE(r.info().blocks.size() == 1);
  const BlockIndexEntry& e = r.info().blocks[0];
  CHECK(e.offset == 16);
  CHECK(e.count == 5);
  CHECK(e.first_ordinal == 0);
  CHECK(e.step_min == 3);
  CHECK(e.step_max == 9);
  auto h = ParseBlockHeader(std::string_view(bytes).substr(e.offset, e.length));
  REQUIRE(h.ok());
  CHECK(h->count == 5);
  CHECK(h->total_size() == e.length);
  CHECK(h->step_first == 5);
  CHECK(h->step_last == 6);
  CHECK(h->step_min == 3);
  CHECK(h->step_max == 9);
  CHECK(h->value_first == 2.0);
  CHECK(h->value_last == 0.25);
  CHECK(h->value_min == -7.5);  // finite values only
  CHECK(h->value_max == 2.0);
  CHECK(h->nonfinite_count == 2);
  // A block of only non-finite values has NaN extremes.
  const std::string all_nan = Seal({{1, 1.0, nan, 0}, {2, 2.0, -inf, 0}});
  auto h2 = ParseBlockHeader(std::string_view(all_nan).substr(16));
  REQUIRE(h2.ok());
  CHECK(std::isnan(h2->value_min));
  CHECK(std::isnan(h2->value_max));
  CHECK(h2->nonfinite_count == 2);
}

TEST_CASE("segment: files written with WriteSegmentFile read back through FileByteSource") {
  runtrack::testing::TempDir dir;
  const std::vector<MetricPoint> pts = TrainingSeries(5000, 10);
  const auto path = dir.path() / "loss.seg";
  REQUIRE(WriteSegmentFile(path, {"loss", kStages, pts}).ok());
  auto source = FileByteSource::Open(path);
  REQUIRE(source.ok());
  auto r = SegmentReader::Open(std::shared_ptr<const ByteSource>(std::move(source).value()));
  REQUIRE(r.ok());
  CHECK(FirstDifference(ReadAll(*r), pts) == -1);
  CHECK(FileByteSource::Open(dir.path() / "missing.seg").status().code() == StatusCode::kNotFound);
  auto file = FileByteSource::Open(path);
  REQUIRE(file.ok());
  std::string bytes;
  CHECK((*file)->ReadAt((*file)->size() - 4, 5, &bytes).code() == StatusCode::kInvalidArgument);
  CHECK((*file)->ReadAt((*file)->size() + 1, 0, &bytes).code() == StatusCode::kInvalidArgument);
  REQUIRE((*file)->ReadAt((*file)->size() - 8, 8, &bytes).ok());
  CHECK(bytes == "RTSEGEND");
}

TEST_CASE("segment: bad input to the writer is InvalidArgument") {
  std::vector<MetricPoint> pts = TrainingSeries(10, 1);
  pts[3].stage = 3;  // only 3 stage names
  auto s = EncodeSegment({"loss", kStages, pts});
  CHECK(s.status().code() == StatusCode::kInvalidArgument);
  CHECK(s.status().message() == "point 3 has stage 3 but the segment has 3 stage names");
  pts[3].stage = 0;
  SegmentWriterOptions opt;
  opt.block_points = 0;
  CHECK(EncodeSegment({"loss", kStages, pts}, opt).status().code() == StatusCode::kInvalidArgument);
  opt.block_points = 65537;
  CHECK(EncodeSegment({"loss", kStages, pts}, opt).status().code() == StatusCode::kInvalidArgument);
  opt = {};
  opt.value_codec = static_cast<ValueCodec>(9);
  CHECK(EncodeSegment({"loss", kStages, pts}, opt).status().code() == StatusCode::kInvalidArgument);
  opt = {};
  opt.first_ordinal = UINT64_MAX - 5;
  CHECK(EncodeSegment({"loss", kStages, pts}, opt).status().code() == StatusCode::kInvalidArgument);
  const std::string long_name(5000, 'x');
  CHECK(EncodeSegment({long_name, kStages, pts}).status().code() == StatusCode::kInvalidArgument);
}

TEST_CASE("segment: without a fixed codec each block keeps the smallest value column") {
  // Block 0: a float32-valued curve; block 1: float64 noise (zstd is smallest); block 2: a
  // smooth float64 decay (bits-delta is smallest).
  std::vector<MetricPoint> pts = TrainingSeries(3072, 3);
  std::mt19937_64 rng(4);
  std::normal_distribution<double> noise(0, 1);
  for (size_t i = 1024; i < 2048; ++i) pts[i].value = noise(rng);
  for (size_t i = 2048; i < 3072; ++i) pts[i].value = 0.001 * std::pow(0.5, static_cast<double>(i) / 1000);
  SegmentWriterOptions opt;
  opt.block_points = 1024;
  const std::string bytes = Seal(pts, opt);
  const SegmentReader r = OpenBytes(bytes);
  REQUIRE(r.info().blocks.size() == 3);
  std::vector<ValueCodec> codecs;
  for (const BlockIndexEntry& e : r.info().blocks) {
    auto header = ParseBlockHeader(std::string_view(bytes).substr(e.offset, e.length));
    REQUIRE(header.ok());
    codecs.push_back(header->value_codec);
  }
  std::vector<ValueCodec> smallest;
  for (size_t b = 0; b < 3; ++b) {
    std::vector<uint64_t> bits;
    for (size_t i = b * 1024; i < (b + 1) * 1024; ++i) bits.push_back(runtrack::testing::Bits(pts[i].value));
    size_t best_size = SIZE_MAX;
    ValueCodec best = ValueCodec::kGorillaXor;
    for (ValueCodec c : {ValueCodec::kGorillaXor, ValueCodec::kBitsDelta, ValueCodec::kXorShuffleZstd}) {
      std::string encoded;
      EncodeValueColumn(c, bits, 3, &encoded);
      if (encoded.size() < best_size) best_size = encoded.size(), best = c;
    }
    smallest.push_back(best);
  }
  CHECK(codecs == smallest);
  CHECK(codecs[1] == ValueCodec::kXorShuffleZstd);
  CHECK(codecs[2] == ValueCodec::kBitsDelta);
  CHECK(FirstDifference(ReadAll(r), pts) == -1);
}

namespace {

// Records every ReadAt, to check which byte ranges a query fetches.
class RecordingByteSource final : public ByteSource {
 public:
  explicit RecordingByteSource(std::string bytes) : inner_(std::move(bytes)) {}
  uint64_t size() const override { return inner_.size(); }
  Status ReadAt(uint64_t offset, uint64_t length, std::string* out) const override {
    reads.emplace_back(offset, length);
    return inner_.ReadAt(offset, length, out);
  }
  mutable std::vector<std::pair<uint64_t, uint64_t>> reads;

 private:
  StringByteSource inner_;
};

}  // namespace

TEST_CASE("segment: a query fetches only the byte ranges of the blocks it needs") {
  const std::vector<MetricPoint> pts = TrainingSeries(10'000, 3);  // steps 1..10000
  SegmentWriterOptions opt;
  opt.block_points = 1000;
  auto source = std::make_shared<RecordingByteSource>(Seal(pts, opt));
  auto opened = SegmentReader::Open(source);
  REQUIRE(opened.ok());
  const SegmentReader& r = *opened;
  REQUIRE(r.info().blocks.size() == 10);
  // Open: the 32-byte trailer, then the footer, which runs up to the trailer.
  REQUIRE(source->reads.size() == 2);
  CHECK(source->reads[0] == std::make_pair(uint64_t{source->size() - 32}, uint64_t{32}));
  CHECK(source->reads[1].first + source->reads[1].second == source->size() - 32);
  const auto& b = r.info().blocks;

  source->reads.clear();
  std::vector<MetricPoint> out;
  REQUIRE(r.ReadStepRange(2500, 4200, &out).ok());  // blocks 2, 3, 4 (steps 2001..5000)
  CHECK(out.size() == 1701);
  REQUIRE(source->reads.size() == 1);
  CHECK(source->reads[0] == std::make_pair(b[2].offset, b[4].offset + b[4].length - b[2].offset));

  source->reads.clear();
  REQUIRE(r.ReadOrdinals(999, 1001, &out).ok());  // blocks 0 and 1; block 0 brings the header
  CHECK(out.size() == 2);
  REQUIRE(source->reads.size() == 1);
  CHECK(source->reads[0] == std::make_pair(uint64_t{0}, b[1].offset + b[1].length));

  source->reads.clear();
  REQUIRE(r.ReadStepRange(20'000, 30'000, &out).ok());
  CHECK(out.empty());
  CHECK(source->reads.empty());
}
