#include "service/pg/pg_connection.h"

#include <libpq-fe.h>

#include <charconv>
#include <cstdlib>

#include <fmt/format.h>

namespace runicorn::service::pg {
using runtrack::Result;
using runtrack::Status;

namespace {

// SQLSTATE classes (PostgreSQL manual, appendix A) to the library's codes: the caller's data
// (22), a conflicting row (23505), other integrity rules (23), concurrency (40) and everything
// about reaching the server (08, 53, 57) get their own codes; the rest is a bug of ours (42:
// bad SQL) or a server failure.
runtrack::StatusCode CodeOf(std::string_view sqlstate) {
  using runtrack::StatusCode;
  if (sqlstate == "23505") return StatusCode::kAlreadyExists;
  if (sqlstate.starts_with("22")) return StatusCode::kInvalidArgument;
  if (sqlstate.starts_with("23")) return StatusCode::kFailedPrecondition;
  if (sqlstate.starts_with("40") || sqlstate == "55P03") return StatusCode::kBusy;
  if (sqlstate.starts_with("42")) return StatusCode::kInternal;
  return StatusCode::kIOError;
}

std::string Trimmed(const char* text) {
  std::string s = text ? text : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

std::string PgTextArray(const std::vector<std::string>& items) {
  std::string out = "{";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += ',';
    out += '"';
    for (char c : items[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  out += '}';
  return out;
}

std::string PgFloat(double v) { return fmt::format("{}", v); }

void PgResult::Free(pg_result* r) { PQclear(r); }
int PgResult::rows() const { return res_ ? PQntuples(res_.get()) : 0; }
int PgResult::columns() const { return res_ ? PQnfields(res_.get()) : 0; }
bool PgResult::IsNull(int row, int col) const { return PQgetisnull(res_.get(), row, col) != 0; }
std::string_view PgResult::Get(int row, int col) const {
  return {PQgetvalue(res_.get(), row, col), static_cast<size_t>(PQgetlength(res_.get(), row, col))};
}
int PgResult::Column(const char* name) const { return PQfnumber(res_.get(), name); }
uint64_t PgResult::AffectedRows() const {
  const char* n = res_ ? PQcmdTuples(res_.get()) : "";
  uint64_t v = 0;
  std::from_chars(n, n + std::char_traits<char>::length(n), v);
  return v;
}

Result<std::unique_ptr<PgConnection>> PgConnection::Connect(const std::string& conninfo) {
  pg_conn* conn = PQconnectdb(conninfo.c_str());
  if (conn == nullptr) return Status::IOError("postgresql: out of memory opening a connection");
  if (PQstatus(conn) != CONNECTION_OK) {
    // libpq's message names host/socket and the reason; it never echoes a password.
    std::string why = Trimmed(PQerrorMessage(conn));
    PQfinish(conn);
    return Status::IOError(fmt::format("postgresql: cannot connect: {}", why));
  }
  // Notices (e.g. "relation already exists, skipping") are not errors and go nowhere.
  PQsetNoticeProcessor(conn, [](void*, const char*) {}, nullptr);
  return std::unique_ptr<PgConnection>(new PgConnection(conn));
}

PgConnection::~PgConnection() { PQfinish(conn_); }

bool PgConnection::healthy() const { return PQstatus(conn_) == CONNECTION_OK; }

std::string PgConnection::server_version() const {
  int v = PQserverVersion(conn_);  // e.g. 150018
  return fmt::format("{}.{}", v / 10000, v % 10000);
}

Status PgConnection::ErrorOf(pg_result* res, std::string_view what) const {
  const char* state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
  std::string message = Trimmed(res ? PQresultErrorMessage(res) : PQerrorMessage(conn_));
  if (message.empty()) message = Trimmed(PQerrorMessage(conn_));
  if (state == nullptr)
    return Status::IOError(fmt::format("postgresql: {} failed: {}", what, message));
  return Status(CodeOf(state), fmt::format("postgresql: {} (SQLSTATE {})", message, state));
}

Result<PgResult> PgConnection::Exec(std::string_view sql, const PgParams& params) {
  std::vector<const char*> values;
  std::vector<int> lengths;
  values.reserve(params.size());
  for (const PgParam& p : params) {
    values.push_back(p ? p->c_str() : nullptr);
    lengths.push_back(p ? static_cast<int>(p->size()) : 0);
  }
  std::string text(sql);
  pg_result* res = PQexecParams(conn_, text.c_str(), static_cast<int>(params.size()), nullptr, values.data(),
                                lengths.data(), nullptr, 0);
  ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
    Status s = ErrorOf(res, "statement");
    PQclear(res);
    return s;
  }
  return PgResult(res);
}

Status PgConnection::ExecScript(std::string_view sql) {
  std::string text(sql);
  pg_result* res = PQexec(conn_, text.c_str());
  ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
  Status s = (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) ? Status::Ok() : ErrorOf(res, "script");
  PQclear(res);
  return s;
}

Status PgConnection::CopyIn(std::string_view copy_sql, const std::function<bool(std::string*)>& next) {
  std::string text(copy_sql);
  pg_result* res = PQexec(conn_, text.c_str());
  if (!res || PQresultStatus(res) != PGRES_COPY_IN) {
    Status s = ErrorOf(res, "COPY");
    PQclear(res);
    return s;
  }
  PQclear(res);
  std::string chunk;
  bool more = true, sent = true;
  while (more && sent) {
    chunk.clear();
    more = next(&chunk);
    sent = chunk.empty() || PQputCopyData(conn_, chunk.data(), static_cast<int>(chunk.size())) == 1;
  }
  // On a failed put the COPY is ended with an error, so the server discards all of it.
  if (PQputCopyEnd(conn_, sent ? nullptr : "client could not send") != 1)
    return Status::IOError(fmt::format("postgresql: COPY failed: {}", Trimmed(PQerrorMessage(conn_))));
  Status result = Status::Ok();
  while ((res = PQgetResult(conn_)) != nullptr) {
    if (PQresultStatus(res) != PGRES_COMMAND_OK && result.ok()) result = ErrorOf(res, "COPY");
    PQclear(res);
  }
  return result;
}

Result<PgTransaction> PgTransaction::Begin(PgConnection& conn, std::string_view mode) {
  std::string sql = mode.empty() ? std::string("BEGIN") : fmt::format("BEGIN {}", mode);
  RUNTRACK_RETURN_IF_ERROR(conn.Exec(sql).status());
  return PgTransaction(&conn);
}

PgTransaction::~PgTransaction() {
  if (conn_ != nullptr && conn_->healthy()) (void)conn_->Exec("ROLLBACK");
}

Status PgTransaction::Commit() {
  PgConnection* conn = conn_;
  conn_ = nullptr;  // COMMIT ends the transaction whether or not it succeeds
  return conn->Exec("COMMIT").status();
}

PgPool::Lease::~Lease() {
  if (pool_ != nullptr && conn_) pool_->Release(std::move(conn_));
}

Result<PgPool::Lease> PgPool::Acquire() {
  {
    std::lock_guard lock(mu_);
    while (!idle_.empty()) {
      std::unique_ptr<PgConnection> conn = std::move(idle_.back());
      idle_.pop_back();
      if (conn->healthy()) return Lease(this, std::move(conn));
    }
  }
  RUNTRACK_ASSIGN_OR_RETURN(auto conn, PgConnection::Connect(conninfo_));
  return Lease(this, std::move(conn));
}

void PgPool::Release(std::unique_ptr<PgConnection> conn) {
  if (!conn->healthy()) return;
  std::lock_guard lock(mu_);
  if (idle_.size() < max_idle_) idle_.push_back(std::move(conn));
}

}  // namespace runicorn::service::pg
