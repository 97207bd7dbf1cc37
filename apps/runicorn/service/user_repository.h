// The accounts of the training service API (/api/v1) as the services and handlers see them: users
// with password hashes, and the key that signs their login tokens (jwt.h). Two implementations:
// the embedded store's file (UserStore, user_store.h: <root>/users.json + <root>/token_key) and
// PostgreSQL (pg/pg_user_repository.h, `runicorn viewer --catalog`), shared by every replica so a
// token issued by one is accepted by all and a removed user is refused by all.
//
// Both give the same answers for the same calls (tests/pg/user_parity_test.cpp): the same
// validation errors, "user 'NAME' already exists" (AlreadyExists), "user 'NAME' does not exist"
// (NotFound), lists sorted by name, and one full password hash per Authenticate whether or not the
// name exists. Ids are random per Add, so a token of a removed user stays refused after the same
// name is added again.
//
// Thread safety: every method may be called from any number of threads at once.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtrack/status.h"

namespace runicorn::service {

struct UserInfo {
  std::string name;
  std::string id;          // random, 32 hex digits; changes when a name is removed and re-added
  std::string created_at;  // ISO-8601 UTC
};

class UserRepository {
 public:
  virtual ~UserRepository() = default;

  // AlreadyExists "user 'NAME' already exists"; ValidateUserName's and ValidatePassword's errors.
  virtual runtrack::Result<UserInfo> Add(std::string_view name, std::string_view password) = 0;
  // NotFound "user 'NAME' does not exist". The user's tokens are refused from then on.
  virtual runtrack::Status Remove(std::string_view name) = 0;
  // Sorted by name (bytewise); empty when no user was ever added.
  virtual runtrack::Result<std::vector<UserInfo>> List() const = 0;
  // The user when `password` is right; nullopt for an unknown user or a wrong password (both cost
  // one full hash, so timing does not tell which). Errors only when the storage cannot answer.
  virtual runtrack::Result<std::optional<UserInfo>> Authenticate(std::string_view name,
                                                                 std::string_view password) const = 0;
  // The user named `name` whose id is `id`, or nullopt.
  virtual runtrack::Result<std::optional<UserInfo>> Find(std::string_view name, std::string_view id) const = 0;
  // The 32-byte key that signs and verifies these users' tokens, created on first use (racing
  // first uses agree on one key). Secret: never put in a response or a log line.
  virtual runtrack::Result<std::string> TokenKey() const = 0;
};

}  // namespace runicorn::service
