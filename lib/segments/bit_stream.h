// Bit-granular streams for the Gorilla-style column codecs. Bits are packed LSB-first into
// little-endian 64-bit words, so the reader fetches up to 57 bits with one unaligned load and a
// shift. The reader never touches memory outside its span: past the end it reads zeros and
// overran() reports it, which decoders turn into a Corruption status.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace runtrack::segments {

class BitWriter {
 public:
  explicit BitWriter(std::string* out) : out_(out) {}

  // Appends the low `n` bits of `v` (0 <= n <= 64).
  void Write(uint64_t v, unsigned n) {
    if (n == 0) return;
    if (n < 64) v &= (uint64_t{1} << n) - 1;
    acc_ |= v << used_;
    if (used_ + n >= 64) {
      out_->append(reinterpret_cast<const char*>(&acc_), 8);
      acc_ = used_ == 0 ? 0 : v >> (64 - used_);
      used_ = used_ + n - 64;
    } else {
      used_ += n;
    }
  }
  // Writes the partial last word (whole bytes only). Call once, after the last Write.
  void Finish() {
    out_->append(reinterpret_cast<const char*>(&acc_), (used_ + 7) / 8);
    acc_ = 0;
    used_ = 0;
  }

 private:
  std::string* out_;
  uint64_t acc_ = 0;
  unsigned used_ = 0;  // bits of acc_ in use, always < 64
};

class BitReader {
 public:
  explicit BitReader(std::string_view data) : data_(data), total_bits_(uint64_t{data.size()} * 8) {}

  // The next 57 or more bits, unconsumed (zeros past the end).
  [[gnu::always_inline]] uint64_t Peek() const {
    const size_t byte = static_cast<size_t>(pos_ >> 3);
    uint64_t word = 0;
    if (byte + 8 <= data_.size()) {
      std::memcpy(&word, data_.data() + byte, 8);
    } else if (byte < data_.size()) {
      std::memcpy(&word, data_.data() + byte, data_.size() - byte);
    }
    return word >> (pos_ & 7);
  }
  void Skip(unsigned n) { pos_ += n; }
  // Reads n <= 56 bits.
  uint64_t Read(unsigned n) {
    const uint64_t v = n == 0 ? 0 : Peek() & ((uint64_t{1} << n) - 1);
    pos_ += n;
    return v;
  }
  // Reads n <= 64 bits.
  uint64_t ReadWide(unsigned n) {
    if (n <= 56) return Read(n);
    const uint64_t lo = Read(32);
    return lo | (Read(n - 32) << 32);
  }
  bool overran() const { return pos_ > total_bits_; }

 private:
  std::string_view data_;
  uint64_t total_bits_;
  uint64_t pos_ = 0;
};

}  // namespace runtrack::segments
