// Publishes the finished runs of a replica's store — each run's text log and its run-folder files —
// to the bucket and records them in the shared RunFileIndex (PostgreSQL), so any replica of
// `runicorn viewer --catalog … --objects …` serves them (docs/SCALE-OUT.md "Run logs and run files in
// the bucket"; the reading side is object_run_files.h).
//
// What is published: every regular file under the run folder (symbolic links not followed) except
// what is already shared another way or is only this replica's state: the journal and stream
// journals, lock, deleted/receiving/reindex markers, shipped, stream, journal-compacting,
// segments/ (the segment index) and system-ship/. A path that ValidateRunFilePath refuses (a
// backslash or control character in a name) is not published and is reported. The log is the
// catalog's ReadLog(run, 0); the folder's file count is the catalog's CountRunFiles.
//
// When: a run whose status is final (its writer ended: the log and files are complete). The set is
// built again when the run's listing row changes (updated_at, status, deleted_at) and, to follow
// later changes in the folder (sealing adds segments/, compaction rewrites the journal), every
// 15th pass. A set equal to what was last written sends nothing. Order: objects first (a HEAD
// finds one already there: keys are content-addressed, so its bytes are right), then the rows in
// one transaction, then the run's objects the new rows no longer name are deleted. A run that
// left the local catalog (permanently deleted here) has its rows and objects removed.
//
// Size and memory: a file is read to hash it (1 MiB pieces) and read again to upload it
// (s3_file_upload.h): one PUT up to FileUploadOptions::multipart_threshold (64 MiB by default),
// else a multipart upload in parts of part_size (64 MiB), with bounded memory (one part buffer) and
// the SHA-256 of the bytes sent checked against the hashed one before the object is committed (a
// file changed in between is retried by a later pass). Files up to kMaxFileBytes (5 TiB, S3's
// largest object) are published; larger ones are reported. Every 15th pass also aborts the
// multipart uploads under runfiles/ older than a day: what a replica that died mid-upload left.
//
// Thread safety: Publish calls are serialised; the background thread is started and stopped by
// the owner.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "runtrack/status.h"
#include "service/periodic_pass.h"
#include "service/s3/run_file_index.h"
#include "service/s3/s3_file_upload.h"
#include "service/s3/s3_client.h"
#include "service/storage.h"

namespace runicorn::service::s3 {

struct RunFilePublishReport {
  uint64_t runs_published = 0;  // sets written
  uint64_t runs_removed = 0;    // sets of runs gone from the local store
  uint64_t objects_put = 0;
  uint64_t objects_deleted = 0;
  uint64_t stale_uploads_aborted = 0;  // multipart uploads a dead publisher left (AbortStaleMultipartUploads)
  std::vector<std::string> skipped;  // "run/path: why", files not published
};

class RunFilePublisher {
 public:
  static constexpr uint64_t kMaxFileBytes = 5ull << 40;  // S3's largest object

  // `local` is this replica's own run index (the embedded store whose folder is `root`); it must
  // outlive the publisher. `upload` sets the single-PUT/multipart threshold and the part size.
  RunFilePublisher(std::shared_ptr<S3Client> client, std::shared_ptr<RunFileIndex> index, std::filesystem::path root,
                   const RunCatalog& local, FileUploadOptions upload = {})
      : client_(std::move(client)), index_(std::move(index)), root_(std::move(root)), local_(local),
        upload_(std::move(upload)) {}
  ~RunFilePublisher() { Stop(); }

  // One pass. The first failing run stops the pass with its error; the others are tried by the next.
  runtrack::Result<RunFilePublishReport> Publish();
  // Publish every `period` until Stop(); a failure is printed once per distinct message.
  void StartInBackground(std::chrono::milliseconds period);
  void Stop();

 private:
  struct Listed {
    double updated_at = 0;
    int status = 0;
    std::optional<double> deleted_at;
    bool operator==(const Listed&) const = default;
  };
  // The run's set as its folder and catalog are now (files hashed by streaming), and its log.
  runtrack::Result<RunFileSet> Build(const std::string& run_id, std::string* log, RunFilePublishReport* report);
  runtrack::Status Write(const std::string& run_id, const RunFileSet& set, const std::string& log,
                         RunFilePublishReport* report);
  runtrack::Status Remove(const std::string& run_id, RunFilePublishReport* report);

  std::shared_ptr<S3Client> client_;
  std::shared_ptr<RunFileIndex> index_;
  std::filesystem::path root_;
  const RunCatalog& local_;
  const FileUploadOptions upload_;

  std::mutex pass_mu_;                         // serialises passes; guards what follows
  uint64_t passes_ = 0;
  std::map<std::string, Listed> seen_;         // the listing row a run's set was built from
  std::map<std::string, RunFileSet> written_;  // what the index holds for runs of this store

  PeriodicPass background_;
};

}  // namespace runicorn::service::s3
