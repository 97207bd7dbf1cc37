// The shared segment index (docs/SCALE-OUT.md "Segment index in PostgreSQL"): which bucket
// objects hold each sealed series of each run, so a replica that never indexed a run charts it
// from the bucket (object_metric_reader.h). Written by the replica that sealed the run once its
// objects are confirmed in the bucket (segment_index_publisher.h); implemented over PostgreSQL's
// `segments` table by pg::PgSegmentIndex.
//
// Thread safety: implementations allow every method from any number of threads at once.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtrack/run.h"
#include "runtrack/sealed_run.h"
#include "runtrack/status.h"

namespace runicorn::service::s3 {

// One row: a sealed series and the keys its objects were PUT under ("" lod_key: no LOD object).
struct IndexedSegment {
  runtrack::SealedSeriesInfo info;
  std::string segment_key;
  std::string lod_key;
  bool operator==(const IndexedSegment& o) const {
    return info.ref == o.info.ref && info.metric == o.info.metric && info.first_step == o.info.first_step &&
           info.last_step == o.info.last_step && segment_key == o.segment_key && lod_key == o.lod_key;
  }
};

// What the index says about one run: its status in the run catalog and its sealed series.
struct IndexedRun {
  runtrack::RunStatus status = runtrack::RunStatus::kRunning;
  std::vector<IndexedSegment> series;  // by series id
};

class SegmentIndex {
 public:
  virtual ~SegmentIndex() = default;
  // Makes `series` the run's rows, all in one transaction (a re-sealed series' row is replaced, a
  // series no longer listed is removed). Idempotent.
  virtual runtrack::Status ReplaceRun(std::string_view run_id, const std::vector<IndexedSegment>& series) = 0;
  // NotFound when the run catalog has no such run; its series (maybe none) otherwise.
  virtual runtrack::Result<IndexedRun> ReadRun(std::string_view run_id) const = 0;
};

}  // namespace runicorn::service::s3
