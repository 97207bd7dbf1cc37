#include "service/s3/object_segment_publisher.h"

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "runtrack/layout.h"
#include "runtrack/validation.h"
#include "service/s3/object_segment_references.h"
#include "service/s3/s3_file_upload.h"

namespace runicorn::service::s3 {

using runtrack::Result;
using runtrack::SealedObjectKind;
using runtrack::SealedObjectRef;
using runtrack::Status;

Result<bool> ObjectSegmentPublisher::PublishSeries(const SealedObjectRef& ref, SegmentPublishReport* report,
                                                   bool* corrupt) {
  const runtrack::StoreLayout layout(root_);
  bool complete = true;
  for (SealedObjectKind kind : {SealedObjectKind::kSegment, SealedObjectKind::kLod}) {
    if (ref.size_of(kind) == 0) continue;  // sealed without a LOD object
    // Absent, or a wrong-sized object under a name that fixes the size (a foreign writer's): the
    // right bytes replace it.
    RUNTRACK_ASSIGN_OR_RETURN(bool present, objects_->Contains(ref, kind));
    if (present) {
      ++report->already_present;
      continue;
    }
    const std::filesystem::path path = kind == SealedObjectKind::kSegment
                                           ? layout.segment_path(ref.run_id, ref.series, ref.point_count)
                                           : layout.lod_path(ref.run_id, ref.series, ref.point_count);
    const Status checked = runtrack::VerifySealedFile(ref, kind, path);
    if (checked.code() == runtrack::StatusCode::kNotFound) {
      ++report->missing;  // a run deleted or re-sealed meanwhile, or a replica without the file
      complete = false;
      continue;
    }
    if (checked.code() == runtrack::StatusCode::kCorruption) {
      ++report->corrupt;
      *corrupt = true;
      complete = false;
      continue;
    }
    if (!checked.ok()) return checked;
    RUNTRACK_ASSIGN_OR_RETURN(int parts, objects_->PutFile(ref, kind, path, options_.upload));
    ++report->uploaded;
    report->bytes_uploaded += ref.size_of(kind);
    if (parts > 0) ++report->multipart_uploads;
  }
  return complete;
}

Result<SegmentPublishReport> ObjectSegmentPublisher::Push() {
  std::lock_guard<std::mutex> pass(pass_mu_);
  SegmentPublishReport report;
  if (!seeded_) {
    // What this store listed before a restart is in the bucket already (it lists confirmed
    // objects only, and gc keeps what any list names).
    RUNTRACK_ASSIGN_OR_RETURN(auto listed, ReadOwnSegmentReferences(*objects_, root_));
    in_bucket_.insert(listed.begin(), listed.end());
    published_ = std::vector<std::string>(listed.begin(), listed.end());
    std::sort(published_->begin(), published_->end());
    // And what a process that died mid-upload left (its own or another replica's).
    const double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    RUNTRACK_ASSIGN_OR_RETURN(report.stale_uploads_aborted,
                              AbortStaleMultipartUploads(objects_->client(), objects_->SegmentsPrefix(), now,
                                                         options_.stale_upload_seconds));
    seeded_ = true;
  }
  RUNTRACK_ASSIGN_OR_RETURN(std::vector<SealedObjectRef> refs, list_());
  report.series = refs.size();
  Status failed;
  std::vector<std::string> live;
  std::vector<SealedObjectRef> confirmed;
  for (const SealedObjectRef& ref : refs) {
    if (!runtrack::ValidateRunId(ref.run_id).ok()) continue;  // never from this catalog; never a key
    std::string name = ObjectSegmentStore::NameOf(ref);
    if (corrupt_.count(name)) {
      ++report.corrupt;
    } else if (!in_bucket_.count(name) && failed.ok()) {
      bool corrupt = false;
      auto done = PublishSeries(ref, &report, &corrupt);
      if (!done.ok()) failed = done.status();
      else if (*done) in_bucket_.insert(name);
      if (corrupt) corrupt_.insert(name);
    }
    if (in_bucket_.count(name)) {
      live.push_back(std::move(name));
      if (on_confirmed_) confirmed.push_back(ref);
    }
  }
  std::sort(live.begin(), live.end());
  // Names of runs gone from the catalog drop out of the list, so gc may collect their objects.
  in_bucket_ = std::unordered_set<std::string>(live.begin(), live.end());
  if (!published_ || *published_ != live) {
    RUNTRACK_RETURN_IF_ERROR(PublishSegmentReferences(*objects_, root_, live));
    published_ = std::move(live);
    report.references_published = true;
  }
  if (on_confirmed_) RUNTRACK_RETURN_IF_ERROR(on_confirmed_(confirmed));
  if (!failed.ok()) return failed;
  return report;
}

void ObjectSegmentPublisher::StartInBackground(std::chrono::milliseconds period) {
  // last_corrupt: reported once per change, not every pass
  background_.Start(period, [this, last_error = std::string(), last_corrupt = uint64_t{0}]() mutable {
    auto report = Push();
    if (!report.ok() && report.status().message() != last_error) {
      last_error = report.status().message();
      std::fprintf(stderr, "runicorn viewer: --objects: segments: %s (retrying)\n", last_error.c_str());
    } else if (report.ok()) {
      last_error.clear();
      if (report->corrupt > 0 && report->corrupt != last_corrupt)
        std::fprintf(stderr, "runicorn viewer: --objects: %llu local segment object(s) fail their checks; not uploaded\n",
                     static_cast<unsigned long long>(report->corrupt));
      last_corrupt = report->corrupt;
    }
  });
}

void ObjectSegmentPublisher::Stop() { background_.Stop(); }

}  // namespace runicorn::service::s3
