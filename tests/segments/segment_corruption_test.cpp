// Damaged and truncated segment objects: every flipped byte and every cut is reported as
// Corruption with a message that says what failed; nothing crashes and no wrong point is returned.
#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

#include "segment_test_util.h"
#include "segments/segment_reader.h"
#include "segments/segment_writer.h"

using namespace runtrack;
using namespace runtrack::segments;
using runtrack::testing::AdversarialSeries;
using runtrack::testing::FirstDifference;

namespace {

const std::vector<std::string> kStages = {"", "train", "eval"};

// Opens `bytes` and reads every point; the first error, or ok with the points in *out.
Status OpenAndReadAll(std::string bytes, std::vector<MetricPoint>* out) {
  auto r = SegmentReader::Open(std::make_shared<StringByteSource>(std::move(bytes)));
  if (!r.ok()) return r.status();
  return r->ReadOrdinals(r->first_ordinal(), r->end_ordinal(), out);
}

std::string SmallSegment(ValueCodec codec) {
  SegmentWriterOptions opt;
  opt.block_points = 64;
  opt.value_codec = codec;
  auto bytes = EncodeSegment({"acc", kStages, AdversarialSeries(200, 3)}, opt);
  REQUIRE(bytes.ok());
  return *bytes;
}

}  // namespace

TEST_CASE("segment corruption: flipping any single byte is detected") {
  for (ValueCodec codec : {ValueCodec::kGorillaXor, ValueCodec::kXorShuffleZstd, ValueCodec::kBitsDelta}) {
    const std::string good = SmallSegment(codec);
    std::vector<MetricPoint> out;
    REQUIRE(OpenAndReadAll(good, &out).ok());
    for (size_t i = 0; i < good.size(); ++i) {
      std::string bad = good;
      bad[i] = static_cast<char>(bad[i] ^ (1 << (i % 8)));
      const Status s = OpenAndReadAll(bad, &out);
      INFO("byte " << i << " of " << good.size() << ": " << s.ToString());
      REQUIRE(s.code() == StatusCode::kCorruption);
    }
  }
}

TEST_CASE("segment corruption: a damaged block names the block and the failed CRC") {
  const std::string good = SmallSegment(ValueCodec::kXorShuffleZstd);
  auto r = SegmentReader::Open(std::make_shared<StringByteSource>(good));
  REQUIRE(r.ok());
  const BlockIndexEntry second = r->info().blocks[1];
  std::string bad = good;
  bad[second.offset + second.length - 1] ^= 0x40;  // last body byte of block 1
  auto damaged = SegmentReader::Open(std::make_shared<StringByteSource>(bad));
  REQUIRE(damaged.ok());  // the footer is intact
  std::vector<MetricPoint> out;
  const Status s = damaged->ReadOrdinals(64, 128, &out);
  CHECK(s.code() == StatusCode::kCorruption);
  CHECK(s.message() == "block at ordinal 64 fails its CRC-32C check");
  // Blocks that are intact still read.
  CHECK(damaged->ReadOrdinals(0, 64, &out).ok());
  CHECK(damaged->ReadOrdinals(128, 200, &out).ok());
}

TEST_CASE("segment corruption: every truncation of the object is Corruption") {
  const std::string good = SmallSegment(ValueCodec::kGorillaXor);
  std::vector<MetricPoint> out;
  for (size_t len = 0; len < good.size(); ++len) {
    const Status s = OpenAndReadAll(good.substr(0, len), &out);
    INFO("length " << len << ": " << s.ToString());
    REQUIRE(s.code() == StatusCode::kCorruption);
  }
  CHECK(OpenAndReadAll(good.substr(0, 10), &out).message() ==
        "segment truncated: 10 bytes cannot hold a header and trailer");
  CHECK(OpenAndReadAll(good.substr(0, good.size() - 1), &out).message() ==
        "not a segment, or truncated: the object does not end with the segment trailer");
}

TEST_CASE("segment corruption: a newer format version is refused by name") {
  std::string bytes = SmallSegment(ValueCodec::kGorillaXor);
  bytes[bytes.size() - 16] = 2;  // trailer format_version
  std::vector<MetricPoint> out;
  const Status s = OpenAndReadAll(bytes, &out);
  CHECK(s.code() == StatusCode::kCorruption);
  CHECK(s.message() == "unsupported segment format version 2 (this build reads 1)");
}

TEST_CASE("segment corruption: a valid block spliced into another segment does not match its index") {
  // Two segments of the same shape: the second one's blocks carry other ordinals.
  SegmentWriterOptions opt;
  opt.block_points = 64;
  auto a = EncodeSegment({"acc", kStages, AdversarialSeries(128, 1)}, opt);
  opt.first_ordinal = 64;
  auto b = EncodeSegment({"acc", kStages, AdversarialSeries(128, 1)}, opt);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  REQUIRE(a->size() == b->size());
  auto ra = SegmentReader::Open(std::make_shared<StringByteSource>(*a));
  REQUIRE(ra.ok());
  const BlockIndexEntry e = ra->info().blocks[0];
  std::string spliced = *a;
  spliced.replace(e.offset, e.length, b->substr(e.offset, e.length));
  std::vector<MetricPoint> out;
  const Status s = OpenAndReadAll(spliced, &out);
  CHECK(s.code() == StatusCode::kCorruption);
  CHECK(s.message() == "block 0 does not match its index entry");
}

TEST_CASE("segment corruption: nothing read from an intact segment differs from what was written") {
  const std::vector<MetricPoint> pts = AdversarialSeries(200, 3);
  SegmentWriterOptions opt;
  opt.block_points = 64;
  auto bytes = EncodeSegment({"acc", kStages, pts}, opt);
  REQUIRE(bytes.ok());
  std::vector<MetricPoint> out;
  REQUIRE(OpenAndReadAll(*bytes, &out).ok());
  CHECK(FirstDifference(out, pts) == -1);
}
