// Metric queries of `runicorn viewer --catalog postgresql://… --objects s3://…` (docs/SCALE-OUT.md
// "Segment index in PostgreSQL"): the runs this replica's store holds are answered by its own
// catalog; any other run the run catalog knows is answered from its sealed objects in the bucket,
// found through the shared segment index (segment_index.h) and read by range GETs
// (runtrack::SealedRunReader: the catalog's checks and its query code, so the answer is the one
// the replica that sealed the run gives, bit for bit).
//
// What a replica answers for a run it does not hold:
// - sealed and final (status not running): every query, from the bucket;
// - still running on its owner (its unsealed tail is only on that replica's disk): 409
//   FailedPrecondition saying so, never the sealed part passed off as the whole run;
// - known but nothing sealed yet: 409 FailedPrecondition;
// - unknown: NotFound, as for the embedded store.
// The index unreachable: Busy (503), retry later. A damaged or missing object: Corruption (500)
// naming it, from the reader's checks.
//
// Opened readers (footers read, pyramids loaded so far) are kept for kMaxOpenRuns runs, least
// recently used dropped; each query reads the run's index rows again (one small SELECT), so a
// series re-sealed elsewhere is read in its new form by the next query. Memory per open run: per
// object read, at most 1.25 MiB of fetched bytes (RemoteObjectBytes) plus the LOD blocks loaded.
//
// Thread safety: every method may be called from any number of threads.
#pragma once

#include <cstdint>
#include <filesystem>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "runtrack/sealed_run.h"
#include "service/s3/object_segment_store.h"
#include "service/s3/segment_index.h"
#include "service/storage.h"

namespace runicorn::service::s3 {

class ObjectMetricReader final : public MetricReader {
 public:
  static constexpr size_t kMaxOpenRuns = 16;

  // `local_runs` / `local`: this replica's store (the embedded storage); they must outlive this.
  // `root`: that store's root (a local copy of a sealed object is read first, like the catalog).
  ObjectMetricReader(const RunCatalog& local_runs, const MetricReader& local, std::shared_ptr<const SegmentIndex> index,
                     std::shared_ptr<ObjectSegmentStore> objects, std::shared_ptr<const runtrack::SealedObjectSource> source,
                     std::filesystem::path root)
      : local_runs_(local_runs), local_(local), index_(std::move(index)), objects_(std::move(objects)),
        source_(std::move(source)), root_(std::move(root)) {}

  runtrack::Result<runtrack::MetricTable> QueryMetrics(std::string_view run_id, const runtrack::MetricQuery& query,
                                                       const runtrack::MetricReadProgress& progress) const override;
  runtrack::Result<runtrack::MetricChunk> ReadMetricSince(std::string_view run_id, std::string_view metric,
                                                          runtrack::MetricCursor cursor,
                                                          uint64_t max_points) const override;
  runtrack::Result<runtrack::MetricCursor> MetricCursorAtEnd(std::string_view run_id,
                                                             std::string_view metric) const override;
  runtrack::Result<std::vector<runtrack::RunStreamInfo>> ListStreams(std::string_view run_id) const override;
  runtrack::Result<std::vector<runtrack::StreamPoints>> ReadMetricStreams(std::string_view run_id,
                                                                          std::string_view metric) const override;

 private:
  // Whether this replica's store holds the run (its own catalog answers then).
  bool HeldHere(std::string_view run_id) const;
  // The reader of a run held elsewhere, per the index (see the header comment for the errors).
  runtrack::Result<std::shared_ptr<const runtrack::SealedRunReader>> Remote(std::string_view run_id) const;

  struct Open {
    std::vector<IndexedSegment> rows;
    std::shared_ptr<const runtrack::SealedRunReader> reader;
    std::list<std::string>::iterator use;  // position in lru_
  };

  const RunCatalog& local_runs_;
  const MetricReader& local_;
  std::shared_ptr<const SegmentIndex> index_;
  std::shared_ptr<ObjectSegmentStore> objects_;
  std::shared_ptr<const runtrack::SealedObjectSource> source_;
  std::filesystem::path root_;
  mutable std::mutex mu_;
  mutable std::map<std::string, Open, std::less<>> open_;  // guarded by mu_
  mutable std::list<std::string> lru_;                     // most recent first; guarded by mu_
};

}  // namespace runicorn::service::s3
