#include "service/pg/pg_user_repository.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <charconv>

#include <fmt/format.h>

#include "service/iso_time.h"
#include "service/pg/pg_run_mirror.h"
#include "service/pg/pg_schema.h"
#include "service/pg/pg_viewer_catalog.h"
#include "service/user_store.h"

namespace runicorn::service::pg {
using runtrack::Result;
using runtrack::Status;

namespace {

constexpr const char* kKeyName = "api_token";

struct UserRow {
  UserInfo info;
  PasswordHash hash;
};

Result<UserRow> RowOf(const PgResult& r, int row) {
  UserRow u;
  u.info.name = std::string(r.Get(row, 0));
  u.info.id = std::string(r.Get(row, 1));
  u.info.created_at = std::string(r.Get(row, 5));
  auto salt = BytesOfHex(r.Get(row, 2));
  auto hash = BytesOfHex(r.Get(row, 3));
  std::string_view it = r.Get(row, 4);
  std::from_chars(it.data(), it.data() + it.size(), u.hash.iterations);
  if (!salt || !hash || hash->size() != 32 || u.hash.iterations < 1)
    return Status::Corruption(fmt::format("postgresql: api_users row of '{}' is not a valid user", u.info.name));
  u.hash.salt = std::move(*salt);
  u.hash.hash = std::move(*hash);
  return u;
}

constexpr const char* kUserColumns = "name, id, salt, hash, iterations, created_at";

// One user by name, or nullopt.
Result<std::optional<UserRow>> Lookup(PgPool& pool, std::string_view name) {
  return RetryDroppedConnections([&]() -> Result<std::optional<UserRow>> {
    RUNTRACK_ASSIGN_OR_RETURN(auto conn, pool.Acquire());
    RUNTRACK_ASSIGN_OR_RETURN(PgResult r, conn->Exec(fmt::format("SELECT {} FROM api_users WHERE name = $1", kUserColumns),
                                                     {std::string(name)}));
    if (r.rows() == 0) return std::optional<UserRow>();
    RUNTRACK_ASSIGN_OR_RETURN(UserRow u, RowOf(r, 0));
    return std::optional<UserRow>(std::move(u));
  });
}

}  // namespace

Result<std::unique_ptr<PgUserRepository>> PgUserRepository::Open(const std::string& conninfo) {
  std::unique_ptr<PgUserRepository> repo(new PgUserRepository(conninfo));
  RUNTRACK_ASSIGN_OR_RETURN(auto conn, repo->pool_.Acquire());
  RUNTRACK_RETURN_IF_ERROR(MigrateSchema(*conn).status());
  return repo;
}

Result<UserInfo> PgUserRepository::Add(std::string_view name, std::string_view password) {
  RUNTRACK_RETURN_IF_ERROR(ValidateUserName(name));
  RUNTRACK_RETURN_IF_ERROR(ValidatePassword(password));
  // The slow hash before any statement, so no connection is held while it runs.
  RUNTRACK_ASSIGN_OR_RETURN(PasswordHash hash, HashPassword(password));
  RUNTRACK_ASSIGN_OR_RETURN(std::string id, NewUserId());
  UserInfo info{std::string(name), std::move(id), NowIsoUtc()};
  auto conn = pool_.Acquire();
  if (!conn.ok()) return Unavailable(conn.status());
  // ON CONFLICT DO NOTHING: a taken name is an answer (no row back), not a failed statement.
  auto r = (*conn)->Exec(
      "INSERT INTO api_users (name, id, salt, hash, iterations, created_at) VALUES ($1, $2, $3, $4, $5, $6) "
      "ON CONFLICT (name) DO NOTHING RETURNING name",
      {info.name, info.id, HexOf(hash.salt), HexOf(hash.hash), std::to_string(hash.iterations), info.created_at});
  if (!r.ok()) return Unavailable(r.status());
  if (r->rows() == 0) return Status::AlreadyExists(fmt::format("user '{}' already exists", name));
  return info;
}

Status PgUserRepository::Remove(std::string_view name) {
  auto conn = pool_.Acquire();
  if (!conn.ok()) return Unavailable(conn.status());
  auto r = (*conn)->Exec("DELETE FROM api_users WHERE name = $1", {std::string(name)});
  if (!r.ok()) return Unavailable(r.status());
  if (r->AffectedRows() == 0) return Status::NotFound(fmt::format("user '{}' does not exist", name));
  return Status::Ok();
}

Result<std::vector<UserInfo>> PgUserRepository::List() const {
  auto list = RetryDroppedConnections([&]() -> Result<std::vector<UserInfo>> {
    RUNTRACK_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
    // name is COLLATE "C": bytewise, as UserStore sorts std::strings.
    RUNTRACK_ASSIGN_OR_RETURN(PgResult r, conn->Exec(fmt::format("SELECT {} FROM api_users ORDER BY name", kUserColumns)));
    std::vector<UserInfo> out;
    for (int i = 0; i < r.rows(); ++i) {
      RUNTRACK_ASSIGN_OR_RETURN(UserRow u, RowOf(r, i));
      out.push_back(std::move(u.info));
    }
    return out;
  });
  if (!list.ok()) return Unavailable(list.status());
  return list;
}

Result<std::optional<UserInfo>> PgUserRepository::Authenticate(std::string_view name, std::string_view password) const {
  auto user = Lookup(pool_, name);
  if (!user.ok()) return Unavailable(user.status());
  // An unknown name costs one hash too (VerifyPassword with no stored hash).
  RUNTRACK_ASSIGN_OR_RETURN(bool ok, VerifyPassword(password, *user ? &(*user)->hash : nullptr));
  if (!ok) return std::optional<UserInfo>();
  return std::optional<UserInfo>((*user)->info);
}

Result<std::optional<UserInfo>> PgUserRepository::Find(std::string_view name, std::string_view id) const {
  auto user = Lookup(pool_, name);
  if (!user.ok()) return Unavailable(user.status());
  const std::optional<UserRow>& u = *user;
  if (u && u->info.id.size() == id.size() && CRYPTO_memcmp(u->info.id.data(), id.data(), id.size()) == 0)
    return std::optional<UserInfo>(u->info);
  return std::optional<UserInfo>();
}

Result<std::string> PgUserRepository::TokenKey() const {
  {
    std::lock_guard lock(key_mu_);
    if (!key_.empty()) return key_;
  }
  std::string fresh(32, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(fresh.data()), static_cast<int>(fresh.size())) != 1)
    return Status::Internal("RAND_bytes failed");
  // Insert-if-absent, then read: of racing first uses (other replicas included) one row wins and
  // everyone reads it back.
  auto key = RetryDroppedConnections([&]() -> Result<std::string> {
    RUNTRACK_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
    RUNTRACK_RETURN_IF_ERROR(conn->Exec("INSERT INTO api_token_keys (name, secret) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
                                        {std::string(kKeyName), HexOf(fresh)})
                                 .status());
    RUNTRACK_ASSIGN_OR_RETURN(PgResult r, conn->Exec("SELECT secret FROM api_token_keys WHERE name = $1",
                                                     {std::string(kKeyName)}));
    auto bytes = r.rows() == 1 ? BytesOfHex(r.Get(0, 0)) : std::nullopt;
    if (!bytes || bytes->size() != 32) return Status::Corruption("postgresql: api_token_keys holds no valid 32-byte key");
    return std::move(*bytes);
  });
  OPENSSL_cleanse(fresh.data(), fresh.size());
  if (!key.ok()) return Unavailable(key.status());
  std::lock_guard lock(key_mu_);
  key_ = *key;
  return key_;
}

}  // namespace runicorn::service::pg
