// The team's bucket as the place a replica reads artifact chunks its own blobs/ lacks
// (runtrack::ChunkSource): `runicorn viewer --objects` attaches it to every artifact it serves,
// so a download whose chunks were never on this disk, or were removed from it, still works.
//
// Each chunk is fetched whole (one chunk in memory: a bigger object is refused as it arrives),
// verified against its SHA-256 name here (Corruption naming the bucket) and again by the reader.
// Nothing is written to blobs/: a replica stays stateless, and gc's view of blobs/ unchanged.
//
// Thread safety: Read may be called from any number of threads at once (S3Client pools handles).
#pragma once

#include <memory>
#include <string>

#include "runtrack/chunk_source.h"
#include "service/s3/object_chunk_store.h"

namespace runicorn::service::s3 {

class ObjectChunkSource final : public runtrack::ChunkSource {
 public:
  explicit ObjectChunkSource(std::shared_ptr<ObjectChunkStore> objects) : objects_(std::move(objects)) {}

  runtrack::Result<std::string> Read(std::string_view sha256_hex, uint64_t size) const override;
  std::string Describe() const override;

 private:
  std::shared_ptr<ObjectChunkStore> objects_;
};

}  // namespace runicorn::service::s3
