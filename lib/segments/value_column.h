// Lossless codecs for a column of float64 values, compared in bench_segments (numbers in
// docs/FORMATS-segments.md). Values are handled as their 64-bit patterns, so NaN payloads, -0.0,
// +/-Inf and denormals round-trip bit for bit.
//
//   kGorillaXor   Gorilla (Pelkonen et al., VLDB 2015): the first value's 64 bits, then per value
//                 x = bits ^ previous bits as '0' (x = 0), '10' + the meaningful bits inside the
//                 previous leading/trailing-zero window, or '11' + u6 leading zeros + u6 (length-1)
//                 + the meaningful bits.
//   kXorShuffleZstd  x = bits ^ previous bits (x0 = bits of the first value), split into 8 byte
//                 planes (all low bytes, then the next byte, ...), one zstd frame over the planes.
//   kBitsDelta    the bit patterns as integers through EncodeIntegerColumn (delta-of-delta or
//                 delta codes): a smooth float64 curve of one sign, such as a decaying learning
//                 rate, has nearly linear bit patterns, so its second differences are tiny.
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "runtrack/status.h"

namespace runtrack::segments {

enum class ValueCodec : uint8_t {
  kGorillaXor = 1,
  kXorShuffleZstd = 2,
  kBitsDelta = 3,
};

// Appends the encoding of `bits` (value bit patterns) to `out`. `zstd_level` is used by
// kXorShuffleZstd only.
void EncodeValueColumn(ValueCodec codec, std::span<const uint64_t> bits, int zstd_level, std::string* out);

// Decodes exactly out.size() bit patterns; Corruption for an unknown codec or malformed bytes.
Status DecodeValueColumn(ValueCodec codec, std::string_view data, std::span<uint64_t> out);

}  // namespace runtrack::segments
