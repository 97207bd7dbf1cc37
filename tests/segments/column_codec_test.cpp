// Column codecs on their own: every 64-bit pattern comes back, for every mode and codec.
#include <catch2/catch.hpp>

#include <limits>
#include <random>
#include <string>
#include <vector>

#include "segment_test_util.h"
#include "segments/integer_column.h"
#include "segments/value_column.h"

using namespace runtrack;
using namespace runtrack::segments;
using runtrack::testing::AdversarialValues;
using runtrack::testing::Bits;

namespace {

std::vector<uint64_t> IntegerRoundTrip(const std::vector<uint64_t>& in, std::string* encoded = nullptr) {
  std::string bytes;
  EncodeIntegerColumn(in, &bytes);
  std::vector<uint64_t> out(in.size(), 0xABABABABABABABABull);
  const Status s = DecodeIntegerColumn(bytes, out);
  REQUIRE(s.ok());
  if (encoded) *encoded = bytes;
  return out;
}

std::vector<uint64_t> ValueRoundTrip(ValueCodec codec, const std::vector<uint64_t>& in) {
  std::string bytes;
  EncodeValueColumn(codec, in, 3, &bytes);
  std::vector<uint64_t> out(in.size(), 0xABABABABABABABABull);
  const Status s = DecodeValueColumn(codec, bytes, out);
  REQUIRE(s.ok());
  return out;
}

}  // namespace

TEST_CASE("integer column: arithmetic steps use the constant-delta mode (17 bytes)") {
  std::vector<uint64_t> steps;
  for (uint64_t i = 1; i <= 1024; ++i) steps.push_back(i * 5);
  std::string bytes;
  CHECK(IntegerRoundTrip(steps, &bytes) == steps);
  CHECK(bytes.size() == 17);
  CHECK(bytes[8] == 0);  // mode byte
}

TEST_CASE("integer column: one value, two values, extremes and wraparound round-trip") {
  const uint64_t max = std::numeric_limits<uint64_t>::max();
  for (const std::vector<uint64_t>& in : std::vector<std::vector<uint64_t>>{
           {42},
           {0, max},
           {max, 0, max, 0, 1},
           {uint64_t{1} << 63, (uint64_t{1} << 63) - 1, 0, uint64_t{1} << 63},
           {5, 5, 5, 5, 5, 6, 5, 5}}) {
    CHECK(IntegerRoundTrip(in) == in);
  }
}

TEST_CASE("integer column: random jittered and random-walk sequences round-trip in every coded mode") {
  std::mt19937_64 rng(1);
  for (int trial = 0; trial < 50; ++trial) {
    std::vector<uint64_t> in(1 + rng() % 3000);
    uint64_t v = rng();
    const unsigned spread = 1 + static_cast<unsigned>(rng() % 64);
    for (auto& x : in) {
      const uint64_t jitter = spread >= 64 ? rng() : rng() & ((uint64_t{1} << spread) - 1);
      v += trial % 2 ? jitter : 1000 + jitter;
      x = v;
    }
    std::string bytes;
    CHECK(IntegerRoundTrip(in, &bytes) == in);
  }
}

TEST_CASE("integer column: truncated or mangled bytes are Corruption, never a crash") {
  std::vector<uint64_t> in;
  std::mt19937_64 rng(2);
  uint64_t v = 0;
  for (int i = 0; i < 500; ++i) in.push_back(v += rng() % 100000);
  std::string bytes;
  EncodeIntegerColumn(in, &bytes);
  std::vector<uint64_t> out(in.size());
  for (size_t cut = 0; cut < bytes.size(); cut += 7) {
    const Status s = DecodeIntegerColumn(std::string_view(bytes).substr(0, cut), out);
    CHECK(s.code() == StatusCode::kCorruption);
  }
  std::string bad_mode = bytes;
  bad_mode[8] = 9;
  CHECK(DecodeIntegerColumn(bad_mode, out).code() == StatusCode::kCorruption);
}

TEST_CASE("value codecs: every adversarial bit pattern round-trips exactly") {
  std::vector<uint64_t> in;
  for (double d : AdversarialValues()) in.push_back(Bits(d));
  std::mt19937_64 rng(3);
  for (int i = 0; i < 2000; ++i) {
    const std::vector<double> special = AdversarialValues();
    in.push_back(rng() % 2 ? rng() : Bits(special[rng() % special.size()]));
  }
  for (ValueCodec codec : {ValueCodec::kGorillaXor, ValueCodec::kXorShuffleZstd, ValueCodec::kBitsDelta}) {
    INFO("codec " << static_cast<int>(codec));
    CHECK(ValueRoundTrip(codec, in) == in);
    const std::vector<uint64_t> one = {Bits(-0.0)};
    CHECK(ValueRoundTrip(codec, one) == one);
    const std::vector<uint64_t> same(1000, Bits(std::numeric_limits<double>::quiet_NaN()));
    CHECK(ValueRoundTrip(codec, same) == same);
    const std::vector<uint64_t> none;
    CHECK(ValueRoundTrip(codec, none).empty());
  }
}

