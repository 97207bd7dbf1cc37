// multipart/form-data request bodies (RFC 7578), as browsers and `curl -F` send them: only what
// /api/v1/datasets/upload needs. Parts are held as views into the body, nothing is written to
// disk, and a part's filename is reported but never used as a path.
//
// Thread safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtrack/status.h"

namespace runicorn::server {

struct MultipartPart {
  std::string name;                     // the form field name
  std::optional<std::string> filename;  // set for file fields; informational only
  std::string content_type;             // the part's Content-Type, empty if none
  std::string_view body;                // into the parsed body
};

// The boundary parameter of a "multipart/form-data; boundary=..." Content-Type (quoted or not,
// 1..70 characters); InvalidArgument otherwise.
runtrack::Result<std::string> MultipartBoundary(std::string_view content_type);

// Splits `body` into its parts. InvalidArgument for a missing boundary line, a part without
// Content-Disposition form-data and a name, a field given twice, more than `max_parts` parts,
// part headers over 8 KiB, or a body that does not end with the closing boundary.
runtrack::Result<std::vector<MultipartPart>> ParseMultipart(std::string_view body, std::string_view boundary,
                                                           size_t max_parts = 16);

}  // namespace runicorn::server
