// The team's bucket as the place a catalog reads sealed segment and LOD objects its own disk
// lacks (runtrack::SealedObjectSource, CatalogOptions::sealed_objects): `runicorn viewer
// --objects` sets it, so a replica with the catalog entry but not the files, or a store whose
// segment files were evicted, answers every metric query from the bucket. Each read is one range
// GET; the catalog checks the bytes (sizes, CRCs) before any point is used.
//
// Thread safety: ReadRange may be called from any number of threads at once (S3Client pools
// connections).
#pragma once

#include <memory>
#include <string>

#include "runtrack/sealed_objects.h"
#include "service/s3/object_segment_store.h"

namespace runicorn::service::s3 {

class ObjectSegmentSource final : public runtrack::SealedObjectSource {
 public:
  explicit ObjectSegmentSource(std::shared_ptr<ObjectSegmentStore> objects) : objects_(std::move(objects)) {}

  runtrack::Status ReadRange(const runtrack::SealedObjectRef& ref, runtrack::SealedObjectKind kind, uint64_t offset,
                             uint64_t length, std::string* out) const override;
  std::string Describe(const runtrack::SealedObjectRef& ref, runtrack::SealedObjectKind kind) const override;

 private:
  std::shared_ptr<ObjectSegmentStore> objects_;
};

}  // namespace runicorn::service::s3
