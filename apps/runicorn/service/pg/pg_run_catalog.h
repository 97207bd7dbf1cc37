// The run index in PostgreSQL: service::RunCatalog over the `runs` table (pg_schema.cpp).
//
// Listing is one SQL statement per page (pg_run_listing.h): filters, sort, paging and the total
// are done by the server with the indexes of migration 1, so a page costs about the same at 10 or
// 10^6 runs. Lifecycle changes are single transactions over the run's row (SELECT ... FOR UPDATE),
// so replicas sharing the database never interleave them.
//
// Not here yet (docs/SCALE-OUT.md): metrics (the segment index), text logs and run files, which
// live in the object store; ReadLog and CountRunFiles answer FailedPrecondition for a known run.
//
// Thread safety: every method may be called from any number of threads (a connection pool).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "service/pg/pg_connection.h"
#include "service/storage.h"

namespace runicorn::service::pg {

class PgRunCatalog final : public RunCatalog {
 public:
  // Connects (libpq conninfo or postgresql:// URI) and migrates the schema to the newest version
  // this binary knows. IOError when unreachable; FailedPrecondition for a newer schema.
  static runtrack::Result<std::unique_ptr<PgRunCatalog>> Open(const std::string& conninfo);

  runtrack::Result<runtrack::RunPage> ListRuns(const runtrack::RunQuery& query) const override;
  runtrack::Result<runtrack::RunDetail> GetRun(std::string_view run_id) const override;
  runtrack::Result<std::string> ReadLog(std::string_view run_id, uint64_t offset) const override;
  // Soft delete of a deleted run keeps its first deletion time; restore of a live run is
  // FailedPrecondition; permanent delete of a running run is FailedPrecondition.
  runtrack::Status SoftDelete(std::string_view run_id) override;
  runtrack::Status Restore(std::string_view run_id) override;
  runtrack::Status PermanentDelete(std::string_view run_id) override;
  runtrack::Result<uint64_t> CountRunFiles(std::string_view run_id) const override;

  // Inserts or replaces one run (its listing row, config and summary). The indexer's write path;
  // the id is validated, config and summary are stored as JSONB (key order is JSONB's).
  runtrack::Status UpsertRun(const runtrack::RunSummary& run, const boost::json::object& config,
                             const boost::json::object& summary);
  // Loads many new runs with one COPY (empty config and summary): all or nothing;
  // AlreadyExists when an id is already stored. Bulk imports and benchmarks.
  runtrack::Status CopyRuns(const std::vector<runtrack::RunSummary>& runs);
  // The mirror's batch (pg_run_mirror.h): UpsertRun for each run (its listing row, config and
  // summary), all in one transaction, so a failure leaves none of them written.
  runtrack::Status UpsertRuns(const std::vector<const runtrack::RunDetail*>& runs);
  // Removes the rows of these runs, whatever their state (the mirror's half of a permanent delete
  // done in the local store). Runs not stored are ignored.
  runtrack::Status RemoveRuns(const std::vector<std::string>& ids);

  // The server's version ("15.18").
  runtrack::Result<std::string> ServerVersion() const;

 private:
  explicit PgRunCatalog(std::string conninfo) : pool_(std::move(conninfo)) {}
  mutable PgPool pool_;
};

}  // namespace runicorn::service::pg
