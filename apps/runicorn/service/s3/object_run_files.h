// Serves a finished run's published log and files from the bucket (docs/SCALE-OUT.md "Run logs and
// run files in the bucket"): the RunFileSource of `runicorn viewer --catalog … --objects …` for runs
// its own store does not hold. Rows come from the shared RunFileIndex (PostgreSQL), bytes from the
// bucket.
//
// Keys: <prefix>/runfiles/<run id>/<sha256 of the content> (RunFileObjectKey). Run-scoped, so a
// permanent delete removes the run's objects by listing one prefix, with no reference counting
// across runs, and `gc --objects` (which collects only chunks/ and segments/) never sees them;
// content-addressed within the run, so a key's bytes never change (a republished file that
// changed gets a new key) and identical files of one run are stored once. A key read back from the
// index is never used: it is derived again and a row whose key differs is refused (409).
//
// Checks: every whole read (ReadLog, ReadFile) is compared with the row's size and SHA-256 before
// anything is returned; a stream (OpenFile) reads 1 MiB range windows (bounded memory for any
// size), fails with Corruption on a short object, and checks the SHA-256 when its last byte is
// read. A missing object is Corruption naming the run, the path and the key.
//
// Live runs are not served here: a run the catalog lists as running answers FailedPrecondition
// "live" — the seam where reads of a live run are forwarded to its owner (another component).
//
// Thread safety: every method may be called from any number of threads.
#pragma once

#include <memory>
#include <string>

#include "service/run_file_source.h"
#include "service/s3/run_file_index.h"
#include "service/s3/s3_client.h"

namespace runicorn::service::s3 {

// The full object key of a run's file or log with content `sha256` (64 hex digits).
std::string RunFileObjectKey(const S3Location& location, std::string_view run_id, std::string_view sha256);
// The full key prefix of a run's objects ("<prefix>/runfiles/<run id>/").
std::string RunFileObjectPrefix(const S3Location& location, std::string_view run_id);

class ObjectRunFiles final : public RunFileSource {
 public:
  ObjectRunFiles(std::shared_ptr<RunFileIndex> index, std::shared_ptr<S3Client> client)
      : index_(std::move(index)), client_(std::move(client)) {}

  runtrack::Result<std::string> ReadLog(std::string_view run_id, uint64_t offset) const override;
  runtrack::Result<uint64_t> CountRunFiles(std::string_view run_id) const override;
  runtrack::Result<std::vector<PublishedRunFile>> ListFiles(std::string_view run_id) const override;
  runtrack::Result<std::string> ReadFile(std::string_view run_id, std::string_view path) const override;
  runtrack::Result<std::unique_ptr<RunFileStream>> OpenFile(std::string_view run_id,
                                                            std::string_view path) const override;
  runtrack::Status RemoveRun(std::string_view run_id) const override;

  // A stream's range-read window.
  static constexpr uint64_t kWindow = 1 << 20;

 private:
  // The run's published set, or the errors of RunFileSource (live, not published, Busy).
  runtrack::Result<RunFileSet> Published(std::string_view run_id) const;
  runtrack::Result<RunFileRow> Find(std::string_view run_id, std::string_view path) const;
  // Whole object, checked against `size` and `sha256`.
  runtrack::Result<std::string> GetChecked(std::string_view run_id, std::string_view what, const std::string& key,
                                           uint64_t size, const std::string& sha256) const;

  std::shared_ptr<RunFileIndex> index_;
  std::shared_ptr<S3Client> client_;
};

// Bucket errors while reading a run's object: a missing object (NotFound) is Corruption (the index
// says it was published), others keep their code; the message names the run and the key.
runtrack::Status RunObjectError(const runtrack::Status& status, std::string_view run_id, std::string_view what,
                                std::string_view key);

}  // namespace runicorn::service::s3
