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

// Feeds data[i, end) into the gear hash `fp` (fp = 2 fp + gear[byte] per byte) and returns the
// position just past the first byte after which no bit of `mask` is set in fp, or 0 if there is
// none. Four bytes per round: the hash four bytes on is 16 fp plus a sum that does not depend on
// fp, so the chain carried from round to round is one shift and one add per four bytes, not four
// of each (1.2x faster, docs/PERFORMANCE-artifacts.md). The three hashes in between branch off
// that chain. Same results as the byte-at-a-time loop, bit for bit: unsigned arithmetic wraps the
// same either way.
size_t ScanForCut(const uint8_t* data, size_t i, size_t end, uint64_t mask, uint64_t& fp) {
  const uint64_t at_most = ~mask;  // fp has no bit of the (top-bits) mask set iff fp <= ~mask
  for (; i + 4 <= end; i += 4) {
    const uint64_t g0 = kGear[data[i]], g1 = kGear[data[i + 1]], g2 = kGear[data[i + 2]], g3 = kGear[data[i + 3]];
    const uint64_t h0 = (fp << 1) + g0;
    const uint64_t h1 = (h0 << 1) + g1;
    const uint64_t h2 = (h1 << 1) + g2;
    const uint64_t h3 = (fp << 4) + ((g0 << 3) + (g1 << 2) + (g2 << 1) + g3);
    if ((h0 <= at_most) | (h1 <= at_most) | (h2 <= at_most) | (h3 <= at_most)) {
      if (h0 <= at_most) return i + 1;
      if (h1 <= at_most) return i + 2;
      if (h2 <= at_most) return i + 3;
      return i + 4;
    }
    fp = h3;
  }
  for (; i < end; ++i) {
    fp = (fp << 1) + kGear[data[i]];
    if (fp <= at_most) return i + 1;
  }
  return 0;
}

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
  // Bytes before min_ can never end a chunk, so they are not hashed at all.
  if (size_t cut = ScanForCut(data, min_, normal, mask_small_, fp)) return cut;
  if (size_t cut = ScanForCut(data, normal, end, mask_large_, fp)) return cut;
  return end;
}

}  // namespace runtrack::artifacts
