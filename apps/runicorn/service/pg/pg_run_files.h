// Published run logs and run files in PostgreSQL (migration 7, tables `run_file_sets` and
// `run_files`; docs/SCALE-OUT.md "Run logs and run files in the bucket"): s3::RunFileIndex over the
// run catalog's database, so every replica sharing it serves a finished run's log and files.
//
// Values travel as parameters only; every column read back is parsed strictly (a row that does
// not parse is Corruption naming the run). Connection failures are IOError (callers map them to
// Busy / HTTP 503, as the run catalog does).
//
// Thread safety: every method may be called from any number of threads (a connection pool).
#pragma once

#include <memory>
#include <string>

#include "service/pg/pg_connection.h"
#include "service/s3/run_file_index.h"

namespace runicorn::service::pg {

class PgRunFiles final : public s3::RunFileIndex {
 public:
  // Connects and brings the schema to the newest version. IOError when PostgreSQL cannot be reached.
  static runtrack::Result<std::unique_ptr<PgRunFiles>> Open(const std::string& conninfo);

  runtrack::Status ReplaceRun(std::string_view run_id, const s3::RunFileSet& set) override;
  runtrack::Status RemoveRun(std::string_view run_id) override;
  runtrack::Result<s3::IndexedRunFiles> ReadRun(std::string_view run_id) const override;
  runtrack::Result<std::optional<s3::RunFileSet>> ReadSet(std::string_view run_id) const override;

 private:
  explicit PgRunFiles(std::string conninfo) : pool_(std::move(conninfo)) {}
  // Rows of the SELECT both reads share; `first` is the column of folder_files.
  static runtrack::Result<std::optional<s3::RunFileSet>> ParseSet(std::string_view run_id, const PgResult& rows,
                                                                 int first);
  mutable PgPool pool_;
};

}  // namespace runicorn::service::pg
