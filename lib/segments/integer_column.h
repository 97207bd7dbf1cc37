// Lossless codec for a column of 64-bit integers that change smoothly: block steps, and wall
// times taken as the integer bit patterns of their doubles (for doubles of one sign and binade
// that difference is the time delta in ulps, so jittered clocks give small numbers).
//
// Layout: u64 first, u8 mode, u64 d, then per mode (the encoder picks the smallest):
//   0 constant delta  d = the delta; nothing follows              (steps 1..N cost 17 bytes)
//   1 delta-of-delta  d = first delta; u8 w[3], codes for points 2..n-1
//   2 delta above min d = smallest delta; u8 w[3], codes for points 1..n-1
//   3 packed above min d = smallest delta; u8 w, u32 exception count, delta - d for points 1..n-1
//                     in w bits each (LSB-first), then per exception (a number wider than w)
//                     varint index gap and varint (number >> w)
// A code is the Gorilla prefix scheme over an unsigned number z (zigzag(dod) in mode 1,
// delta - min_delta in mode 2): '0' for z = 0, then '10', '110', '1110' followed by z in w[0],
// w[1], w[2] bits, and '1111' followed by 64 bits. The widths are chosen per column from a fixed
// candidate set to minimise the size. Mode 3 has no serial dependency between values and decodes
// about three times faster, so it is chosen unless the codes are over 1/16 smaller. All arithmetic wraps modulo 2^64, so every input, NaN
// payloads of wall times included, round-trips bit for bit.
//
// Thread safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "runtrack/status.h"

namespace runtrack::segments {

// Appends the encoding of `values` (at least one) to `out`.
void EncodeIntegerColumn(std::span<const uint64_t> values, std::string* out);

// Decodes exactly out.size() values from `data`, which must be one whole column. Corruption if
// the bytes do not decode to exactly that many values.
Status DecodeIntegerColumn(std::string_view data, std::span<uint64_t> out);

}  // namespace runtrack::segments
