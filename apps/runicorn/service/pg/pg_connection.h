// A small libpq wrapper: one connection, parameterised statements only, result rows as text,
// transactions, COPY FROM STDIN, and libpq/SQLSTATE errors mapped to runtrack::Status.
//
// Values always travel as parameters ($1, $2, ...): no caller ever splices a value into SQL text.
// The only SQL text built at run time is from fixed fragments chosen by whitelists (see
// pg_run_listing.cpp).
//
// Thread safety: a PgConnection is used by one thread at a time (libpq's rule); PgPool hands
// connections out to any number of threads.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtrack/status.h"

struct pg_conn;
struct pg_result;

namespace runicorn::service::pg {

// One statement parameter in PostgreSQL's text format; nullopt is SQL NULL.
using PgParam = std::optional<std::string>;
using PgParams = std::vector<PgParam>;

// A text[] parameter: every element quoted, so commas, braces, quotes and "NULL" stay data.
std::string PgTextArray(const std::vector<std::string>& items);
// A float8 parameter that reads back bit-identical (shortest round-trip form).
std::string PgFloat(double v);

class PgResult {
 public:
  PgResult() = default;
  explicit PgResult(pg_result* res) : res_(res, &Free) {}
  int rows() const;
  int columns() const;
  bool IsNull(int row, int col) const;
  std::string_view Get(int row, int col) const;
  // Column index by name; -1 when absent.
  int Column(const char* name) const;
  // The count of an INSERT/UPDATE/DELETE ("0" when none).
  uint64_t AffectedRows() const;

 private:
  static void Free(pg_result* r);
  std::shared_ptr<pg_result> res_;
};

class PgConnection {
 public:
  // `conninfo`: a postgresql:// URI or "key=value" string (libpq's syntax; a password belongs in
  // the environment (PGPASSWORD) or ~/.pgpass, never on a command line). IOError when the
  // server cannot be reached, with libpq's reason.
  static runtrack::Result<std::unique_ptr<PgConnection>> Connect(const std::string& conninfo);
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  // One statement with parameters (extended protocol: the server never parses values as SQL).
  runtrack::Result<PgResult> Exec(std::string_view sql, const PgParams& params = {});
  // Several statements without parameters (migrations: constant text only).
  runtrack::Status ExecScript(std::string_view sql);
  // COPY ... FROM STDIN: `next` fills the next chunk of COPY text data and returns false at the
  // end. The whole COPY is one statement: on any error nothing of it is stored.
  runtrack::Status CopyIn(std::string_view copy_sql, const std::function<bool(std::string* chunk)>& next);
  // False once the server connection is gone (the pool then drops it).
  bool healthy() const;
  // The server's version, e.g. "15.18".
  std::string server_version() const;

 private:
  explicit PgConnection(pg_conn* conn) : conn_(conn) {}
  runtrack::Status ErrorOf(pg_result* res, std::string_view what) const;
  pg_conn* conn_;
};

// BEGIN on creation, ROLLBACK on destruction unless Commit() succeeded.
class PgTransaction {
 public:
  // `mode` follows BEGIN, e.g. "ISOLATION LEVEL REPEATABLE READ READ ONLY" (a constant).
  static runtrack::Result<PgTransaction> Begin(PgConnection& conn, std::string_view mode = {});
  PgTransaction(PgTransaction&& other) noexcept : conn_(other.conn_) { other.conn_ = nullptr; }
  PgTransaction& operator=(PgTransaction&&) = delete;
  ~PgTransaction();
  runtrack::Status Commit();

 private:
  explicit PgTransaction(PgConnection* conn) : conn_(conn) {}
  PgConnection* conn_;
};

// Connections shared by threads: Acquire() lends an idle one or opens a new one; the lease gives
// it back when destroyed (a broken one is closed instead). At most `max_idle` stay open idle.
class PgPool {
 public:
  explicit PgPool(std::string conninfo, size_t max_idle = 4) : conninfo_(std::move(conninfo)), max_idle_(max_idle) {}

  class Lease {
   public:
    Lease(PgPool* pool, std::unique_ptr<PgConnection> conn) : pool_(pool), conn_(std::move(conn)) {}
    Lease(Lease&&) = default;
    ~Lease();
    PgConnection& operator*() { return *conn_; }
    PgConnection* operator->() { return conn_.get(); }

   private:
    PgPool* pool_;
    std::unique_ptr<PgConnection> conn_;
  };

  runtrack::Result<Lease> Acquire();

 private:
  void Release(std::unique_ptr<PgConnection> conn);
  const std::string conninfo_;
  const size_t max_idle_;
  std::mutex mu_;
  std::vector<std::unique_ptr<PgConnection>> idle_;
};

}  // namespace runicorn::service::pg
