#include "service/s3/segment_index_publisher.h"

#include <algorithm>
#include <set>

#include "runtrack/validation.h"

namespace runicorn::service::s3 {

using runtrack::SealedObjectKind;
using runtrack::Status;

Status SegmentIndexPublisher::Publish(const std::vector<runtrack::SealedObjectRef>& confirmed) {
  std::lock_guard lock(mu_);
  std::set<std::string> in_bucket;
  for (const runtrack::SealedObjectRef& ref : confirmed) in_bucket.insert(ObjectSegmentStore::NameOf(ref));
  RUNTRACK_ASSIGN_OR_RETURN(std::vector<runtrack::SealedSeriesInfo> listed, list_());
  // The runs' rows as they should be; a run with any series not (yet) in the bucket is left out.
  std::map<std::string, std::vector<IndexedSegment>> runs;
  std::set<std::string> incomplete;
  for (runtrack::SealedSeriesInfo& info : listed) {
    const std::string run_id = info.ref.run_id;
    if (!runtrack::ValidateRunId(run_id).ok()) continue;  // never from this catalog; never a key
    if (info.metric.empty() || !in_bucket.count(ObjectSegmentStore::NameOf(info.ref))) {
      incomplete.insert(run_id);
      continue;
    }
    IndexedSegment row;
    row.segment_key = objects_->KeyOf(info.ref, SealedObjectKind::kSegment);
    if (info.ref.lod_size != 0) row.lod_key = objects_->KeyOf(info.ref, SealedObjectKind::kLod);
    row.info = std::move(info);
    runs[run_id].push_back(std::move(row));
  }
  for (auto& [run_id, rows] : runs) {
    if (incomplete.count(run_id)) continue;
    std::sort(rows.begin(), rows.end(),
              [](const IndexedSegment& a, const IndexedSegment& b) { return a.info.ref.series < b.info.ref.series; });
    auto it = written_.find(run_id);
    if (it != written_.end() && it->second == rows) continue;
    RUNTRACK_RETURN_IF_ERROR(index_->ReplaceRun(run_id, rows));
    written_[run_id] = rows;
  }
  // Runs this store wrote that its catalog no longer lists (permanently deleted here).
  for (auto it = written_.begin(); it != written_.end();) {
    if (runs.count(it->first) || incomplete.count(it->first)) {
      ++it;
      continue;
    }
    RUNTRACK_RETURN_IF_ERROR(index_->ReplaceRun(it->first, {}));
    it = written_.erase(it);
  }
  return Status::Ok();
}

}  // namespace runicorn::service::s3
