// The users of the training service API (/api/v1): names with salted, slow password hashes in
// <root>/users.json (StoreLayout::users_path(), mode 0600). Managed by `runicorn users`, read by
// the viewer on every login and token check, so a removed user loses access at once.
//
// Hashes: PBKDF2-HMAC-SHA256 (OpenSSL PKCS5_PBKDF2_HMAC), a random 16-byte salt per user
// (RAND_bytes), kIterations rounds; compared with CRYPTO_memcmp. The iteration count is stored
// per user, so raising it later leaves old hashes verifiable. Each user also gets a random id:
// tokens carry it, so a token of a removed user stays refused even if the name is added again.
//
// File format (version 1):
//   {"version":1,"users":[{"name":"ada","id":"<32 hex>","salt":"<32 hex>","hash":"<64 hex>",
//                          "iterations":210000,"created_at":"2026-01-02T03:04:05Z"}]}
//
// Thread safety: no state in memory; every method may be called from any thread. Add and Remove
// hold an flock on StoreLayout::users_lock_path() while they read and rewrite the file, so
// concurrent ones from several processes all take effect.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtrack/layout.h"
#include "runtrack/status.h"
#include "service/user_repository.h"

namespace runicorn::service {

// 1..64 of [A-Za-z0-9._-], starting with a letter or digit; InvalidArgument otherwise.
runtrack::Status ValidateUserName(std::string_view name);
// 8..1024 bytes; InvalidArgument otherwise.
runtrack::Status ValidatePassword(std::string_view password);

// The stored form of a password, shared by every UserRepository (pg/pg_user_repository.h stores the
// same fields): PBKDF2-HMAC-SHA256 over a random 16-byte salt, raw bytes.
struct PasswordHash {
  std::string salt;
  std::string hash;  // 32 bytes
  int iterations = 0;
};
// A fresh salt and UserStore::kIterations rounds.
runtrack::Result<PasswordHash> HashPassword(std::string_view password);
// Whether `password` matches `stored`. With `stored` null (an unknown user) one full hash against
// a fixed salt is still computed and false returned, so timing does not reveal which names exist.
runtrack::Result<bool> VerifyPassword(std::string_view password, const PasswordHash* stored);
// A new random user id (32 hex digits).
runtrack::Result<std::string> NewUserId();
// Lower-case hex of raw bytes and back (nullopt for anything but an even count of [0-9a-f]).
std::string HexOf(std::string_view bytes);
std::optional<std::string> BytesOfHex(std::string_view hex);

class UserStore final : public UserRepository {
 public:
  static constexpr int kIterations = 210000;  // OWASP's 2023 figure for PBKDF2-HMAC-SHA256

  explicit UserStore(runtrack::StoreLayout layout) : layout_(std::move(layout)) {}

  // AlreadyExists "user 'NAME' already exists"; the validation errors above.
  runtrack::Result<UserInfo> Add(std::string_view name, std::string_view password) override;
  // NotFound "user 'NAME' does not exist".
  runtrack::Status Remove(std::string_view name) override;
  // Sorted by name; empty when no user was ever added.
  runtrack::Result<std::vector<UserInfo>> List() const override;
  // The user when `password` is right; nullopt for an unknown user or a wrong password (both cost
  // one full hash, so timing does not tell which). Errors only for an unreadable file.
  runtrack::Result<std::optional<UserInfo>> Authenticate(std::string_view name,
                                                         std::string_view password) const override;
  // The user named `name` whose id is `id`, or nullopt.
  runtrack::Result<std::optional<UserInfo>> Find(std::string_view name, std::string_view id) const override;
  // StoreLayout::token_key_path(), created on first use (jwt.h: LoadOrCreateTokenKey).
  runtrack::Result<std::string> TokenKey() const override;

 private:
  runtrack::StoreLayout layout_;
};

}  // namespace runicorn::service
