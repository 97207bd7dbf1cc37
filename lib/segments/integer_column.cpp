#include "segments/integer_column.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <vector>

#include "segments/bit_stream.h"
#include "segments/byte_io.h"

namespace runtrack::segments {
namespace {

enum Mode : uint8_t { kConstantDelta = 0, kDeltaOfDelta = 1, kDeltaAboveMin = 2, kPackedAboveMin = 3 };

constexpr unsigned kMaxPackedWidth = 56;  // one unaligned 8-byte load reaches any packed value

constexpr unsigned kWideBits = 64;  // the escape bucket carries the whole number
constexpr std::array<uint8_t, 16> kWidthCandidates = {1, 2, 3, 4, 5, 6, 8, 10, 12, 14, 16, 20, 24, 32, 40, 48};

struct Widths {
  std::array<uint8_t, 3> w;
};

unsigned BitWidth(uint64_t z) { return static_cast<unsigned>(std::bit_width(z)); }

// Cheapest widths for numbers whose bit widths have histogram `hist` (index = bit width 0..64),
// and the total size in bits.
std::pair<Widths, uint64_t> ChooseWidths(const std::array<uint64_t, 65>& hist) {
  std::array<uint64_t, 66> upto{};  // upto[b] = count of numbers with width < b
  for (size_t b = 0; b <= 64; ++b) upto[b + 1] = upto[b] + hist[b];
  const uint64_t total = upto[65];
  Widths best{{kWidthCandidates[0], kWidthCandidates[1], kWidthCandidates[2]}};
  uint64_t best_bits = UINT64_MAX;
  for (size_t a = 0; a < kWidthCandidates.size(); ++a) {
    for (size_t b = a + 1; b < kWidthCandidates.size(); ++b) {
      for (size_t c = b + 1; c < kWidthCandidates.size(); ++c) {
        const unsigned w0 = kWidthCandidates[a], w1 = kWidthCandidates[b], w2 = kWidthCandidates[c];
        const uint64_t zero = hist[0];
        const uint64_t in0 = upto[w0 + 1] - upto[1];
        const uint64_t in1 = upto[w1 + 1] - upto[w0 + 1];
        const uint64_t in2 = upto[w2 + 1] - upto[w1 + 1];
        const uint64_t wide = total - upto[w2 + 1];
        const uint64_t bits = zero + in0 * (2 + w0) + in1 * (3 + w1) + in2 * (4 + w2) + wide * (4 + kWideBits);
        if (bits < best_bits) {
          best_bits = bits;
          best.w = {static_cast<uint8_t>(w0), static_cast<uint8_t>(w1), static_cast<uint8_t>(w2)};
        }
      }
    }
  }
  return {best, best_bits};
}

void WriteCode(BitWriter& bits, uint64_t z, const Widths& widths) {
  if (z == 0) {
    bits.Write(0, 1);
    return;
  }
  const unsigned width = BitWidth(z);
  if (width <= widths.w[0]) {
    bits.Write(0b01, 2);  // LSB-first: '1' then '0'
    bits.Write(z, widths.w[0]);
  } else if (width <= widths.w[1]) {
    bits.Write(0b011, 3);
    bits.Write(z, widths.w[1]);
  } else if (width <= widths.w[2]) {
    bits.Write(0b0111, 4);
    bits.Write(z, widths.w[2]);
  } else {
    bits.Write(0b1111, 4);
    bits.Write(z, kWideBits);
  }
}

// Decoding table for one column: the payload width for 0..4 leading ones, packed one per byte
// in a register, so a code's width costs a shift instead of a dependent memory load (decoding is
// a serial chain through the bit position, so its latency is the decode speed).
struct CodeTable {
  uint64_t widths;
  explicit CodeTable(const Widths& w)
      : widths(uint64_t{w.w[0]} << 8 | uint64_t{w.w[1]} << 16 | uint64_t{w.w[2]} << 24 | uint64_t{kWideBits} << 32) {}
};

// One load per code: prefix (<= 4 bits) plus a payload of <= 48 bits fit in the >= 57 bits a
// Peek returns; only the 64-bit escape needs a second read.
[[gnu::always_inline]] inline uint64_t ReadCode(BitReader& bits, const CodeTable& table) {
  const uint64_t peek = bits.Peek();
  const unsigned ones = static_cast<unsigned>(std::min(4, std::countr_one(peek)));
  const unsigned prefix = ones + (ones < 4);  // '0', '10', '110', '1110', '1111'
  const unsigned width = static_cast<unsigned>(table.widths >> (8 * ones)) & 0xFF;
  if (width == kWideBits) [[unlikely]] {
    bits.Skip(prefix);
    return bits.ReadWide(kWideBits);
  }
  bits.Skip(prefix + width);
  return (peek >> prefix) & ((uint64_t{1} << width) - 1);
}

void WriteCodes(std::span<const uint64_t> zs, std::string* out) {
  std::array<uint64_t, 65> hist{};
  for (uint64_t z : zs) ++hist[BitWidth(z)];
  const Widths widths = ChooseWidths(hist).first;
  for (uint8_t w : widths.w) PutU8(out, w);
  BitWriter bits(out);
  for (uint64_t z : zs) WriteCode(bits, z, widths);
  bits.Finish();
}

uint64_t CodesBits(std::span<const uint64_t> zs) {
  std::array<uint64_t, 65> hist{};
  for (uint64_t z : zs) ++hist[BitWidth(z)];
  return ChooseWidths(hist).second;
}

// Patched bit packing of zs: every number in `width` bits at a fixed stride, the high bits of the
// few that do not fit listed after them. Positions do not depend on earlier values, so decoding
// has no serial chain (unlike the prefix codes).
unsigned ChoosePackedWidth(std::span<const uint64_t> zs) {
  std::array<uint64_t, 65> hist{};
  for (uint64_t z : zs) ++hist[BitWidth(z)];
  unsigned best = 0;
  uint64_t best_bits = UINT64_MAX;
  for (unsigned w = 0; w <= kMaxPackedWidth; ++w) {
    uint64_t bits = uint64_t{zs.size()} * w;
    for (unsigned b = w + 1; b <= 64; ++b) bits += hist[b] * (16 + 8 * ((b - w + 6) / 7));  // ~index + high part
    if (bits < best_bits) {
      best_bits = bits;
      best = w;
    }
  }
  return best;
}

void WritePacked(std::span<const uint64_t> zs, std::string* out) {
  const unsigned w = ChoosePackedWidth(zs);
  const uint64_t mask = w == 0 ? 0 : (uint64_t{1} << w) - 1;
  std::vector<size_t> exceptions;
  for (size_t i = 0; i < zs.size(); ++i) {
    if ((zs[i] & ~mask) != 0) exceptions.push_back(i);
  }
  PutU8(out, static_cast<uint8_t>(w));
  PutU32(out, static_cast<uint32_t>(exceptions.size()));
  BitWriter bits(out);
  for (uint64_t z : zs) bits.Write(z, w);
  bits.Finish();
  size_t prev = 0;
  for (size_t k = 0; k < exceptions.size(); ++k) {
    const size_t i = exceptions[k];
    PutVarint(out, k == 0 ? i : i - prev - 1);
    PutVarint(out, zs[i] >> w);
    prev = i;
  }
}

// Decodes `m` packed numbers into z[0..m).
Status ReadPacked(ByteCursor& cursor, size_t m, uint64_t* z) {
  uint8_t w = 0;
  uint32_t exception_count = 0;
  cursor.GetU8(&w);
  cursor.GetU32(&exception_count);
  if (cursor.failed()) return Status::Corruption("packed integer column shorter than its header");
  if (w > kMaxPackedWidth) return Status::Corruption("packed integer column width " + std::to_string(w) + " out of range");
  if (exception_count > m) return Status::Corruption("packed integer column has more exceptions than values");
  std::string_view packed;
  if (!cursor.GetBytes((uint64_t{m} * w + 7) / 8, &packed)) return Status::Corruption("packed integer column truncated");
  const uint64_t mask = w == 0 ? 0 : (uint64_t{1} << w) - 1;
  const char* p = packed.data();
  size_t i = 0;
  for (; i < m; ++i) {
    const uint64_t bit = uint64_t{i} * w;
    if ((bit >> 3) + 8 > packed.size()) break;
    uint64_t word;
    std::memcpy(&word, p + (bit >> 3), 8);
    z[i] = (word >> (bit & 7)) & mask;
  }
  for (; i < m; ++i) {  // the last few values: load only the bytes that exist
    const uint64_t bit = uint64_t{i} * w;
    uint64_t word = 0;
    std::memcpy(&word, p + (bit >> 3), std::min<size_t>(8, packed.size() - (bit >> 3)));
    z[i] = (word >> (bit & 7)) & mask;
  }
  size_t index = 0;
  for (uint32_t k = 0; k < exception_count; ++k) {
    uint64_t gap = 0, high = 0;
    if (!cursor.GetVarint(&gap) || !cursor.GetVarint(&high)) return Status::Corruption("packed integer column exceptions truncated");
    if (gap >= m - (k == 0 ? 0 : index + 1) || (w > 0 && (high >> (64 - w)) != 0)) {
      return Status::Corruption("packed integer column exception out of range");
    }
    index = k == 0 ? gap : index + 1 + gap;
    z[index] |= w == 0 ? high : high << w;
  }
  if (cursor.remaining() != 0) return Status::Corruption("packed integer column has trailing bytes");
  return Status::Ok();
}

}  // namespace

void EncodeIntegerColumn(std::span<const uint64_t> values, std::string* out) {
  const size_t n = values.size();
  const uint64_t first = values.empty() ? 0 : values[0];
  const uint64_t first_delta = n > 1 ? values[1] - values[0] : 0;
  std::vector<uint64_t> dods;  // zigzag(delta-of-delta) for points 2..n-1
  std::vector<uint64_t> above;  // delta - min_delta for points 1..n-1
  dods.reserve(n);
  above.reserve(n);
  int64_t min_delta = n > 1 ? static_cast<int64_t>(first_delta) : 0;
  for (size_t i = 1; i < n; ++i) min_delta = std::min(min_delta, static_cast<int64_t>(values[i] - values[i - 1]));
  bool constant = true;
  for (size_t i = 1; i < n; ++i) {
    const uint64_t delta = values[i] - values[i - 1];
    above.push_back(delta - static_cast<uint64_t>(min_delta));
    if (i >= 2) {
      const uint64_t dod = delta - (values[i - 1] - values[i - 2]);
      constant &= dod == 0;
      dods.push_back(ZigZag(dod));
    }
  }
  PutU64(out, first);
  if (constant) {
    PutU8(out, kConstantDelta);
    PutU64(out, first_delta);
    return;
  }
  // Packing decodes about three times faster than prefix codes, so it is kept unless the codes
  // are more than 1/16 smaller.
  std::string packed;
  WritePacked(above, &packed);
  const uint64_t dod_bytes = 3 + (CodesBits(dods) + 7) / 8, above_bytes = 3 + (CodesBits(above) + 7) / 8;
  const uint64_t codes_bytes = std::min(dod_bytes, above_bytes);
  if (packed.size() <= codes_bytes + codes_bytes / 16) {
    PutU8(out, kPackedAboveMin);
    PutU64(out, static_cast<uint64_t>(min_delta));
    out->append(packed);
  } else if (dod_bytes <= above_bytes) {
    PutU8(out, kDeltaOfDelta);
    PutU64(out, first_delta);
    WriteCodes(dods, out);
  } else {
    PutU8(out, kDeltaAboveMin);
    PutU64(out, static_cast<uint64_t>(min_delta));
    WriteCodes(above, out);
  }
}

Status DecodeIntegerColumn(std::string_view data, std::span<uint64_t> out) {
  const size_t n = out.size();
  ByteCursor cursor(data);
  uint64_t first = 0, delta = 0;
  uint8_t mode = 0;
  cursor.GetU64(&first);
  cursor.GetU8(&mode);
  cursor.GetU64(&delta);
  if (cursor.failed()) return Status::Corruption("integer column shorter than its header");
  if (n == 0) return Status::Corruption("integer column for zero values");
  out[0] = first;
  if (mode == kConstantDelta) {
    if (cursor.remaining() != 0) return Status::Corruption("constant-delta integer column has trailing bytes");
    for (size_t i = 1; i < n; ++i) out[i] = out[i - 1] + delta;
    return Status::Ok();
  }
  if (mode == kPackedAboveMin) {
    RUNTRACK_RETURN_IF_ERROR(ReadPacked(cursor, n - 1, out.data() + 1));
    for (size_t i = 1; i < n; ++i) out[i] += out[i - 1] + delta;
    return Status::Ok();
  }
  if (mode != kDeltaOfDelta && mode != kDeltaAboveMin) {
    return Status::Corruption("unknown integer column mode " + std::to_string(mode));
  }
  Widths widths;
  for (uint8_t& w : widths.w) cursor.GetU8(&w);
  if (cursor.failed()) return Status::Corruption("integer column shorter than its header");
  for (uint8_t w : widths.w) {
    if (w == 0 || w > 48) return Status::Corruption("integer column code width " + std::to_string(w) + " out of range");
  }
  std::string_view payload;
  cursor.GetBytes(cursor.remaining(), &payload);
  BitReader bits(payload);
  const CodeTable table(widths);
  if (mode == kDeltaOfDelta) {
    if (n > 1) out[1] = first + delta;
    for (size_t i = 2; i < n; ++i) {
      delta += UnZigZag(ReadCode(bits, table));
      out[i] = out[i - 1] + delta;
    }
  } else {
    for (size_t i = 1; i < n; ++i) out[i] = out[i - 1] + delta + ReadCode(bits, table);
  }
  if (bits.overran()) return Status::Corruption("integer column ends before its last value");
  return Status::Ok();
}

}  // namespace runtrack::segments
