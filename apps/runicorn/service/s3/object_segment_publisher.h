// Publishes a store's sealed metric segments and LOD objects to the team's bucket
// (object_segment_store.h), so any replica can chart a finished run without its files.
// `runicorn viewer --objects` runs one pass at start and then one every few seconds.
//
// A pass asks the catalog for every sealed series (Catalog::ListSealedObjects: committed index
// entries only, whose files are durable) and, for each one not yet confirmed in the bucket: HEAD
// (another replica may have put it), else checks the local file whole (runtrack::VerifySealedFile:
// a damaged local file is reported and never uploaded) and uploads it from the file (one PUT, or
// a multipart upload above FileUploadOptions::multipart_threshold). Confirmed series are remembered; the store's segment reference list
// (object_segment_references.h) is rewritten when the confirmed live set changed — after the
// uploads, so gc's grace period covers an object uploaded before it is listed. A restart reads
// that list back (one GET) instead of HEADing or re-uploading everything.
//
// Memory: bounded whatever a series' size (a segment is ~5.3 B a point: 530 MB for 10^8 points):
// the check reads one block at a time, the upload at most max(threshold, part size) bytes.
// Thread safety: Push may be called from several threads; passes are serialised.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "runtrack/sealed_objects.h"
#include "runtrack/status.h"
#include "service/periodic_pass.h"
#include "service/s3/object_segment_store.h"

namespace runicorn::service::s3 {

struct SegmentPublishReport {
  uint64_t series = 0;           // sealed series the catalog listed
  uint64_t uploaded = 0;         // objects PUT this pass
  uint64_t bytes_uploaded = 0;
  uint64_t already_present = 0;  // objects found in the bucket by HEAD this pass
  uint64_t missing = 0;          // objects neither on this disk nor in the bucket (not listed)
  uint64_t corrupt = 0;          // local objects failing VerifySealedFile (skipped, not listed)
  uint64_t multipart_uploads = 0;  // of the uploads, those that went up in parts
  uint64_t stale_uploads_aborted = 0;  // unfinished multipart uploads under segments/ (first pass)
  bool references_published = false;
};

struct SegmentPublisherOptions {
  // When an object goes up in parts, and how large they are (tests make them small).
  FileUploadOptions upload;
  // A process that dies mid-upload leaves its parts in the bucket (s3_file_upload.h): the first
  // pass of every publisher aborts the unfinished uploads under segments/ older than this (any
  // replica's).
  double stale_upload_seconds = kStaleMultipartUploadSeconds;
};

class ObjectSegmentPublisher {
 public:
  using ListFn = std::function<runtrack::Result<std::vector<runtrack::SealedObjectRef>>()>;

  // `root` is the store (its segment files, and the name of its reference list); `list` returns
  // the catalog's sealed series (Catalog::ListSealedObjects).
  ObjectSegmentPublisher(std::filesystem::path root, std::shared_ptr<ObjectSegmentStore> objects, ListFn list,
                         SegmentPublisherOptions options = {})
      : root_(std::move(root)), objects_(std::move(objects)), list_(std::move(list)), options_(std::move(options)) {}
  ~ObjectSegmentPublisher() { Stop(); }

  // One pass. The first failing request stops the uploads; the list is still published for what
  // was confirmed, then the error returned (the next pass retries).
  runtrack::Result<SegmentPublishReport> Push();

  // Runs Push every `period` on a background thread until Stop(); failures are printed to stderr
  // once per distinct message (the S3 client's messages hold no credentials).
  void StartInBackground(std::chrono::milliseconds period);
  void Stop();

  // Called at the end of every pass with the series confirmed in the bucket (all of them, not only
  // this pass's), e.g. to record them in the shared segment index (segment_index_publisher.h). Its
  // error is the pass's (the next pass calls it again). Set before the first Push.
  using ConfirmedFn = std::function<runtrack::Status(const std::vector<runtrack::SealedObjectRef>& confirmed)>;
  void OnConfirmed(ConfirmedFn fn) { on_confirmed_ = std::move(fn); }

 private:
  // Uploads (or finds) both objects of one series; false when one is missing or corrupt here
  // (*corrupt set for the latter).
  runtrack::Result<bool> PublishSeries(const runtrack::SealedObjectRef& ref, SegmentPublishReport* report,
                                       bool* corrupt);

  std::filesystem::path root_;
  std::shared_ptr<ObjectSegmentStore> objects_;
  ListFn list_;
  SegmentPublisherOptions options_;
  ConfirmedFn on_confirmed_;
  std::mutex pass_mu_;
  bool seeded_ = false;                           // guarded by pass_mu_
  std::unordered_set<std::string> in_bucket_;     // names confirmed; guarded by pass_mu_
  // Names whose local file failed VerifySealedObject: not read and checked again every pass (a
  // 10^7-point segment costs ~0.2 s of CPU to check); a restart retries them. Guarded by pass_mu_.
  std::unordered_set<std::string> corrupt_;
  std::optional<std::vector<std::string>> published_;  // the list last uploaded; guarded by pass_mu_

  PeriodicPass background_;
};

}  // namespace runicorn::service::s3
