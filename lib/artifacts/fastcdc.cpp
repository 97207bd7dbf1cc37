#include "artifacts/fastcdc.h"

#include <array>
#include <bit>
#include <string>

namespace runtrack::artifacts {
namespace {

// 256 pseudo-random 64-bit values from splitmix64 with a fixed seed. Frozen: see the header.
constexpr std::array<uint64_t, 256> MakeGearTable() {
  std::array<uint64_t, 256> table{};
  uint64_t state = 0x52554e5452414b31ULL;  // "RUNTRAK1"
  for (auto& entry : table) {
    state += 0x9e3779b97f4a7c15ULL;
    uint64_t z = state;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    entry = z ^ (z >> 31);
  }
  return table;
}
constexpr std::array<uint64_t, 256> kGear = MakeGearTable();

// The top `bits` bits: with a left-shifting gear hash the high bits depend on the last 64 bytes,
// the low bits only on the last few, so matching on high bits gives the full window.
uint64_t TopBits(int bits) { return bits <= 0 ? 0 : (~uint64_t{0}) << (64 - bits); }

}  // namespace

Status FastCdc::Validate(const ChunkingOptions& o) {
  if (o.min_size < 64 || o.min_size >= o.avg_size || o.avg_size >= o.max_size ||
      o.max_size > 64u * 1024 * 1024) {
    return Status::InvalidArgument("chunking sizes must satisfy 64 <= min < avg < max <= 64 MiB, got min " +
                                   std::to_string(o.min_size) + ", avg " + std::to_string(o.avg_size) +
                                   ", max " + std::to_string(o.max_size));
  }
  return Status::Ok();
}

FastCdc::FastCdc(const ChunkingOptions& o) : min_(o.min_size), avg_(o.avg_size), max_(o.max_size) {
  int bits = std::bit_width(static_cast<uint32_t>(o.avg_size)) - 1;  // floor(log2(avg))
  if ((o.avg_size - (1u << bits)) > (1u << bits) / 2) ++bits;           // round to nearest
  mask_small_ = TopBits(bits + 2);
  mask_large_ = TopBits(bits - 2);
}

size_t FastCdc::FindCut(const uint8_t* data, size_t n) const {
  if (n <= min_) return n;
  const size_t end = n < max_ ? n : max_;
  const size_t normal = end < avg_ ? end : avg_;
  uint64_t fp = 0;
  size_t i = min_;  // bytes before min_ can never end a chunk, so they are not hashed at all
  for (; i < normal; ++i) {
    fp = (fp << 1) + kGear[data[i]];
    if ((fp & mask_small_) == 0) return i + 1;
  }
  for (; i < end; ++i) {
    fp = (fp << 1) + kGear[data[i]];
    if ((fp & mask_large_) == 0) return i + 1;
  }
  return end;
}

}  // namespace runtrack::artifacts
