#include "service/s3/object_chunk_source.h"

#include <fmt/format.h>

namespace runicorn::service::s3 {

runtrack::Result<std::string> ObjectChunkSource::Read(std::string_view sha256_hex, uint64_t size) const {
  return objects_->Get(sha256_hex, size);
}

std::string ObjectChunkSource::Describe() const {
  const S3Location& loc = objects_->client().location();
  return loc.prefix.empty() ? fmt::format("s3://{}", loc.bucket) : fmt::format("s3://{}/{}", loc.bucket, loc.prefix);
}

}  // namespace runicorn::service::s3
