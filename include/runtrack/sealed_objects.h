// Sealed metric objects outside the store's own disk (docs/SCALE-OUT.md "Sealed segments in the
// bucket").
//
// A sealed series (docs/FORMATS-segments.md "In the catalog") is one segment object plus one LOD
// object, read from runs/<id>/segments/ by default. When such a file is missing there (a replica
// that has the catalog entry but never had the file, or a store whose local segment files were
// evicted), the catalog asks the SealedObjectSource of CatalogOptions::sealed_objects for byte
// ranges of the same object — e.g. a team's bucket (apps/runicorn/service/s3/object_segment_*.h);
// the library itself knows no HTTP. Whatever a source returns is checked exactly as a local file
// is (the index entry's size and footer CRC, the footer's and every block's CRC-32C, the ordinal
// range), so a source cannot make a query return wrong points: bad bytes are Corruption.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "runtrack/status.h"

namespace runtrack {

enum class SealedObjectKind { kSegment, kLod };

// One sealed series as the catalog's index records it: enough to name its two objects
// immutably (a series re-sealed after it grew has another point count, so new names) and to
// check their bytes.
struct SealedObjectRef {
  std::string run_id;
  uint32_t series = 0;         // the catalog's series id (the name is inside the segment footer)
  uint64_t point_count = 0;
  uint32_t footer_crc32c = 0;  // the segment trailer's footer CRC: ties bytes to this sealing
  uint64_t segment_size = 0;
  uint64_t lod_size = 0;       // 0: no LOD object was written

  uint64_t size_of(SealedObjectKind kind) const { return kind == SealedObjectKind::kSegment ? segment_size : lod_size; }
  bool operator==(const SealedObjectRef&) const = default;
};

// Thread safety: ReadRange and Describe may be called from any number of threads at once (chart
// queries of many series run concurrently).
class SealedObjectSource {
 public:
  virtual ~SealedObjectSource() = default;

  // Replaces *out with exactly bytes [offset, offset + length) of the object. NotFound when the
  // source lacks it; Corruption when it is shorter than offset + length; any other error as it
  // happened (IOError for an unreachable source).
  virtual Status ReadRange(const SealedObjectRef& ref, SealedObjectKind kind, uint64_t offset, uint64_t length,
                           std::string* out) const = 0;
  // Names the object in messages ("s3://bucket/prefix/segments/<run>/<name>.seg").
  virtual std::string Describe(const SealedObjectRef& ref, SealedObjectKind kind) const = 0;
};

// Checks a whole sealed object as a reader would before any point is used: size and footer CRC
// against `ref`, the trailer, the footer, and every block's CRC-32C and decoding (segment), or
// every level's CRC and the pyramid's shape and count (LOD). A publisher runs it before an upload,
// so a damaged local file never reaches a shared bucket. Corruption naming what failed.
// Memory: the object plus one batch of decoded points.
Status VerifySealedObject(const SealedObjectRef& ref, SealedObjectKind kind, std::string_view bytes);
// The same check of the object in the file at `path`, read block by block (pread): memory is one
// block and one batch of decoded points, whatever the object's size. NotFound when there is no
// file, IOError when it cannot be read.
Status VerifySealedFile(const SealedObjectRef& ref, SealedObjectKind kind, const std::filesystem::path& path);

}  // namespace runtrack
