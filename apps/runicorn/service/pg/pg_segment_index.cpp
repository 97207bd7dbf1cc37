#include "service/pg/pg_segment_index.h"

#include <charconv>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "runtrack/validation.h"
#include "service/pg/pg_run_mirror.h"
#include "service/pg/pg_schema.h"

namespace runicorn::service::pg {
using runtrack::Result;
using runtrack::Status;

namespace {

// One integer column, exactly: no sign where none may be, nothing left over, in range.
template <typename T>
bool ParseInt(std::string_view text, T* out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && end == text.data() + text.size();
}

}  // namespace

Result<std::unique_ptr<PgSegmentIndex>> PgSegmentIndex::Open(const std::string& conninfo) {
  std::unique_ptr<PgSegmentIndex> index(new PgSegmentIndex(conninfo));
  RUNTRACK_ASSIGN_OR_RETURN(auto conn, index->pool_.Acquire());
  RUNTRACK_RETURN_IF_ERROR(MigrateSchema(*conn).status());
  return index;
}

Status PgSegmentIndex::ReplaceRun(std::string_view run_id, const std::vector<s3::IndexedSegment>& series) {
  RUNTRACK_RETURN_IF_ERROR(runtrack::ValidateRunId(run_id));
  for (const s3::IndexedSegment& s : series)
    if (s.info.ref.run_id != run_id)
      return Status::InvalidArgument(fmt::format("series of run {} given for run {}", s.info.ref.run_id, run_id));
  return RetryDroppedConnections([&]() -> Status {
    RUNTRACK_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
    RUNTRACK_ASSIGN_OR_RETURN(auto tx, PgTransaction::Begin(*conn));
    std::vector<std::string> kept;
    for (const s3::IndexedSegment& s : series) {
      const runtrack::SealedObjectRef& r = s.info.ref;
      kept.push_back(std::to_string(r.series));
      RUNTRACK_RETURN_IF_ERROR(
          conn->Exec("INSERT INTO segments (run_id, series, metric, stream, segment_key, lod_key, point_count,"
                     " first_step, last_step, footer_crc32c, segment_size, lod_size)"
                     " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
                     " ON CONFLICT (run_id, series) DO UPDATE SET metric = EXCLUDED.metric, stream = EXCLUDED.stream,"
                     " segment_key = EXCLUDED.segment_key, lod_key = EXCLUDED.lod_key,"
                     " point_count = EXCLUDED.point_count, first_step = EXCLUDED.first_step,"
                     " last_step = EXCLUDED.last_step, footer_crc32c = EXCLUDED.footer_crc32c,"
                     " segment_size = EXCLUDED.segment_size, lod_size = EXCLUDED.lod_size, published_at = now()"
                     " WHERE (segments.segment_key, segments.metric, segments.first_step, segments.last_step)"
                     " IS DISTINCT FROM (EXCLUDED.segment_key, EXCLUDED.metric, EXCLUDED.first_step,"
                     " EXCLUDED.last_step)",
                     {std::string(run_id), std::to_string(r.series), s.info.metric,
                      std::to_string(r.series / (1u << 20)), s.segment_key,
                      s.lod_key.empty() ? PgParam() : PgParam(s.lod_key), std::to_string(r.point_count),
                      std::to_string(s.info.first_step), std::to_string(s.info.last_step),
                      std::to_string(r.footer_crc32c), std::to_string(r.segment_size), std::to_string(r.lod_size)})
              .status());
    }
    RUNTRACK_RETURN_IF_ERROR(conn->Exec("DELETE FROM segments WHERE run_id = $1 AND NOT (series = ANY($2::bigint[]))",
                                        {std::string(run_id), "{" + fmt::format("{}", fmt::join(kept, ",")) + "}"})
                                 .status());
    return tx.Commit();
  });
}

Result<s3::IndexedRun> PgSegmentIndex::ReadRun(std::string_view run_id) const {
  RUNTRACK_RETURN_IF_ERROR(runtrack::ValidateRunId(run_id));
  // One statement, so the run's status and its series come from one snapshot.
  auto rows = RetryDroppedConnections([&]() -> Result<PgResult> {
    RUNTRACK_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
    return conn->Exec(
        "SELECT r.status, s.series, s.metric, s.segment_key, coalesce(s.lod_key, ''), s.point_count, s.first_step,"
        " s.last_step, s.footer_crc32c, s.segment_size, s.lod_size"
        " FROM runs r LEFT JOIN segments s ON s.run_id = r.id WHERE r.id = $1 ORDER BY s.series",
        {std::string(run_id)});
  });
  if (!rows.ok()) return rows.status();
  if (rows->rows() == 0) return Status::NotFound(fmt::format("run {} not found", run_id));
  s3::IndexedRun run;
  RUNTRACK_ASSIGN_OR_RETURN(run.status, runtrack::ParseRunStatus(rows->Get(0, 0)));
  for (int i = 0; i < rows->rows(); ++i) {
    if (rows->IsNull(i, 1)) continue;  // the run has no sealed series
    s3::IndexedSegment s;
    runtrack::SealedObjectRef& r = s.info.ref;
    r.run_id = std::string(run_id);
    s.info.metric = std::string(rows->Get(i, 2));
    s.segment_key = std::string(rows->Get(i, 3));
    s.lod_key = std::string(rows->Get(i, 4));
    if (!ParseInt(rows->Get(i, 1), &r.series) || !ParseInt(rows->Get(i, 5), &r.point_count) ||
        !ParseInt(rows->Get(i, 6), &s.info.first_step) || !ParseInt(rows->Get(i, 7), &s.info.last_step) ||
        !ParseInt(rows->Get(i, 8), &r.footer_crc32c) || !ParseInt(rows->Get(i, 9), &r.segment_size) ||
        !ParseInt(rows->Get(i, 10), &r.lod_size))
      return Status::Corruption(fmt::format("the segment index row of series {} of run {} does not parse",
                                            rows->Get(i, 1), run_id));
    run.series.push_back(std::move(s));
  }
  return run;
}

}  // namespace runicorn::service::pg
