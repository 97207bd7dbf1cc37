// The training service API's accounts in PostgreSQL (`runicorn viewer --catalog`; docs/SCALE-OUT.md
// "Users, tokens and tasks on PostgreSQL"): table api_users (the fields users.json holds: name,
// random id, PBKDF2 salt and hash in hex, iterations, created_at) and the token signing key in
// api_token_keys. Every replica on the database sees the same users and signs with the same key, so
// a token from one replica is accepted by every other, and a user removed through any replica (or
// `runicorn users --catalog`) is refused by all at their next request: tokens carry the user's id,
// and every token check looks the row up (no cache).
//
// The signing key is 32 random bytes written once by the first process that needs it (INSERT ... ON
// CONFLICT DO NOTHING, then read back, so racing first starts agree) and cached in memory after the
// first read: it never changes. It is never logged nor put in a response.
//
// Answers are UserStore's, call for call (tests/pg/user_parity_test.cpp). PostgreSQL failing to
// answer is Busy (HTTP 503: retry), not a refusal.
//
// Thread safety: every method may be called from any number of threads (a pool of connections).
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "service/pg/pg_connection.h"
#include "service/user_repository.h"

namespace runicorn::service::pg {

class PgUserRepository final : public UserRepository {
 public:
  // Connects and brings the schema to the newest version (pg_schema.h). IOError when PostgreSQL
  // cannot be reached; FailedPrecondition for a newer schema.
  static runtrack::Result<std::unique_ptr<PgUserRepository>> Open(const std::string& conninfo);

  runtrack::Result<UserInfo> Add(std::string_view name, std::string_view password) override;
  runtrack::Status Remove(std::string_view name) override;
  runtrack::Result<std::vector<UserInfo>> List() const override;
  runtrack::Result<std::optional<UserInfo>> Authenticate(std::string_view name,
                                                         std::string_view password) const override;
  runtrack::Result<std::optional<UserInfo>> Find(std::string_view name, std::string_view id) const override;
  runtrack::Result<std::string> TokenKey() const override;

 private:
  explicit PgUserRepository(std::string conninfo) : pool_(std::move(conninfo), 2) {}

  mutable PgPool pool_;
  mutable std::mutex key_mu_;
  mutable std::string key_;  // empty until first read
};

}  // namespace runicorn::service::pg
