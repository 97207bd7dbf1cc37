#include "service/s3/object_segment_store.h"

#include <fmt/format.h>

#include "runtrack/validation.h"

namespace runicorn::service::s3 {

using runtrack::Result;
using runtrack::SealedObjectKind;
using runtrack::SealedObjectRef;
using runtrack::Status;

namespace {

constexpr size_t kRunIdSize = 22;
constexpr size_t kNameSize = kRunIdSize + 1 + 8 + 1 + 16 + 1 + 8;  // run/series-count-crc

bool IsLowerHex(std::string_view s) {
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

std::string_view Extension(SealedObjectKind kind) { return kind == SealedObjectKind::kSegment ? ".seg" : ".lod"; }

}  // namespace

std::string ObjectSegmentStore::NameOf(const SealedObjectRef& ref) {
  return fmt::format("{}/{:08x}-{:016x}-{:08x}", ref.run_id, ref.series, ref.point_count, ref.footer_crc32c);
}

bool ObjectSegmentStore::IsValidName(std::string_view name) {
  if (name.size() != kNameSize || name[kRunIdSize] != '/') return false;
  if (!runtrack::ValidateRunId(name.substr(0, kRunIdSize)).ok()) return false;
  std::string_view rest = name.substr(kRunIdSize + 1);  // series-count-crc
  return rest[8] == '-' && rest[25] == '-' && IsLowerHex(rest.substr(0, 8)) && IsLowerHex(rest.substr(9, 16)) &&
         IsLowerHex(rest.substr(26, 8));
}

std::string ObjectSegmentStore::SegmentsPrefix() const { return client_->location().Key("segments/"); }

std::string ObjectSegmentStore::KeyOf(const SealedObjectRef& ref, SealedObjectKind kind) const {
  return SegmentsPrefix() + NameOf(ref) + std::string(Extension(kind));
}

std::optional<std::string> ObjectSegmentStore::NameOfKey(std::string_view key) const {
  const std::string prefix = SegmentsPrefix();
  if (key.size() != prefix.size() + kNameSize + 4 || key.substr(0, prefix.size()) != prefix) return std::nullopt;
  std::string_view ext = key.substr(key.size() - 4);
  if (ext != ".seg" && ext != ".lod") return std::nullopt;
  std::string_view name = key.substr(prefix.size(), kNameSize);
  if (!IsValidName(name)) return std::nullopt;
  return std::string(name);
}

Result<bool> ObjectSegmentStore::Contains(const SealedObjectRef& ref, SealedObjectKind kind) {
  RUNTRACK_RETURN_IF_ERROR(runtrack::ValidateRunId(ref.run_id));
  auto head = client_->HeadObject(KeyOf(ref, kind));
  if (head.ok()) return head->size == ref.size_of(kind);
  if (head.status().code() == runtrack::StatusCode::kNotFound) return false;
  return head.status();
}

Result<int> ObjectSegmentStore::PutFile(const SealedObjectRef& ref, SealedObjectKind kind,
                                        const std::filesystem::path& path, const FileUploadOptions& options) {
  std::error_code ec;
  const uint64_t size = std::filesystem::file_size(path, ec);
  if (ec) return Status::IOError(fmt::format("{}: {}", path.string(), ec.message()));
  if (size != ref.size_of(kind))
    return Status::InvalidArgument(fmt::format("{}: {} bytes, the catalog recorded {}", NameOf(ref), size,
                                               ref.size_of(kind)));
  const std::string key = KeyOf(ref, kind);
  RUNTRACK_ASSIGN_OR_RETURN(FileUploadResult sent, UploadFile(*client_, key, path, std::nullopt, options));
  if (sent.size != ref.size_of(kind)) {
    (void)client_->DeleteObject(key);  // a sealed file never changes: something rewrote it
    return Status::Busy(fmt::format("{} changed while it was uploaded ({} bytes sent)", path.string(), sent.size));
  }
  return sent.parts;
}

Result<std::string> ObjectSegmentStore::ReadRange(const SealedObjectRef& ref, SealedObjectKind kind, uint64_t offset,
                                                  uint64_t length) {
  RUNTRACK_RETURN_IF_ERROR(runtrack::ValidateRunId(ref.run_id));
  auto bytes = client_->GetRange(KeyOf(ref, kind), offset, length);
  // Other 4xx than 403/404 on a range of a key we named: 416, a range past the object's end.
  if (!bytes.ok() && bytes.status().code() == runtrack::StatusCode::kInvalidArgument)
    return Status::Corruption(fmt::format("the object is shorter than the catalog recorded ({})", bytes.status().message()));
  if (!bytes.ok()) return bytes.status();
  if (bytes->size() != length)
    return Status::Corruption(fmt::format("the object is shorter than the catalog recorded (bytes [{}, +{}) gave {})",
                                          offset, length, bytes->size()));
  return bytes;
}

std::string ObjectSegmentStore::Describe(const SealedObjectRef& ref, SealedObjectKind kind) const {
  return fmt::format("s3://{}/{}", client_->location().bucket, KeyOf(ref, kind));
}

}  // namespace runicorn::service::s3
