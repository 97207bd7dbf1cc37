#include "service/s3/object_segment_source.h"

namespace runicorn::service::s3 {

runtrack::Status ObjectSegmentSource::ReadRange(const runtrack::SealedObjectRef& ref, runtrack::SealedObjectKind kind,
                                                uint64_t offset, uint64_t length, std::string* out) const {
  RUNTRACK_ASSIGN_OR_RETURN(*out, objects_->ReadRange(ref, kind, offset, length));
  return runtrack::Status::Ok();
}

std::string ObjectSegmentSource::Describe(const runtrack::SealedObjectRef& ref, runtrack::SealedObjectKind kind) const {
  return objects_->Describe(ref, kind);
}

}  // namespace runicorn::service::s3
