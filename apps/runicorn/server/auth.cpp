#include "server/auth.h"

#include <cctype>
#include <fstream>
#include <iterator>

#include <fmt/format.h>

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

TokenAuth::TokenAuth(std::string_view token, std::string_view local_token, std::string_view ingest_token)
    : enabled_(!token.empty()),
      digest_(Digest(token)),
      has_local_(!local_token.empty()),
      local_digest_(Digest(local_token)),
      has_ingest_(!ingest_token.empty()),
      ingest_digest_(Digest(ingest_token)) {}

bool TokenAuth::AllowsIngest(std::string_view authorization) const {
  if (!enabled_ && !has_ingest_) return true;
  constexpr std::string_view kScheme = "bearer ";
  bool scheme_ok = authorization.size() > kScheme.size();
  for (size_t i = 0; scheme_ok && i < kScheme.size(); ++i)
    scheme_ok = std::tolower(static_cast<unsigned char>(authorization[i])) == kScheme[i];
  auto d = Digest(scheme_ok ? authorization.substr(kScheme.size()) : authorization);
  // Both comparisons always run, so timing does not tell which token matched.
  const bool user = CRYPTO_memcmp(d.data(), digest_.data(), d.size()) == 0;
  const bool ingest = CRYPTO_memcmp(d.data(), ingest_digest_.data(), d.size()) == 0;
  return scheme_ok && ((enabled_ && user) || (has_ingest_ && ingest));
}

bool TokenAuth::AllowsToken(std::string_view token) const {
  if (!enabled_) return true;
  auto d = Digest(token);
  // Both comparisons always run, so timing does not tell which token matched.
  const bool user = CRYPTO_memcmp(d.data(), digest_.data(), d.size()) == 0;
  const bool local = CRYPTO_memcmp(d.data(), local_digest_.data(), d.size()) == 0;
  return user || (has_local_ && local);
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

runtrack::Result<std::string> ReadTokenFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return runtrack::Status::NotFound(fmt::format("token file {} cannot be read", path.string()));
  std::string text;
  constexpr size_t kMax = 4096;
  text.resize(kMax + 1);
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > kMax)
    return runtrack::Status::InvalidArgument(fmt::format("token file {} is larger than 4 KiB", path.string()));
  auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!text.empty() && is_space(text.back())) text.pop_back();
  size_t first = 0;
  while (first < text.size() && is_space(text[first])) ++first;
  text.erase(0, first);
  if (text.empty()) return runtrack::Status::InvalidArgument(fmt::format("token file {} is empty", path.string()));
  for (char c : text)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      return runtrack::Status::InvalidArgument(fmt::format(
          "token file {} must hold the token on one line, without control characters", path.string()));
  return text;
}

}  // namespace runicorn::server
