// Bearer-token check for the viewer. With a token configured, every route but /api/health needs
// `Authorization: Bearer <token>`; the comparison takes the same time whatever the input (both
// sides are hashed to fixed-length digests first, then compared with CRYPTO_memcmp), so response
// timing reveals neither the token's length nor a matching prefix.
#pragma once

#include <array>
#include <string>
#include <string_view>

namespace runicorn::server {

class TokenAuth {
 public:
  TokenAuth() = default;  // no token: everything is allowed
  explicit TokenAuth(std::string_view token);

  bool enabled() const { return enabled_; }
  // `authorization` is the raw header value ("Bearer abc"); the scheme is case-insensitive.
  bool Allows(std::string_view authorization) const;
  // For clients that cannot set headers (browser WebSockets): the bare token.
  bool AllowsToken(std::string_view token) const;

 private:
  bool enabled_ = false;
  std::array<unsigned char, 32> digest_{};
};

}  // namespace runicorn::server
