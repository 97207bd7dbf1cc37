#include "service/pg/pg_presence.h"

#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <random>

#include <fmt/format.h>

namespace runicorn::service::pg {
using runtrack::Result;
using runtrack::Status;

std::string DefaultReplicaId() {
  char host[256] = {};
  if (::gethostname(host, sizeof(host) - 1) != 0) std::snprintf(host, sizeof(host), "unknown");
  return fmt::format("{}:{}", host, ::getpid());
}

PgPresence::~PgPresence() {
  if (session_ && session_->healthy())
    (void)session_->Exec("SELECT pg_advisory_unlock($1::integer, $2::integer)",
                         {std::to_string(lock_class_), std::to_string(key_)});
}

Status PgPresence::Ensure(const std::function<Status(PgConnection&, int32_t)>& on_new_key) {
  if (session_ && session_->healthy()) return Status::Ok();
  session_.reset();
  RUNTRACK_ASSIGN_OR_RETURN(auto conn, PgConnection::Connect(conninfo_));
  std::random_device rd;
  std::uniform_int_distribution<int32_t> dist(1, INT32_MAX);
  // A key no row carries and no other session holds.
  const std::string sql = fmt::format(
      "SELECT CASE WHEN EXISTS ({}) THEN false ELSE pg_try_advisory_lock($2::integer, $1::integer) END,"
      " pg_backend_pid()",
      key_in_use_sql_);
  for (int attempt = 0; attempt < 16; ++attempt) {
    const int32_t key = dist(rd);
    RUNTRACK_ASSIGN_OR_RETURN(PgResult r, conn->Exec(sql, {std::to_string(key), std::to_string(lock_class_)}));
    if (r.Get(0, 0) != "t") continue;
    if (on_new_key) RUNTRACK_RETURN_IF_ERROR(on_new_key(*conn, key));
    key_ = key;
    std::string_view pid = r.Get(0, 1);
    std::from_chars(pid.data(), pid.data() + pid.size(), backend_pid_);
    session_ = std::move(conn);
    return Status::Ok();
  }
  return Status::Busy(fmt::format("postgresql: no free presence lock key for {}", what_));
}

Result<PgResult> PgPresence::Exec(std::string_view sql, const std::function<PgParams()>& params,
                                  const std::function<Status(PgConnection&, int32_t)>& on_new_key) {
  // A session that broke (PostgreSQL restarted, the backend was terminated) fails its next
  // statement; the statement is sent once more on a new session with a new key.
  for (int attempt = 0;; ++attempt) {
    RUNTRACK_RETURN_IF_ERROR(Ensure(on_new_key));
    auto r = session_->Exec(sql, params());
    if (r.ok() || session_->healthy() || attempt == 1) {
      if (!r.ok() && !session_->healthy()) session_.reset();
      return r;
    }
    session_.reset();
  }
}

}  // namespace runicorn::service::pg
