// SHA-256 through OpenSSL's EVP interface, which uses the CPU's SHA extensions when present.
// Not thread-safe per object; separate objects may be used from separate threads.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

struct evp_md_ctx_st;

namespace runtrack::artifacts {

using Digest = std::array<uint8_t, 32>;

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void Update(const void* data, size_t n);
  // Returns the digest and resets the object for a new message.
  Digest Final();

 private:
  evp_md_ctx_st* ctx_;
};

Digest Sha256Of(const void* data, size_t n);
std::string ToHex(const Digest& d);
inline std::string Sha256Hex(std::string_view s) { return ToHex(Sha256Of(s.data(), s.size())); }
// True for exactly 64 lower-case hex digits (a chunk name).
bool IsSha256Hex(std::string_view s);

}  // namespace runtrack::artifacts
