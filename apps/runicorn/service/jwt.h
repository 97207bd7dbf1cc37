// Login tokens of the training service API (/api/v1): HS256 JSON Web Tokens (RFC 7519) signed
// with a per-store key.
//
// The key is 32 random bytes (RAND_bytes) created on first use in StoreLayout::token_key_path()
// (mode 0600, created once even when several processes race) and never leaves that file; with
// `viewer --catalog` it is a row in PostgreSQL shared by the replicas instead
// (UserRepository::TokenKey, pg/pg_user_repository.h).
// A token is base64url(header) "." base64url(payload) "." base64url(HMAC-SHA256), without
// padding; header {"alg":"HS256","typ":"JWT"}, payload {"sub":NAME,"uid":USER_ID,"iat":T,"exp":T+ttl}.
// Verification accepts exactly that algorithm (an "alg":"none" token or any other algorithm is
// refused before the signature is looked at), compares signatures in constant time, refuses
// expired tokens, and checks that the user still exists with the same id (user_store.h).
//
// Thread safety: no state in memory beyond the immutable key; use from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "runtrack/status.h"
#include "service/user_store.h"

namespace runicorn::service {

// Unpadded base64url (RFC 4648 section 5); Decode returns nullopt-like errors for any other
// character, for padding and for impossible lengths.
std::string Base64UrlEncode(std::string_view bytes);
runtrack::Result<std::string> Base64UrlDecode(std::string_view text);

// The store's 32-byte key at StoreLayout::token_key_path(), created on first use (racing creators
// agree on one). Corruption when the file holds anything but 32 bytes.
runtrack::Result<std::string> LoadOrCreateTokenKey(const runtrack::StoreLayout& layout);

struct IssuedToken {
  std::string token;
  int64_t expires_in = 0;  // seconds
};

class TokenIssuer {
 public:
  static constexpr int64_t kLifetimeSeconds = 3600;

  // Loads the store's key, creating it on first use.
  static runtrack::Result<TokenIssuer> Open(const runtrack::StoreLayout& layout);
  // With the key of `users` (UserRepository::TokenKey): the file store's or PostgreSQL's.
  static runtrack::Result<TokenIssuer> Open(const UserRepository& users);
  // For tests: a given key.
  explicit TokenIssuer(std::string key) : key_(std::move(key)) {}

  IssuedToken Issue(const UserInfo& user, int64_t now_unix) const;
  // The claims of a token whose header, signature and expiry check out (the user's existence is
  // the caller's check: UserStore::Find(sub, uid)). InvalidArgument naming the reason otherwise:
  // "malformed token", "unsupported token algorithm", "bad token signature", "token expired".
  struct Claims {
    std::string sub;
    std::string uid;
    int64_t iat = 0;
    int64_t exp = 0;
  };
  runtrack::Result<Claims> Verify(std::string_view token, int64_t now_unix) const;

  // Signs an arbitrary header and payload (tests build forged and odd tokens with it).
  std::string SignRaw(std::string_view header_json, std::string_view payload_json) const;

 private:
  std::string key_;
};

}  // namespace runicorn::service
