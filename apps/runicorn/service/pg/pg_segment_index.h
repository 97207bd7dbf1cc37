// The segment index in PostgreSQL (migration 4, table `segments`; docs/SCALE-OUT.md "Segment
// index in PostgreSQL"): s3::SegmentIndex over the run catalog's database, so every replica
// sharing it finds the bucket objects of any sealed run.
//
// Values travel as parameters only; ReadRun parses every column back strictly (a row that does
// not parse is Corruption naming the run, never a guessed value). Connection failures are IOError
// (callers map them to Busy / HTTP 503, as the run catalog does).
//
// Thread safety: every method may be called from any number of threads (a connection pool).
#pragma once

#include <memory>
#include <string>

#include "service/pg/pg_connection.h"
#include "service/s3/segment_index.h"

namespace runicorn::service::pg {

class PgSegmentIndex final : public s3::SegmentIndex {
 public:
  // Connects and brings the schema to the newest version (the `segments` table). IOError when
  // PostgreSQL cannot be reached.
  static runtrack::Result<std::unique_ptr<PgSegmentIndex>> Open(const std::string& conninfo);

  runtrack::Status ReplaceRun(std::string_view run_id, const std::vector<s3::IndexedSegment>& series) override;
  runtrack::Result<s3::IndexedRun> ReadRun(std::string_view run_id) const override;

 private:
  explicit PgSegmentIndex(std::string conninfo) : pool_(std::move(conninfo)) {}
  mutable PgPool pool_;
};

}  // namespace runicorn::service::pg
