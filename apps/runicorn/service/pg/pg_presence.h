// A replica's presence in PostgreSQL, for rows it must be told alive by (the task queue's claims,
// the training job board's jobs): one session of its own holding an advisory lock (a class per
// use, a random key) that those rows carry. Another replica asks pg_locks whether the key's lock
// is granted; a replica that dies loses its session and the lock with it, so its rows read as
// abandoned at once, without heartbeats.
//
// Not thread-safe: its owner serialises every call under its own mutex (the session is one
// connection).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "runtrack/status.h"
#include "service/pg/pg_connection.h"

namespace runicorn::service::pg {

// "<host name>:<pid>": a replica id for a process that was given none.
std::string DefaultReplicaId();

class PgPresence {
 public:
  // `key_in_use_sql`: a query of one parameter ($1, the candidate key) answering a row when some
  // row still carries that key (a dead replica's leftovers would look alive again under it).
  // `what` names the use in errors ("the task queue").
  PgPresence(std::string conninfo, int32_t lock_class, std::string key_in_use_sql, std::string what)
      : conninfo_(std::move(conninfo)),
        lock_class_(lock_class),
        key_in_use_sql_(std::move(key_in_use_sql)),
        what_(std::move(what)) {}
  // Unlocks first: closing the session frees the lock only once the backend has processed the
  // disconnect, so the rows read as abandoned when this returns.
  ~PgPresence();
  PgPresence(const PgPresence&) = delete;
  PgPresence& operator=(const PgPresence&) = delete;

  // A healthy session, made anew with a fresh key when there is none or it broke; `on_new_key`
  // then runs on the new session before anything else does (to re-key rows this replica still
  // owns). Busy when no free key is found; the connection's error when PostgreSQL is unreachable.
  runtrack::Status Ensure(const std::function<runtrack::Status(PgConnection&, int32_t key)>& on_new_key = {});
  // One statement on the session, sent once more on a new session (new key) when the old one
  // broke, so it must be safe to repeat: one statement conditioned on the state it changes.
  // `params` is called once the session is known, so it may name key().
  runtrack::Result<PgResult> Exec(std::string_view sql, const std::function<PgParams()>& params,
                                  const std::function<runtrack::Status(PgConnection&, int32_t key)>& on_new_key = {});

  // After a successful Ensure.
  PgConnection& session() { return *session_; }
  int32_t key() const { return key_; }
  int backend_pid() const { return backend_pid_; }
  int32_t lock_class() const { return lock_class_; }

 private:
  const std::string conninfo_;
  const int32_t lock_class_;
  const std::string key_in_use_sql_;
  const std::string what_;
  std::unique_ptr<PgConnection> session_;
  int32_t key_ = 0;
  int backend_pid_ = 0;
};

}  // namespace runicorn::service::pg