TEST_CASE("value codecs: a repeated value costs one bit in Gorilla, almost nothing with zstd") {
  const std::vector<uint64_t> same(1024, Bits(0.5));
  std::string gorilla, zstd;
  EncodeValueColumn(ValueCodec::kGorillaXor, same, 3, &gorilla);
  EncodeValueColumn(ValueCodec::kXorShuffleZstd, same, 3, &zstd);
  CHECK(gorilla.size() == (64 + 1023 + 7) / 8);
  CHECK(zstd.size() < 64);
}

TEST_CASE("value codecs: short or malformed input is Corruption") {
  std::vector<uint64_t> in;
  std::mt19937_64 rng(4);
  for (int i = 0; i < 300; ++i) in.push_back(rng());
  std::vector<uint64_t> out(in.size());
  for (ValueCodec codec : {ValueCodec::kGorillaXor, ValueCodec::kXorShuffleZstd, ValueCodec::kBitsDelta}) {
    std::string bytes;
    EncodeValueColumn(codec, in, 3, &bytes);
    const Status s = DecodeValueColumn(codec, std::string_view(bytes).substr(0, bytes.size() / 2), out);
    CHECK(s.code() == StatusCode::kCorruption);
  }
  CHECK(DecodeValueColumn(static_cast<ValueCodec>(77), "", out).code() == StatusCode::kCorruption);
  // A zstd frame that holds a different number of values than the block says.
  std::string bytes;
  EncodeValueColumn(ValueCodec::kXorShuffleZstd, in, 3, &bytes);
  std::vector<uint64_t> fewer(in.size() - 1);
  CHECK(DecodeValueColumn(ValueCodec::kXorShuffleZstd, bytes, fewer).code() == StatusCode::kCorruption);
}

TEST_CASE("integer column: jittered clocks with rare pauses are bit-packed with exceptions") {
  std::mt19937_64 rng(5);
  std::vector<uint64_t> in;
  uint64_t v = 0x41D954FC40000000ull;  // bit pattern of a wall time near 1.7e9
  for (int i = 0; i < 4096; ++i) {
    v += 4000 + rng() % 2000;
    if (i % 1000 == 999) v += uint64_t{1} << 40;  // a pause: far wider than the packing width
    in.push_back(v);
  }
  std::string bytes;
  CHECK(IntegerRoundTrip(in, &bytes) == in);
  CHECK(bytes[8] == 3);  // mode: packed
  CHECK(bytes.size() < 4096 * 12 / 8 + 64);  // ~11 bits per value plus four exceptions

  // Damaged exception lists are Corruption.
  std::vector<uint64_t> out(in.size());
  std::string truncated = bytes.substr(0, bytes.size() - 1);
  CHECK(DecodeIntegerColumn(truncated, out).code() == StatusCode::kCorruption);
  std::string extra = bytes + '\0';
  CHECK(DecodeIntegerColumn(extra, out).code() == StatusCode::kCorruption);
}

TEST_CASE("integer column: each coded mode is chosen where it is smallest, and round-trips") {
  std::mt19937_64 rng(6);
  // Accelerating counter: constant second difference, so delta-of-delta codes win (mode 1).
  std::vector<uint64_t> quadratic;
  for (uint64_t i = 0; i < 4096; ++i) quadratic.push_back(i * i * 3 + (rng() % 8 == 0 ? 1 : 0));
  std::string bytes;
  CHECK(IntegerRoundTrip(quadratic, &bytes) == quadratic);
  CHECK(bytes[8] == 1);
  // Mostly equal deltas, a quarter 1-3 larger: one bit for most, so prefix codes (about 1.75
  // bits each) beat packing (2 bits each) by more than 1/16 (mode 2).
  std::vector<uint64_t> sparse;
  uint64_t v = 1000;
  for (int i = 0; i < 4096; ++i) sparse.push_back(v += 10 + (rng() % 4 == 0 ? 1 + rng() % 3 : 0));
  CHECK(IntegerRoundTrip(sparse, &bytes) == sparse);
  CHECK(bytes[8] == 2);
}
