// The run index of `runicorn viewer --catalog postgresql://…` (docs/SCALE-OUT.md "Viewer on
// PostgreSQL"): listing, detail and the run lifecycle answered by PostgreSQL (PgRunCatalog), shared
// by every replica; what only the replica's own store has (text logs, run files, and the metric
// and artifact parts of a run's detail) from that local store, for the runs it holds.
//
// The local store is the source of truth for its runs and PostgreSQL their index: a lifecycle
// change of a run held here is made in the local store first, then written to PostgreSQL at once
// (PgRunMirror::SyncRun); if that write fails the caller gets Busy (HTTP 503) saying so, and the
// mirror applies the change when PostgreSQL is back. A run held by another replica is changed in
// PostgreSQL only. A PostgreSQL that cannot be reached answers Busy with its reason, never a
// stale or partial page.
//
// Thread safety: every method may be called from any number of threads.
#pragma once

#include <memory>
#include <string>

#include "service/pg/pg_run_catalog.h"
#include "service/pg/pg_run_mirror.h"
#include "service/run_file_source.h"
#include "service/storage.h"

namespace runicorn::service::pg {

// Checks a --catalog value: a postgresql:// (or postgres://) URI or a libpq "key=value" string
// that libpq parses and that carries no password (the command line shows in `ps`; the password
// belongs in PGPASSWORD, ~/.pgpass or the file PGPASSFILE names). InvalidArgument otherwise.
runtrack::Status CheckCatalogConninfo(const std::string& conninfo);

class PgViewerCatalog final : public RunCatalog {
 public:
  // Checks `conninfo` (InvalidArgument), connects and migrates the schema (IOError naming the
  // server when it cannot be reached; FailedPrecondition for a newer schema). `local` is the
  // replica's own run index (the embedded store); it must outlive this object.
  static runtrack::Result<std::unique_ptr<PgViewerCatalog>> Open(const std::string& conninfo,
                                                                 RunCatalog& local);

  // Listing and detail from PostgreSQL. GetRun of a run held here adds the local detail's
  // metrics, stages, steps, log size, artifact references and journal state, and its config (the
  // writer's key order, which JSONB does not keep).
  runtrack::Result<runtrack::RunPage> ListRuns(const runtrack::RunQuery& query) const override;
  runtrack::Result<runtrack::RunDetail> GetRun(std::string_view run_id) const override;
  // From the local store; a run only PostgreSQL knows is read from the bucket when its replica
  // published it (UseRunFiles), else FailedPrecondition ("held by another replica"); an unknown
  // one NotFound.
  runtrack::Result<std::string> ReadLog(std::string_view run_id, uint64_t offset) const override;
  runtrack::Result<uint64_t> CountRunFiles(std::string_view run_id) const override;
  runtrack::Status SoftDelete(std::string_view run_id) override;
  runtrack::Status Restore(std::string_view run_id) override;
  runtrack::Status PermanentDelete(std::string_view run_id) override;

  // With --objects: a finished run not held here has its log, file count and files read from
  // the bucket (docs/SCALE-OUT.md "Run logs and run files in the bucket"); a permanent delete
  // removes its published set. Set before serving.
  void UseRunFiles(std::shared_ptr<const RunFileSource> files) { files_ = std::move(files); }
  const std::shared_ptr<const RunFileSource>& run_files() const { return files_; }

  // Run by the viewer's indexer after each pass (AppContext::after_index_pass).
  PgRunMirror& mirror() { return mirror_; }
  PgRunCatalog& remote() { return *remote_; }

 private:
  PgViewerCatalog(std::unique_ptr<PgRunCatalog> remote, RunCatalog& local)
      : remote_(std::move(remote)), local_(local), mirror_(local, *remote_) {}
  // A lifecycle change: local first, then PostgreSQL; a run not held here in PostgreSQL only.
  runtrack::Status Change(std::string_view run_id, runtrack::Status (RunCatalog::*op)(std::string_view));
  // What the local store says about a run it may not hold: NotFound / FailedPrecondition.
  runtrack::Status NotHeldHere(std::string_view run_id, std::string_view what) const;

  std::unique_ptr<PgRunCatalog> remote_;
  RunCatalog& local_;
  PgRunMirror mirror_;
  std::shared_ptr<const RunFileSource> files_;  // null: no bucket
};

// PostgreSQL's failures to be reached or to answer (IOError from the pool: connection refused,
// server gone mid-statement) become Busy, which the API answers 503: the request may be retried
// and nothing was lost. Other codes pass through.
runtrack::Status Unavailable(const runtrack::Status& status);

}  // namespace runicorn::service::pg
