#include "service/pg/pg_run_catalog.h"

#include <charconv>
#include <chrono>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include "runtrack/validation.h"
#include "runtrack/json_parse.h"
#include "service/pg/pg_run_listing.h"
#include "service/pg/pg_schema.h"

namespace runicorn::service::pg {
using runtrack::Result;
using runtrack::Status;

namespace {

double NowSeconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

Status RunNotFound(std::string_view id) { return Status::NotFound(fmt::format("run {} not found", id)); }

PgParam OptionalFloat(const std::optional<double>& v) { return v ? PgParam(PgFloat(*v)) : std::nullopt; }

Result<boost::json::object> JsonObject(std::string_view text, std::string_view what) {
  boost::system::error_code ec;
  boost::json::value v = runtrack::ParseJson(text, ec);
  if (ec || !v.is_object()) return Status::Corruption(fmt::format("runs.{} is not a JSON object", what));
  return std::move(v.as_object());
}

// COPY's text format: backslash, tab, newline and carriage return are escaped; \N is NULL.
void CopyField(std::string* out, std::string_view value) {
  for (char c : value) {
    switch (c) {
      case '\\': *out += "\\\\"; break;
      case '\t': *out += "\\t"; break;
      case '\n': *out += "\\n"; break;
      case '\r': *out += "\\r"; break;
      default: *out += c;
    }
  }
}
void CopyOptional(std::string* out, const PgParam& value) {
  if (value) CopyField(out, *value);
  else *out += "\\N";
}

std::vector<PgParam> RowValues(const runtrack::RunSummary& r) {
  return {r.id,
          r.project,
          r.name,
          std::string(runtrack::RunStatusName(r.status)),
          r.exit_reason,
          PgFloat(r.created_at),
          PgFloat(r.updated_at),
          OptionalFloat(r.ended_at),
          OptionalFloat(r.deleted_at),
          std::to_string(r.pid),
          r.hostname,
          PgTextArray(r.tags),
          r.best_metric_name,
          r.best_metric_mode,
          OptionalFloat(r.best_metric_value),
          r.best_metric_step ? PgParam(std::to_string(*r.best_metric_step)) : std::nullopt,
          std::to_string(r.artifacts_created_count),
          std::to_string(r.artifacts_used_count),
          RunSearchText(r),
          r.path,
          r.alias};
}

constexpr const char* kRowColumns =
    "id, project, name, status, exit_reason, created_at, updated_at, ended_at, deleted_at, pid, hostname, tags,"
    " best_metric_name, best_metric_mode, best_metric_value, best_metric_step, artifacts_created_count,"
    " artifacts_used_count, search_text, path, alias";

}  // namespace

Result<std::unique_ptr<PgRunCatalog>> PgRunCatalog::Open(const std::string& conninfo) {
  std::unique_ptr<PgRunCatalog> catalog(new PgRunCatalog(conninfo));
  RUNTRACK_ASSIGN_OR_RETURN(auto conn, catalog->pool_.Acquire());
  RUNTRACK_RETURN_IF_ERROR(MigrateSchema(*conn).status());
  return catalog;
}

Result<std::string> PgRunCatalog::ServerVersion() const {
  RUNTRACK_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  return conn->server_version();
}

Result<runtrack::RunPage> PgRunCatalog::ListRuns(const runtrack::RunQuery& query) const {
  RUNTRACK_ASSIGN_OR_RETURN(PgStatement st, BuildRunListing(query));
  RUNTRACK_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  RUNTRACK_ASSIGN_OR_RETURN(PgResult rows, conn->Exec(st.sql, st.params));
  runtrack::RunPage page;
  if (rows.rows() == 0) return Status::Internal("run listing returned no total");
  std::string_view total = rows.Get(0, 0);
  std::from_chars(total.data(), total.data() + total.size(), page.total);
  for (int i = 0; i < rows.rows(); ++i) {
    if (rows.IsNull(i, 1)) continue;  // the empty page's placeholder row
    RUNTRACK_ASSIGN_OR_RETURN(auto run, RunSummaryFromRow(rows, i, 1));
    page.runs.push_back(std::move(run));
  }
  return page;
}

Result<runtrack::RunDetail> PgRunCatalog::GetRun(std::string_view run_id) const {
  RUNTRACK_RETURN_IF_ERROR(runtrack::ValidateRunId(run_id));
  RUNTRACK_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  RUNTRACK_ASSIGN_OR_RETURN(
      PgResult rows, conn->Exec(fmt::format("SELECT {}, config::text, summary::text FROM runs WHERE id = $1",
                                            kRunSummaryColumns),
                                {std::string(run_id)}));
  if (rows.rows() == 0) return RunNotFound(run_id);
  runtrack::RunDetail detail;
  RUNTRACK_ASSIGN_OR_RETURN(detail.run, RunSummaryFromRow(rows, 0, 0));
  const int config = rows.Column("config");
  RUNTRACK_ASSIGN_OR_RETURN(detail.config, JsonObject(rows.Get(0, config), "config"));
  RUNTRACK_ASSIGN_OR_RETURN(detail.summary, JsonObject(rows.Get(0, config + 1), "summary"));
  return detail;
}

Result<std::string> PgRunCatalog::ReadLog(std::string_view run_id, uint64_t) const {
  RUNTRACK_ASSIGN_OR_RETURN(auto detail, GetRun(run_id));
  return Status::FailedPrecondition("run logs are not stored in the PostgreSQL catalog yet");
}

Result<uint64_t> PgRunCatalog::CountRunFiles(std::string_view run_id) const {
  RUNTRACK_ASSIGN_OR_RETURN(auto detail, GetRun(run_id));
  return Status::FailedPrecondition("run files are not stored in the PostgreSQL catalog yet");
}

Status PgRunCatalog::SoftDelete(std::string_view run_id) {
  RUNTRACK_RETURN_IF_ERROR(runtrack::ValidateRunId(run_id));
  RUNTRACK_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  // coalesce keeps the first deletion time: deleting a deleted run is a no-op, as embedded.
  RUNTRACK_ASSIGN_OR_RETURN(
      PgResult r, conn->Exec("UPDATE runs SET deleted_at = coalesce(deleted_at, $2::float8) WHERE id = $1",
                             {std::string(run_id), PgFloat(NowSeconds())}));
  return r.AffectedRows() == 1 ? Status::Ok() : RunNotFound(run_id);
}

Status PgRunCatalog::Restore(std::string_view run_id) {
  RUNTRACK_RETURN_IF_ERROR(runtrack::ValidateRunId(run_id));
  RUNTRACK_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  RUNTRACK_ASSIGN_OR_RETURN(auto tx, PgTransaction::Begin(*conn));
  RUNTRACK_ASSIGN_OR_RETURN(PgResult row,
                            conn->Exec("SELECT deleted_at IS NOT NULL FROM runs WHERE id = $1 FOR UPDATE",
                                       {std::string(run_id)}));
  if (row.rows() == 0) return RunNotFound(run_id);
  if (row.Get(0, 0) != "t")
    return Status::FailedPrecondition(fmt::format("run {} is not in the recycle bin", run_id));
  RUNTRACK_RETURN_IF_ERROR(conn->Exec("UPDATE runs SET deleted_at = NULL WHERE id = $1", {std::string(run_id)}).status());
  return tx.Commit();
}

Status PgRunCatalog::PermanentDelete(std::string_view run_id) {
  RUNTRACK_RETURN_IF_ERROR(runtrack::ValidateRunId(run_id));
  RUNTRACK_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  RUNTRACK_ASSIGN_OR_RETURN(auto tx, PgTransaction::Begin(*conn));
  RUNTRACK_ASSIGN_OR_RETURN(PgResult row, conn->Exec("SELECT status FROM runs WHERE id = $1 FOR UPDATE",
                                                     {std::string(run_id)}));
  if (row.rows() == 0) return RunNotFound(run_id);
  if (row.Get(0, 0) == "running") return Status::FailedPrecondition(fmt::format("run {} is still running", run_id));
  RUNTRACK_RETURN_IF_ERROR(conn->Exec("DELETE FROM runs WHERE id = $1", {std::string(run_id)}).status());
  return tx.Commit();
}

namespace {

const std::string& UpsertSql() {
  static const std::string sql = [] {
    std::string placeholders, updates;
    for (int i = 1; i <= 23; ++i) placeholders += fmt::format("{}${}", i > 1 ? ", " : "", i);
    for (const char* c : {"project", "name", "status", "exit_reason", "created_at", "updated_at", "ended_at",
                          "deleted_at", "pid", "hostname", "tags", "best_metric_name", "best_metric_mode",
                          "best_metric_value", "best_metric_step", "artifacts_created_count",
                          "artifacts_used_count", "search_text", "path", "alias", "config", "summary"})
      updates += fmt::format("{}{} = EXCLUDED.{}", updates.empty() ? "" : ", ", c, c);
    return fmt::format("INSERT INTO runs ({}, config, summary) VALUES ({}) ON CONFLICT (id) DO UPDATE SET {}",
                       kRowColumns, placeholders, updates);
  }();
  return sql;
}

std::vector<PgParam> UpsertParams(const runtrack::RunSummary& run, const boost::json::object& config,
                                  const boost::json::object& summary) {
  std::vector<PgParam> params = RowValues(run);
  params.push_back(boost::json::serialize(config));
  params.push_back(boost::json::serialize(summary));
  return params;
}

}  // namespace

Status PgRunCatalog::UpsertRun(const runtrack::RunSummary& run, const boost::json::object& config,
                               const boost::json::object& summary) {
  RUNTRACK_RETURN_IF_ERROR(runtrack::ValidateRunId(run.id));
  RUNTRACK_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  return conn->Exec(UpsertSql(), UpsertParams(run, config, summary)).status();
}

Status PgRunCatalog::UpsertRuns(const std::vector<const runtrack::RunDetail*>& runs) {
  if (runs.empty()) return Status::Ok();
  for (const auto* r : runs) RUNTRACK_RETURN_IF_ERROR(runtrack::ValidateRunId(r->run.id));
  RUNTRACK_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  RUNTRACK_ASSIGN_OR_RETURN(auto tx, PgTransaction::Begin(*conn));
  for (const auto* r : runs)
    RUNTRACK_RETURN_IF_ERROR(conn->Exec(UpsertSql(), UpsertParams(r->run, r->config, r->summary)).status());
  return tx.Commit();
}

Status PgRunCatalog::RemoveRuns(const std::vector<std::string>& ids) {
  if (ids.empty()) return Status::Ok();
  for (const auto& id : ids) RUNTRACK_RETURN_IF_ERROR(runtrack::ValidateRunId(id));
  RUNTRACK_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  return conn->Exec("DELETE FROM runs WHERE id = ANY($1::text[])", {PgTextArray(ids)}).status();
}

Status PgRunCatalog::CopyRuns(const std::vector<runtrack::RunSummary>& runs) {
  for (const auto& r : runs) RUNTRACK_RETURN_IF_ERROR(runtrack::ValidateRunId(r.id));
  RUNTRACK_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  size_t next = 0;
  return conn->CopyIn(fmt::format("COPY runs ({}) FROM STDIN", kRowColumns), [&](std::string* chunk) {
    // ~1 MiB per call keeps libpq's buffer busy without holding the whole load in memory.
    while (next < runs.size() && chunk->size() < (1u << 20)) {
      bool first = true;
      for (const PgParam& v : RowValues(runs[next++])) {
        if (!first) *chunk += '\t';
        first = false;
        CopyOptional(chunk, v);
      }
      *chunk += '\n';
    }
    return next < runs.size();
  });
}

}  // namespace runicorn::service::pg
