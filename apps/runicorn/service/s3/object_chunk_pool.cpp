#include "service/s3/object_chunk_pool.h"

namespace runicorn::service::s3 {

using runtrack::Result;

Result<std::vector<std::string>> ObjectChunkPool::Missing(const std::vector<std::string>& digests) {
  std::vector<std::string> missing;
  for (const auto& hex : digests) {
    RUNTRACK_RETURN_IF_ERROR(ObjectChunkStore::ValidateDigest(hex));
    RUNTRACK_ASSIGN_OR_RETURN(bool present, objects_->Contains(hex));
    if (!present) missing.push_back(hex);
  }
  return missing;
}

Result<bool> ObjectChunkPool::Put(std::string_view hex, std::string_view bytes) {
  return objects_->PutIfAbsent(hex, bytes);
}

}  // namespace runicorn::service::s3
