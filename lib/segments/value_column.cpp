#include "segments/value_column.h"

#include <bit>
#include <cstring>
#include <memory>
#include <vector>

#include "segments/bit_stream.h"
#include "segments/integer_column.h"
#include "segments/zstd_frame.h"

namespace runtrack::segments {
namespace {

void EncodeGorilla(std::span<const uint64_t> bits, std::string* out) {
  BitWriter w(out);
  if (bits.empty()) return w.Finish();
  w.Write(bits[0], 64);
  unsigned window_lead = 65, window_trail = 0;  // no window yet
  for (size_t i = 1; i < bits.size(); ++i) {
    const uint64_t x = bits[i] ^ bits[i - 1];
    if (x == 0) {
      w.Write(0, 1);
      continue;
    }
    const unsigned lead = static_cast<unsigned>(std::countl_zero(x));
    const unsigned trail = static_cast<unsigned>(std::countr_zero(x));
    if (window_lead <= 64 && lead >= window_lead && trail >= window_trail) {
      w.Write(0b01, 2);  // LSB-first: '1' then '0'
      w.Write(x >> window_trail, 64 - window_lead - window_trail);
    } else {
      const unsigned length = 64 - lead - trail;
      w.Write(0b11, 2);
      w.Write(lead, 6);
      w.Write(length - 1, 6);
      w.Write(x >> trail, length);
      window_lead = lead;
      window_trail = trail;
    }
  }
  w.Finish();
}

Status DecodeGorilla(std::string_view data, std::span<uint64_t> out) {
  if (out.empty()) return Status::Ok();
  BitReader r(data);
  uint64_t prev = r.ReadWide(64);
  out[0] = prev;
  unsigned trail = 0, length = 0;
  bool have_window = false;
  // Decoding is a serial chain through the bit position; payloads are cut from the same Peek as
  // their control bits whenever they fit in its >= 57 bits.
  for (size_t i = 1; i < out.size(); ++i) {
    const uint64_t peek = r.Peek();
    if ((peek & 1) == 0) {
      r.Skip(1);
    } else {
      unsigned control = 2;
      if ((peek & 2) == 0) {
        if (!have_window) [[unlikely]] {
          return Status::Corruption("gorilla value column reuses a window before defining one");
        }
      } else {
        const unsigned lead = static_cast<unsigned>((peek >> 2) & 63);
        length = static_cast<unsigned>((peek >> 8) & 63) + 1;
        if (lead + length > 64) [[unlikely]] return Status::Corruption("gorilla value column window exceeds 64 bits");
        trail = 64 - lead - length;
        have_window = true;
        control = 14;
      }
      uint64_t x;
      if (control + length <= 57) {
        x = (peek >> control) & ((uint64_t{1} << length) - 1);
        r.Skip(control + length);
      } else {
        r.Skip(control);
        x = r.ReadWide(length);
      }
      prev ^= x << trail;
    }
    out[i] = prev;
  }
  if (r.overran()) return Status::Corruption("gorilla value column ends before its last value");
  return Status::Ok();
}

// in[b] holds byte b of eight consecutive values (value k in byte k); out[k] gets value k.
// Classic three-step transpose of an 8x8 byte matrix held in eight words.
[[gnu::always_inline]] inline void Transpose8x8(const uint64_t in[8], uint64_t out[8]) {
  uint64_t a[8];
  for (size_t k = 0; k < 8; ++k) a[k] = in[k];
  // Swap 4-byte blocks between rows k and k+4, 2-byte blocks between k and k+2, bytes between k and k+1.
  for (size_t k = 0; k < 4; ++k) {
    const uint64_t t = ((a[k] >> 32) ^ a[k + 4]) & 0x00000000FFFFFFFFull;
    a[k] ^= t << 32;
    a[k + 4] ^= t;
  }
  for (size_t k : {0, 1, 4, 5}) {
    const uint64_t t = ((a[k] >> 16) ^ a[k + 2]) & 0x0000FFFF0000FFFFull;
    a[k] ^= t << 16;
    a[k + 2] ^= t;
  }
  for (size_t k : {0, 2, 4, 6}) {
    const uint64_t t = ((a[k] >> 8) ^ a[k + 1]) & 0x00FF00FF00FF00FFull;
    a[k] ^= t << 8;
    a[k + 1] ^= t;
  }
  for (size_t k = 0; k < 8; ++k) out[k] = a[k];
}

void EncodeXorShuffleZstd(std::span<const uint64_t> bits, int level, std::string* out) {
  const size_t n = bits.size();
  std::string planes(n * 8, '\0');
  uint64_t prev = 0;
  for (size_t i = 0; i < n; ++i) {
    const uint64_t x = bits[i] ^ prev;
    prev = bits[i];
    for (size_t b = 0; b < 8; ++b) planes[b * n + i] = static_cast<char>(x >> (8 * b));
  }
  AppendZstdFrame(planes, level, out);
}

Status DecodeXorShuffleZstd(std::string_view data, std::span<uint64_t> out) {
  const size_t n = out.size();
  // Scratch reused per thread: decoding is on the query path and blocks are small.
  thread_local std::vector<uint8_t> planes;
  RUNTRACK_RETURN_IF_ERROR(DecompressZstdFrame(data, n * 8, &planes));
  const uint8_t* p = planes.data();
  uint64_t prev = 0;
  size_t i = 0;
  // Eight values at a time: one 8-byte load per plane, then an 8x8 byte transpose in registers.
  for (; i + 8 <= n; i += 8) {
    uint64_t row[8];
    for (size_t b = 0; b < 8; ++b) std::memcpy(&row[b], p + b * n + i, 8);
    uint64_t x[8];
    Transpose8x8(row, x);
    for (size_t k = 0; k < 8; ++k) {
      prev ^= x[k];
      out[i + k] = prev;
    }
  }
  for (; i < n; ++i) {
    const uint64_t x = uint64_t{p[i]} | uint64_t{p[n + i]} << 8 | uint64_t{p[2 * n + i]} << 16 |
                       uint64_t{p[3 * n + i]} << 24 | uint64_t{p[4 * n + i]} << 32 |
                       uint64_t{p[5 * n + i]} << 40 | uint64_t{p[6 * n + i]} << 48 | uint64_t{p[7 * n + i]} << 56;
    prev ^= x;
    out[i] = prev;
  }
  return Status::Ok();
}

}  // namespace

void EncodeValueColumn(ValueCodec codec, std::span<const uint64_t> bits, int zstd_level, std::string* out) {
  if (codec == ValueCodec::kXorShuffleZstd) return EncodeXorShuffleZstd(bits, zstd_level, out);
  if (codec == ValueCodec::kBitsDelta) {
    if (!bits.empty()) EncodeIntegerColumn(bits, out);
    return;
  }
  EncodeGorilla(bits, out);
}

Status DecodeValueColumn(ValueCodec codec, std::string_view data, std::span<uint64_t> out) {
  switch (codec) {
    case ValueCodec::kGorillaXor: return DecodeGorilla(data, out);
    case ValueCodec::kXorShuffleZstd: return DecodeXorShuffleZstd(data, out);
    case ValueCodec::kBitsDelta: return out.empty() ? Status::Ok() : DecodeIntegerColumn(data, out);
  }
  return Status::Corruption("unknown value codec " + std::to_string(static_cast<int>(codec)));
}

}  // namespace runtrack::segments
