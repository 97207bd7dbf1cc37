// Sealed metric segments and LOD objects in an S3 bucket (docs/SCALE-OUT.md "Sealed segments in
// the bucket"), one pair per sealed series:
//
//   <prefix>/segments/<run id>/<series, 8 hex>-<point count, 16 hex>-<footer crc32c, 8 hex>.seg
//   <prefix>/segments/<run id>/<series, 8 hex>-<point count, 16 hex>-<footer crc32c, 8 hex>.lod
//
// The name carries what the catalog's index entry checks the bytes against, so it is immutable:
// a series re-sealed after it grew (another count) or sealed again differently (another footer
// CRC) gets new names, and an object a replica may be reading is never overwritten. Run ids are
// validated (ValidateRunId) and the rest is hex, so a key never needs escaping and never leaves
// the prefix. The local files keep their own names (StoreLayout::segment_path): the CRC is only
// added in the bucket.
//
// Thread safety: all methods may be called from any number of threads at once.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "runtrack/sealed_objects.h"
#include "runtrack/status.h"
#include "service/s3/s3_client.h"
#include "service/s3/s3_file_upload.h"

namespace runicorn::service::s3 {

class ObjectSegmentStore {
 public:
  explicit ObjectSegmentStore(std::shared_ptr<S3Client> client) : client_(std::move(client)) {}

  // "<run id>/<series>-<count>-<crc>": names both objects of a sealed series (the line of a
  // segment reference list, object_segment_references.h). The run id must be valid.
  static std::string NameOf(const runtrack::SealedObjectRef& ref);
  // Whether `name` has NameOf's shape with a valid run id.
  static bool IsValidName(std::string_view name);
  // "<prefix>/segments/<name>.seg" or ".lod".
  std::string KeyOf(const runtrack::SealedObjectRef& ref, runtrack::SealedObjectKind kind) const;
  // "<prefix>/segments/": every object of this layout starts with it.
  std::string SegmentsPrefix() const;
  // The name of an object key of this layout (nullopt for any other key: left alone by gc).
  std::optional<std::string> NameOfKey(std::string_view key) const;

  // Uploads the file at `path` as the object with bounded memory (s3_file_upload.h: one PUT up to
  // options.multipart_threshold, else parts from one reused buffer) and answers the upload's part
  // count (0: one PUT). The caller has asked Contains first (another replica may have put it; a
  // race that puts the same bytes twice is harmless: the name fixes them) and checked the file
  // (runtrack::VerifySealedFile). A file whose size is not the one `ref` records is
  // InvalidArgument before any upload; one that changed size meanwhile is removed again (Busy).
  runtrack::Result<int> PutFile(const runtrack::SealedObjectRef& ref, runtrack::SealedObjectKind kind,
                                const std::filesystem::path& path, const FileUploadOptions& options);
  // Whether the object is in the bucket with the size `ref` records.
  runtrack::Result<bool> Contains(const runtrack::SealedObjectRef& ref, runtrack::SealedObjectKind kind);
  // Exactly bytes [offset, offset + length): NotFound when absent, Corruption when the object is
  // shorter than the range (the range GET comes back short or 416).
  runtrack::Result<std::string> ReadRange(const runtrack::SealedObjectRef& ref, runtrack::SealedObjectKind kind,
                                          uint64_t offset, uint64_t length);
  // "s3://bucket/<key>".
  std::string Describe(const runtrack::SealedObjectRef& ref, runtrack::SealedObjectKind kind) const;

  S3Client& client() { return *client_; }

 private:
  std::shared_ptr<S3Client> client_;
};

}  // namespace runicorn::service::s3
