// The request and answer bodies of S3's multipart upload (CreateMultipartUpload, UploadPart,
// CompleteMultipartUpload, ListMultipartUploads), kept apart from the transport (s3_client.cpp)
// so each parser is tested on its own with malformed answers (tests/s3/s3_client_test.cpp).
//
// Every parser refuses what it does not understand with Corruption naming the operation: an
// upload id or ETag taken from a garbled answer would make the next request fail obscurely, or,
// worse, complete a different upload.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "runtrack/status.h"

namespace runicorn::service::s3 {

// S3's bounds: parts are numbered 1..10000 and every part but the last is at least 5 MiB.
inline constexpr int kMaxMultipartParts = 10000;
inline constexpr uint64_t kMinMultipartPartBytes = 5ull << 20;

struct S3CompletedPart {
  int number = 0;    // 1..10000, ascending in a CompleteMultipartUpload
  std::string etag;  // UploadPart's ETag header, quotes removed
};

struct S3MultipartUploadInfo {
  std::string key;
  std::string upload_id;
  double initiated = 0;  // seconds since the Unix epoch (0 when the answer had none)
};

struct S3MultipartUploadPage {
  std::vector<S3MultipartUploadInfo> uploads;
  // For the next page ("" on the last page).
  std::string next_key_marker, next_upload_id_marker;
};

// InitiateMultipartUploadResult -> its UploadId; the answer must name `key`.
runtrack::Result<std::string> ParseCreateMultipartUploadAnswer(std::string_view xml, std::string_view key);
// UploadPart's ETag header (as OnHeader kept it, quotes removed) checked: non-empty, printable.
runtrack::Result<std::string> CheckUploadPartETag(std::string_view etag);
// The CompleteMultipartUpload request body. InvalidArgument for no parts, part numbers that are not
// ascending in 1..10000, or an empty ETag.
runtrack::Result<std::string> FormatCompleteMultipartUpload(const std::vector<S3CompletedPart>& parts);
// A CompleteMultipartUpload answer with HTTP 200: S3 may still report failure in the body (an
// <Error> document, sent after the 200 while it assembled the parts). OK only for a
// CompleteMultipartUploadResult; IOError for an <Error> (code and message in the text); Corruption
// for anything else.
runtrack::Status CheckCompleteMultipartUploadAnswer(std::string_view xml);
// One page of ListMultipartUploadsResult.
runtrack::Result<S3MultipartUploadPage> ParseListMultipartUploadsAnswer(std::string_view xml);

}  // namespace runicorn::service::s3
