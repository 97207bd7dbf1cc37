// The team's bucket as the pool shipped artifact chunks go to (service::SharedChunkPool), for a
// viewer whose artifact catalog is shared (`viewer --catalog postgresql://… --objects s3://…`,
// docs/SCALE-OUT.md "Artifact ingest on PostgreSQL"). Missing() is one HEAD per digest; Put() is
// ObjectChunkStore::PutIfAbsent (HEAD, then PUT only if absent), so a chunk another replica or
// machine uploaded costs no bytes.
//
// Nothing is cached: a chunk once seen in the bucket may since have been collected by
// `gc --objects` (unreferenced and past its grace period), so every answer is the bucket's own.
//
// Thread safety: any number of threads (S3Client pools its handles).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "service/artifact_ingest_service.h"
#include "service/s3/object_chunk_store.h"

namespace runicorn::service::s3 {

class ObjectChunkPool final : public SharedChunkPool {
 public:
  explicit ObjectChunkPool(std::shared_ptr<ObjectChunkStore> objects) : objects_(std::move(objects)) {}

  runtrack::Result<std::vector<std::string>> Missing(const std::vector<std::string>& digests) override;
  runtrack::Result<bool> Put(std::string_view hex, std::string_view bytes) override;

 private:
  std::shared_ptr<ObjectChunkStore> objects_;
};

}  // namespace runicorn::service::s3
