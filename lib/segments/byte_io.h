// Little-endian fixed-width and LEB128 varint encoding for the segment and LOD formats, plus a
// bounds-checked cursor for decoding untrusted bytes. Every Get* on ByteCursor fails (returns
// false and latches `failed()`) instead of reading past the end, so a decoder can run a sequence
// of reads and check once.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace runtrack::segments {

inline void PutU8(std::string* out, uint8_t v) { out->push_back(static_cast<char>(v)); }
inline void PutU32(std::string* out, uint32_t v) { out->append(reinterpret_cast<const char*>(&v), 4); }
inline void PutU64(std::string* out, uint64_t v) { out->append(reinterpret_cast<const char*>(&v), 8); }
inline void PutI64(std::string* out, int64_t v) { out->append(reinterpret_cast<const char*>(&v), 8); }
inline void PutF64(std::string* out, double v) { out->append(reinterpret_cast<const char*>(&v), 8); }
inline void PutVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

template <typename T>
inline T LoadLE(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof v);  // little-endian host assumed (x86-64, aarch64), as in the journal
  return v;
}
template <typename T>
inline void StoreLE(char* p, T v) {
  std::memcpy(p, &v, sizeof v);
}

inline uint64_t DoubleBits(double d) {
  uint64_t u;
  std::memcpy(&u, &d, 8);
  return u;
}
inline double BitsDouble(uint64_t u) {
  double d;
  std::memcpy(&d, &u, 8);
  return d;
}

// Signed <-> unsigned so small magnitudes of either sign become small numbers.
inline uint64_t ZigZag(uint64_t v) { return (v << 1) ^ (0 - (v >> 63)); }
inline uint64_t UnZigZag(uint64_t z) { return (z >> 1) ^ (0 - (z & 1)); }

class ByteCursor {
 public:
  explicit ByteCursor(std::string_view data) : data_(data) {}

  bool GetU8(uint8_t* v) { return GetFixed(v); }
  bool GetU32(uint32_t* v) { return GetFixed(v); }
  bool GetU64(uint64_t* v) { return GetFixed(v); }
  bool GetI64(int64_t* v) { return GetFixed(v); }
  bool GetF64(double* v) { return GetFixed(v); }
  bool GetVarint(uint64_t* v) {
    uint64_t result = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
      if (pos_ >= data_.size()) return Fail();
      const auto byte = static_cast<uint8_t>(data_[pos_++]);
      result |= static_cast<uint64_t>(byte & 0x7F) << shift;
      if ((byte & 0x80) == 0) {
        *v = result;
        return true;
      }
    }
    return Fail();  // more than 10 bytes: not a varint we wrote
  }
  bool GetBytes(size_t n, std::string_view* v) {
    if (failed_ || n > data_.size() - pos_) return Fail();
    *v = data_.substr(pos_, n);
    pos_ += n;
    return true;
  }

  size_t position() const { return pos_; }
  size_t remaining() const { return data_.size() - pos_; }
  bool failed() const { return failed_; }

 private:
  template <typename T>
  bool GetFixed(T* v) {
    if (failed_ || data_.size() - pos_ < sizeof(T)) return Fail();
    *v = LoadLE<T>(data_.data() + pos_);
    pos_ += sizeof(T);
    return true;
  }
  bool Fail() {
    failed_ = true;
    return false;
  }

  std::string_view data_;
  size_t pos_ = 0;
  bool failed_ = false;
};

}  // namespace runtrack::segments
