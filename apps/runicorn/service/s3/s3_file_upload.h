// Uploads one local file to the bucket with bounded memory, whatever its size: one PUT up to
// `multipart_threshold`, else a multipart upload whose parts are read into one reused buffer of
// `part_size` bytes (so at most max(threshold, part_size) bytes are in memory). Every request
// carries its own payload's SHA-256 (s3_client.h), and the file's SHA-256 is computed from the
// very bytes sent; when the caller names the SHA-256 the object must have (content-addressed
// keys), an upload whose bytes do not hash to it is not committed: Busy ("changed while
// uploaded"), and for a multipart upload the upload is aborted before Complete, so the key never
// holds other bytes.
//
// Failures: any failed part, a failed Complete, a changed file or a cancel (`progress` answering
// non-OK) aborts the multipart upload (AbortMultipartUpload) before the error is returned. A process
// that dies mid-upload cannot abort: its parts stay in the bucket, invisible to readers, until
// AbortStaleMultipartUploads (run by the run file publisher) or a bucket lifecycle rule
// (AbortIncompleteMultipartUpload) removes them (docs/SCALE-OUT.md "S3 object store").
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "runtrack/status.h"
#include "service/s3/s3_client.h"

namespace runicorn::service::s3 {

struct FileUploadOptions {
  // Files larger than this go up in parts (> 0).
  uint64_t multipart_threshold = 64ull << 20;
  // Bytes per part (>= 5 MiB, S3's minimum for every part but the last). A file that would need
  // more than 10000 parts gets parts just large enough (whole MiB) to fit in 10000.
  uint64_t part_size = 64ull << 20;
  // Called after each part (and after a single PUT) with the bytes sent so far; a non-OK answer
  // cancels the upload (aborted, and that status returned): a stopping viewer, a test.
  std::function<runtrack::Status(uint64_t bytes_sent)> progress;
};

struct FileUploadResult {
  uint64_t size = 0;
  std::string sha256;  // of the bytes sent (hex)
  int parts = 0;       // 0 for a single PUT
};

// InvalidArgument for options out of bounds; IOError when the file cannot be read (a symbolic link
// is not followed); Busy when `expected_sha256` is given and the bytes read differ from it.
runtrack::Result<FileUploadResult> UploadFile(S3Client& client, std::string_view key, const std::filesystem::path& path,
                                              const std::optional<std::string>& expected_sha256,
                                              const FileUploadOptions& options = {});

// How old an unfinished multipart upload must be before a publisher aborts it as a dead process's:
// a younger one may still be running in another replica.
inline constexpr double kStaleMultipartUploadSeconds = 24 * 3600;

// Aborts the unfinished multipart uploads under `prefix` started more than `min_age_seconds`
// before `now` (seconds since the epoch): what a process that died mid-upload left. Younger ones
// may still be running in another replica and are left alone. Returns how many were aborted.
runtrack::Result<uint64_t> AbortStaleMultipartUploads(S3Client& client, std::string_view prefix, double now,
                                                      double min_age_seconds);

}  // namespace runicorn::service::s3
