// A small S3 client over libcurl: SigV4 signing is libcurl's (CURLOPT_AWS_SIGV4, libcurl >= 7.75),
// never ours. Every request carries x-amz-content-sha256 (OpenSSL SHA-256 of the payload), which
// Ceph RGW requires; URLs are path-style (endpoint/bucket/key), which every S3-compatible server
// accepts.
//
// Objects larger than one comfortable PUT go up as a multipart upload (CreateMultipartUpload,
// UploadPart, CompleteMultipartUpload; AbortMultipartUpload to give one up): each part is one
// request with its own payload hash, so it is signed and retried like a PUT. s3_file_upload.h
// drives them for a file; s3_multipart.h parses their answers.
//
// Errors: 403 -> FailedPrecondition with S3's error code and message, 404 -> NotFound, other 4xx
// -> InvalidArgument, 5xx and network failures -> IOError after retries (every call here is
// idempotent: a PUT of one key with the same bytes, a GET, HEAD, DELETE or list page may be
// repeated safely; of the multipart calls, a repeated Create may leave the first upload
// unfinished and a repeated Complete may answer NoSuchUpload for an object it made, see
// s3_file_upload.h), backing off 100 ms, 400 ms, 1.6 s. Messages start with "s3:" and name the
// operation, bucket and key; they never contain a credential.
//
// Connections: idle curl easy handles are kept in a small pool and reused, so consecutive
// requests ride one kept-alive connection (a handle is used by one call at a time; N concurrent
// calls use N handles). S3ClientOptions::reuse_connections = false makes a handle per call (the
// old behaviour, kept for the benchmark's before/after).
//
// Thread safety: all methods may be called from any number of threads at once.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtrack/status.h"
#include "service/s3/s3_credentials.h"
#include "service/s3/s3_location.h"
#include "service/s3/s3_multipart.h"

namespace runicorn::service::s3 {

// SHA-256 of `bytes` as 64 lower-case hex digits (OpenSSL), the x-amz-content-sha256 value.
std::string Sha256Hex(std::string_view bytes);

struct S3ObjectInfo {
  std::string key;
  uint64_t size = 0;
  std::string etag;  // as the server sent it, quotes removed
  double last_modified = 0;  // seconds since the Unix epoch; listings only (0 when absent)
};

struct S3ListPage {
  std::vector<S3ObjectInfo> objects;
  std::string next_token;  // "" on the last page
};

struct S3ClientOptions {
  int max_attempts = 4;              // for 5xx / network errors
  long connect_timeout_seconds = 10;
  long timeout_seconds = 300;        // whole request
  bool reuse_connections = true;     // keep idle handles (and their connections) for later calls
  size_t max_idle_handles = 16;      // beyond this, a finished call's handle is closed
};

// Requests sent, by kind, for tests and benchmarks (each retry counts).
struct S3RequestCounts {
  std::atomic<uint64_t> put{0}, get{0}, head{0}, del{0}, list{0};
  std::atomic<uint64_t> post{0};  // CreateMultipartUpload, CompleteMultipartUpload (UploadPart is a put)
  std::atomic<uint64_t> connections{0};  // new TCP connections the requests needed (curl's count)
};

class S3Client {
 public:
  // Receives the body of a GetObject in pieces; return false to abort (the call then answers
  // IOError "aborted by the receiver").
  using BodySink = std::function<bool(std::string_view)>;

  S3Client(S3Location location, S3Credentials credentials, S3ClientOptions options = {});
  ~S3Client();
  S3Client(const S3Client&) = delete;
  S3Client& operator=(const S3Client&) = delete;

  const S3Location& location() const { return location_; }
  const S3RequestCounts& counts() const { return counts_; }

  // Keys are full object keys (S3Location::Key adds the prefix). Keys must be 1..1024 bytes
  // without control characters (InvalidArgument otherwise).
  runtrack::Status PutObject(std::string_view key, std::string_view bytes);
  runtrack::Result<std::string> GetObject(std::string_view key);
  // Streams the body into `sink`. A retry after some bytes were delivered would duplicate them,
  // so a streamed GET is not retried once the first byte arrived.
  runtrack::Status GetObject(std::string_view key, const BodySink& sink);
  // Bytes [offset, offset + length) (fewer at the end of the object).
  runtrack::Result<std::string> GetRange(std::string_view key, uint64_t offset, uint64_t length);
  // NotFound when absent.
  runtrack::Result<S3ObjectInfo> HeadObject(std::string_view key);
  // Deleting an absent key succeeds (S3 semantics).
  runtrack::Status DeleteObject(std::string_view key);
  // One page of keys starting with `prefix`, in key order (at most `max_keys`, <= 1000).
  runtrack::Result<S3ListPage> ListObjects(std::string_view prefix, std::string_view continuation_token = {},
                                           int max_keys = 1000);
  // Every key under `prefix`, following the pages.
  runtrack::Result<std::vector<S3ObjectInfo>> ListAll(std::string_view prefix);
  // Multipart upload of one object. CreateMultipartUpload answers the upload id. UploadPart sends
  // part `part_number` (1..10000; every part but the last >= 5 MiB, which S3 checks at Complete)
  // and answers its ETag; a retry resends the same bytes under the same number, which replaces
  // the part. CompleteMultipartUpload makes the object from `parts` (ascending numbers); its answer
  // is checked even after HTTP 200 (S3 reports late failures in the body). Until Complete or
  // Abort, the parts are stored (and billed) but no object is visible; AbortMultipartUpload frees
  // them, and answers OK for an upload already gone (NoSuchUpload).
  runtrack::Result<std::string> CreateMultipartUpload(std::string_view key);
  runtrack::Result<std::string> UploadPart(std::string_view key, std::string_view upload_id, int part_number,
                                           std::string_view bytes);
  runtrack::Status CompleteMultipartUpload(std::string_view key, std::string_view upload_id,
                                           const std::vector<S3CompletedPart>& parts);
  runtrack::Status AbortMultipartUpload(std::string_view key, std::string_view upload_id);
  // Every unfinished multipart upload of a key starting with `prefix`, following the pages.
  runtrack::Result<std::vector<S3MultipartUploadInfo>> ListMultipartUploads(std::string_view prefix);
  // Creates the bucket (tests and first setup); AlreadyExists when it exists.
  runtrack::Status CreateBucket();
  // HEAD on the bucket: OK when it exists and the credentials may use it.
  runtrack::Status CheckBucket();

  struct Request;
  struct Reply;

 private:
  runtrack::Result<Reply> Send(const Request& req);
  runtrack::Result<Reply> SendOnce(const Request& req, bool* retryable);
  // A curl easy handle (CURL*) for one call: an idle one from the pool (reset, its connection
  // kept) or a new one; nullptr if curl cannot make one.
  void* AcquireHandle();
  void ReleaseHandle(void* handle);

  S3Location location_;
  S3Credentials credentials_;
  S3ClientOptions options_;
  mutable S3RequestCounts counts_;
  std::mutex pool_mu_;
  std::vector<void*> idle_;  // CURL*, guarded by pool_mu_
};

}  // namespace runicorn::service::s3
