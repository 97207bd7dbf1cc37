#include "service/jwt.h"

#include <boost/json.hpp>
#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include "runtrack/json_parse.h"

#include "service/secret_file.h"

namespace runicorn::service {
namespace json = boost::json;
using runtrack::Result;
using runtrack::Status;

namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

std::string HmacSha256(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

Status Malformed() { return Status::InvalidArgument("malformed token"); }

}  // namespace

std::string Base64UrlEncode(std::string_view bytes) {
  std::string out;
  size_t i = 0;
  auto byte = [&](size_t k) { return static_cast<unsigned char>(bytes[k]); };
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t v = (byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2);
    for (int s = 18; s >= 0; s -= 6) out += kAlphabet[(v >> s) & 63];
  }
  size_t rest = bytes.size() - i;
  if (rest == 1) {
    uint32_t v = byte(i) << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
  } else if (rest == 2) {
    uint32_t v = (byte(i) << 16) | (byte(i + 1) << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
  }
  return out;
}

Result<std::string> Base64UrlDecode(std::string_view text) {
  if (text.size() % 4 == 1) return Malformed();
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int v = Value(c);
    if (v < 0) return Malformed();
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  // Leftover bits must be zero, so every byte string has exactly one encoding (a token cannot be
  // varied without changing its signature input).
  if ((acc & ((1u << bits) - 1)) != 0) return Malformed();
  return out;
}

Result<TokenIssuer> TokenIssuer::Open(const runtrack::StoreLayout& layout) {
  RUNTRACK_ASSIGN_OR_RETURN(std::string key, LoadOrCreateTokenKey(layout));
  return TokenIssuer(std::move(key));
}

Result<TokenIssuer> TokenIssuer::Open(const UserRepository& users) {
  RUNTRACK_ASSIGN_OR_RETURN(std::string key, users.TokenKey());
  if (key.size() != 32) return Status::Corruption("the token key is not 32 bytes");
  return TokenIssuer(std::move(key));
}

Result<std::string> LoadOrCreateTokenKey(const runtrack::StoreLayout& layout) {
  auto existing = ReadSecretFile(layout.token_key_path());
  std::string key;
  if (existing.ok()) {
    key = std::move(*existing);
  } else if (existing.status().code() == runtrack::StatusCode::kNotFound) {
    std::string fresh(32, '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char*>(fresh.data()), static_cast<int>(fresh.size())) != 1)
      return Status::Internal("RAND_bytes failed");
    auto created = CreateSecretFileOnce(layout.token_key_path(), fresh);
    if (!created.ok()) return created.status();
    key = std::move(*created);
  } else {
    return existing.status();
  }
  if (key.size() != 32)
    return Status::Corruption(fmt::format("{} is not a 32-byte token key", layout.token_key_path().string()));
  return key;
}

std::string TokenIssuer::SignRaw(std::string_view header_json, std::string_view payload_json) const {
  std::string signing_input = Base64UrlEncode(header_json) + "." + Base64UrlEncode(payload_json);
  return signing_input + "." + Base64UrlEncode(HmacSha256(key_, signing_input));
}

IssuedToken TokenIssuer::Issue(const UserInfo& user, int64_t now_unix) const {
  json::object payload{{"sub", user.name}, {"uid", user.id}, {"iat", now_unix}, {"exp", now_unix + kLifetimeSeconds}};
  return {SignRaw(R"({"alg":"HS256","typ":"JWT"})", json::serialize(payload)), kLifetimeSeconds};
}

Result<TokenIssuer::Claims> TokenIssuer::Verify(std::string_view token, int64_t now_unix) const {
  if (token.size() > 4096) return Malformed();
  size_t d1 = token.find('.');
  size_t d2 = d1 == std::string_view::npos ? d1 : token.find('.', d1 + 1);
  if (d2 == std::string_view::npos || token.find('.', d2 + 1) != std::string_view::npos) return Malformed();
  auto header_text = Base64UrlDecode(token.substr(0, d1));
  if (!header_text.ok()) return header_text.status();
  boost::system::error_code ec;
  json::value header = runtrack::ParseJson(*header_text, ec);
  if (ec || !header.is_object()) return Malformed();
  const json::value* alg = header.as_object().if_contains("alg");
  // Only the algorithm this server signs with: "none" would skip the signature, and an asymmetric
  // name would invite treating the HMAC key as a public key.
  if (alg == nullptr || !alg->is_string() || alg->as_string() != "HS256")
    return Status::InvalidArgument("unsupported token algorithm");
  auto signature = Base64UrlDecode(token.substr(d2 + 1));
  if (!signature.ok()) return signature.status();
  std::string expected = HmacSha256(key_, token.substr(0, d2));
  if (signature->size() != expected.size() ||
      CRYPTO_memcmp(signature->data(), expected.data(), expected.size()) != 0)
    return Status::InvalidArgument("bad token signature");
  auto payload_text = Base64UrlDecode(token.substr(d1 + 1, d2 - d1 - 1));
  if (!payload_text.ok()) return payload_text.status();
  json::value payload = runtrack::ParseJson(*payload_text, ec);
  if (ec || !payload.is_object()) return Malformed();
  const auto& p = payload.as_object();
  const json::value* sub = p.if_contains("sub");
  const json::value* uid = p.if_contains("uid");
  const json::value* iat = p.if_contains("iat");
  const json::value* exp = p.if_contains("exp");
  if (sub == nullptr || !sub->is_string() || uid == nullptr || !uid->is_string() || iat == nullptr ||
      !iat->is_int64() || exp == nullptr || !exp->is_int64())
    return Malformed();
  Claims c{std::string(sub->as_string()), std::string(uid->as_string()), iat->as_int64(), exp->as_int64()};
  if (now_unix >= c.exp) return Status::InvalidArgument("token expired");
  return c;
}

}  // namespace runicorn::service
