// Where the object store is: `s3://bucket/prefix?endpoint=http://host:port&region=us-east-1`, the
// value of `runicorn viewer --objects`. Credentials are never part of it (see s3_credentials.h):
// a command line shows in `ps`.
#pragma once

#include <string>
#include <string_view>

#include "runtrack/status.h"

namespace runicorn::service::s3 {

struct S3Location {
  std::string bucket;
  std::string prefix;    // "" or "a/b" (no leading or trailing '/')
  std::string endpoint;  // "http://127.0.0.1:7480" or "https://s3.eu-west-1.amazonaws.com" (no trailing '/')
  std::string region = "us-east-1";

  // "prefix/key", or "key" without a prefix.
  std::string Key(std::string_view key) const;
};

// Parses and validates an `s3://` URL. Query parameters: `endpoint` (http or https URL without a
// path, query or user info; default https://s3.<region>.amazonaws.com) and `region` (default
// us-east-1); any other is refused. Bucket names follow S3's rules (3..63 of [a-z0-9.-], starting
// and ending with a letter or digit); the prefix is made of [A-Za-z0-9._-] segments joined by '/',
// none "." or "..". Every error is InvalidArgument and says which part is wrong.
runtrack::Result<S3Location> ParseS3Url(std::string_view url);

}  // namespace runicorn::service::s3
