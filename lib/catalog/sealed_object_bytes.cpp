#include "catalog/sealed_object_bytes.h"

#include <algorithm>

#include <fmt/format.h>

namespace runtrack::catalog {

SealedObjectRef MakeSealedObjectRef(std::string_view run_id, uint32_t series, const SealedSegment& segment) {
  SealedObjectRef ref;
  ref.run_id = std::string(run_id);
  ref.series = series;
  ref.point_count = segment.point_count;
  ref.footer_crc32c = segment.footer_crc32c;
  ref.segment_size = segment.file_size;
  ref.lod_size = segment.lod_size;
  return ref;
}

Result<std::unique_ptr<segments::ByteSource>> OpenSealedBytes(const StoreLayout& layout,
                                                              const SealedObjectSource* objects,
                                                              std::string_view run_id, uint32_t series,
                                                              const SealedSegment& segment, SealedObjectKind kind,
                                                              std::string* where) {
  const std::filesystem::path path = kind == SealedObjectKind::kSegment
                                         ? layout.segment_path(run_id, series, segment.point_count)
                                         : layout.lod_path(run_id, series, segment.point_count);
  *where = path.string();
  auto file = segments::FileByteSource::Open(path);
  if (file.ok()) return std::unique_ptr<segments::ByteSource>(std::move(file).value());
  // Only a missing file goes to the source: a local file that is there but unreadable or damaged
  // is reported as it is (it is this store's problem, and the bucket copy came from it).
  if (objects == nullptr || file.status().code() != StatusCode::kNotFound) return file.status();
  SealedObjectRef ref = MakeSealedObjectRef(run_id, series, segment);
  *where = objects->Describe(ref, kind);
  return std::unique_ptr<segments::ByteSource>(
      std::make_unique<RemoteObjectBytes>(objects, std::move(ref), kind, path.string()));
}

Status RemoteObjectBytes::ReadAt(uint64_t offset, uint64_t length, std::string* out) const {
  const uint64_t total = size();
  if (offset > total || length > total - offset)
    return Status::InvalidArgument(fmt::format("byte range [{}, +{}) lies outside an object of {} bytes", offset,
                                               length, total));
  const uint64_t tail_start = total - std::min(total, kTailBytes);
  if (offset < tail_start) {
    if (length >= kReadAheadBytes) return Fetch(offset, length, out);  // big reads are not kept
    std::lock_guard lock(window_mu_);
    if (offset < window_start_ || offset + length > window_start_ + window_.size()) {
      std::string window;
      const uint64_t want = std::min(kReadAheadBytes, total - offset);
      RUNTRACK_RETURN_IF_ERROR(Fetch(offset, want, &window));
      window_ = std::move(window);
      window_start_ = offset;
    }
    out->assign(window_, static_cast<size_t>(offset - window_start_), static_cast<size_t>(length));
    return Status::Ok();
  }
  // Readers of the tail wait for the one fetch rather than each sending the same request.
  std::lock_guard lock(tail_mu_);
  if (!tail_loaded_) {
    std::string tail;
    RUNTRACK_RETURN_IF_ERROR(Fetch(tail_start, total - tail_start, &tail));
    tail_ = std::move(tail);
    tail_loaded_ = true;
  }
  out->assign(tail_, static_cast<size_t>(offset - tail_start), static_cast<size_t>(length));
  return Status::Ok();
}

Status RemoteObjectBytes::Fetch(uint64_t offset, uint64_t length, std::string* out) const {
  Status s = objects_->ReadRange(ref_, kind_, offset, length, out);
  if (s.ok() && out->size() != length)
    s = Status::Corruption(fmt::format("the source returned {} bytes for a range of {}", out->size(), length));
  if (s.ok()) return s;
  // The catalog's index says the object exists: absent in both places means the store lost it.
  const StatusCode code = s.code() == StatusCode::kNotFound ? StatusCode::kCorruption : s.code();
  return Status(code, fmt::format("{} is not on this disk, and reading it from {} failed: {}", local_path_,
                                  objects_->Describe(ref_, kind_), s.message()));
}

}  // namespace runtrack::catalog
