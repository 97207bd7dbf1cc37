// Records a store's sealed series in the shared segment index (segment_index.h) once their
// objects are confirmed in the bucket: the ObjectSegmentPublisher's OnConfirmed hook in
// `runicorn viewer --catalog postgresql://… --objects s3://…`.
//
// A run is written only when every sealed series the catalog lists for it is confirmed, as one
// ReplaceRun (one transaction), so another replica never sees half a sealing. A run re-sealed
// (new object names) is written again; a run that left the catalog (permanently deleted) has its
// rows removed. What was written is remembered, so a steady pass sends nothing; a restarted viewer
// writes each run once more (idempotent).
//
// Thread safety: Publish may be called from any thread; calls are serialised.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "runtrack/sealed_run.h"
#include "runtrack/status.h"
#include "service/s3/object_segment_store.h"
#include "service/s3/segment_index.h"

namespace runicorn::service::s3 {

class SegmentIndexPublisher {
 public:
  using ListFn = std::function<runtrack::Result<std::vector<runtrack::SealedSeriesInfo>>()>;

  // `list` returns the catalog's sealed series with their names (Catalog::ListSealedSeries).
  SegmentIndexPublisher(std::shared_ptr<SegmentIndex> index, std::shared_ptr<ObjectSegmentStore> objects, ListFn list)
      : index_(std::move(index)), objects_(std::move(objects)), list_(std::move(list)) {}

  // `confirmed`: the series whose objects are in the bucket. The first failing write stops the
  // call with its error; runs not written are tried again by the next call.
  runtrack::Status Publish(const std::vector<runtrack::SealedObjectRef>& confirmed);

 private:
  std::shared_ptr<SegmentIndex> index_;
  std::shared_ptr<ObjectSegmentStore> objects_;
  ListFn list_;
  std::mutex mu_;
  std::map<std::string, std::vector<IndexedSegment>> written_;  // by run id; guarded by mu_
};

}  // namespace runicorn::service::s3
