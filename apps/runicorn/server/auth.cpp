#include "server/auth.h"

#include <cctype>

#include <openssl/crypto.h>
#include <openssl/sha.h>

namespace runicorn::server {
namespace {

std::array<unsigned char, 32> Digest(std::string_view s) {
  std::array<unsigned char, 32> d{};
  SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), d.data());
  return d;
}

}  // namespace

TokenAuth::TokenAuth(std::string_view token) : enabled_(!token.empty()), digest_(Digest(token)) {}

bool TokenAuth::AllowsToken(std::string_view token) const {
  if (!enabled_) return true;
  auto d = Digest(token);
  return CRYPTO_memcmp(d.data(), digest_.data(), d.size()) == 0;
}

bool TokenAuth::Allows(std::string_view authorization) const {
  if (!enabled_) return true;
  constexpr std::string_view kScheme = "bearer ";
  bool scheme_ok = authorization.size() > kScheme.size();
  for (size_t i = 0; scheme_ok && i < kScheme.size(); ++i)
    scheme_ok = std::tolower(static_cast<unsigned char>(authorization[i])) == kScheme[i];
  // Always hash something, so a missing scheme costs the same as a wrong token.
  bool token_ok = AllowsToken(scheme_ok ? authorization.substr(kScheme.size()) : authorization);
  return scheme_ok && token_ok;
}

}  // namespace runicorn::server
