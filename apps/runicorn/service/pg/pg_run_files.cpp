#include "service/pg/pg_run_files.h"

#include <charconv>

#include <fmt/format.h>

#include "runtrack/validation.h"
#include "service/pg/pg_run_mirror.h"
#include "service/pg/pg_schema.h"
#include "service/run_file_source.h"

namespace runicorn::service::pg {
using runtrack::Result;
using runtrack::Status;

namespace {

bool ParseSize(std::string_view text, uint64_t* out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && end == text.data() + text.size();
}

// The columns after the run's status: the set, then one file per row (LEFT JOINs: NULLs when
// absent).
constexpr const char* kSetColumns =
    "s.folder_files, s.log_size, s.log_key, s.log_sha256, f.path, f.object_key, f.size, f.sha256";
constexpr const char* kSetJoin = "LEFT JOIN run_files f ON f.run_id = s.run_id";

}  // namespace

Result<std::unique_ptr<PgRunFiles>> PgRunFiles::Open(const std::string& conninfo) {
  std::unique_ptr<PgRunFiles> index(new PgRunFiles(conninfo));
  RUNTRACK_ASSIGN_OR_RETURN(auto conn, index->pool_.Acquire());
  RUNTRACK_RETURN_IF_ERROR(MigrateSchema(*conn).status());
  return index;
}

Status PgRunFiles::ReplaceRun(std::string_view run_id, const s3::RunFileSet& set) {
  RUNTRACK_RETURN_IF_ERROR(runtrack::ValidateRunId(run_id));
  // Checked before any statement, so a refused set leaves the published one as it was.
  for (const s3::RunFileRow& f : set.files) RUNTRACK_RETURN_IF_ERROR(ValidateRunFilePath(f.path));
  return RetryDroppedConnections([&]() -> Status {
    RUNTRACK_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
    RUNTRACK_ASSIGN_OR_RETURN(auto tx, PgTransaction::Begin(*conn));
    RUNTRACK_RETURN_IF_ERROR(
        conn->Exec("INSERT INTO run_file_sets (run_id, folder_files, log_size, log_key, log_sha256)"
                   " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (run_id) DO UPDATE SET"
                   " folder_files = EXCLUDED.folder_files, log_size = EXCLUDED.log_size,"
                   " log_key = EXCLUDED.log_key, log_sha256 = EXCLUDED.log_sha256, published_at = now()",
                   {std::string(run_id), std::to_string(set.folder_files), std::to_string(set.log_size),
                    set.log_key, set.log_sha256})
            .status());
    RUNTRACK_RETURN_IF_ERROR(conn->Exec("DELETE FROM run_files WHERE run_id = $1", {std::string(run_id)}).status());
    for (const s3::RunFileRow& f : set.files)
      RUNTRACK_RETURN_IF_ERROR(
          conn->Exec("INSERT INTO run_files (run_id, path, object_key, size, sha256) VALUES ($1, $2, $3, $4, $5)",
                     {std::string(run_id), f.path, f.object_key, std::to_string(f.size), f.sha256})
              .status());
    return tx.Commit();
  });
}

Status PgRunFiles::RemoveRun(std::string_view run_id) {
  RUNTRACK_RETURN_IF_ERROR(runtrack::ValidateRunId(run_id));
  return RetryDroppedConnections([&]() -> Status {
    RUNTRACK_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
    return conn->Exec("DELETE FROM run_file_sets WHERE run_id = $1", {std::string(run_id)}).status();
  });
}

Result<std::optional<s3::RunFileSet>> PgRunFiles::ParseSet(std::string_view run_id, const PgResult& rows, int first) {
  if (rows.rows() == 0 || rows.IsNull(0, first)) return std::optional<s3::RunFileSet>();
  s3::RunFileSet set;
  auto bad = [&](std::string_view what) {
    return Status::Corruption(fmt::format("the published file set of run {} does not parse ({})", run_id, what));
  };
  if (!ParseSize(rows.Get(0, first), &set.folder_files) || !ParseSize(rows.Get(0, first + 1), &set.log_size))
    return bad("counts");
  set.log_key = std::string(rows.Get(0, first + 2));
  set.log_sha256 = std::string(rows.Get(0, first + 3));
  for (int i = 0; i < rows.rows(); ++i) {
    if (rows.IsNull(i, first + 4)) continue;  // a set without files
    s3::RunFileRow f;
    f.path = std::string(rows.Get(i, first + 4));
    f.object_key = std::string(rows.Get(i, first + 5));
    f.sha256 = std::string(rows.Get(i, first + 7));
    if (!ParseSize(rows.Get(i, first + 6), &f.size)) return bad("size of " + f.path);
    if (!ValidateRunFilePath(f.path).ok()) return bad("path");
    set.files.push_back(std::move(f));
  }
  return std::optional<s3::RunFileSet>(std::move(set));
}

Result<s3::IndexedRunFiles> PgRunFiles::ReadRun(std::string_view run_id) const {
  RUNTRACK_RETURN_IF_ERROR(runtrack::ValidateRunId(run_id));
  // One statement, so the run's status and its set come from one snapshot.
  auto rows = RetryDroppedConnections([&]() -> Result<PgResult> {
    RUNTRACK_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
    return conn->Exec(fmt::format("SELECT r.status, {} FROM runs r LEFT JOIN run_file_sets s ON s.run_id = r.id {}"
                                  " WHERE r.id = $1 ORDER BY f.path",
                                  kSetColumns, kSetJoin),
                      {std::string(run_id)});
  });
  if (!rows.ok()) return rows.status();
  if (rows->rows() == 0) return Status::NotFound(fmt::format("run {} not found", run_id));
  s3::IndexedRunFiles out;
  RUNTRACK_ASSIGN_OR_RETURN(out.status, runtrack::ParseRunStatus(rows->Get(0, 0)));
  RUNTRACK_ASSIGN_OR_RETURN(out.set, ParseSet(run_id, *rows, 1));
  return out;
}

Result<std::optional<s3::RunFileSet>> PgRunFiles::ReadSet(std::string_view run_id) const {
  RUNTRACK_RETURN_IF_ERROR(runtrack::ValidateRunId(run_id));
  auto rows = RetryDroppedConnections([&]() -> Result<PgResult> {
    RUNTRACK_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
    return conn->Exec(
        fmt::format("SELECT {} FROM run_file_sets s {} WHERE s.run_id = $1 ORDER BY f.path", kSetColumns, kSetJoin),
        {std::string(run_id)});
  });
  if (!rows.ok()) return rows.status();
  return ParseSet(run_id, *rows, 0);
}

}  // namespace runicorn::service::pg
