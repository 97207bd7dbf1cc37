// Sealed series in the catalog (docs/FORMATS-segments.md "In the catalog"): once a run is final,
// each series' points leave RocksDB for one segment file plus one LOD object under the run's
// folder (StoreLayout::segment_path / lod_path), and the catalog keeps this index entry instead,
// under key "s" <run_id> <u32 series> (keys.h).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "runtrack/layout.h"
#include "runtrack/sealed_objects.h"
#include "runtrack/status.h"
#include "segments/segment_reader.h"

namespace runtrack::catalog {

// What the catalog knows of one sealed series. The files are found by (series id, point_count)
// through StoreLayout, so no file name read back from the catalog is ever used as a path.
struct SealedSegment {
  uint64_t first_ordinal = 0;  // always 0 today: one segment holds the whole series
  uint64_t point_count = 0;    // the segment covers ordinals [first_ordinal, first_ordinal + point_count)
  uint64_t file_size = 0;      // of the segment file
  uint32_t footer_crc32c = 0;  // the segment trailer's footer CRC: ties the file to this entry
  uint64_t lod_size = 0;       // of the LOD object; 0 when none was written

  uint64_t end_ordinal() const { return first_ordinal + point_count; }
  bool operator==(const SealedSegment&) const = default;
};

// Index entry value: u8 version (1), u64 first_ordinal, u64 point_count, u64 file_size,
// u32 footer_crc32c, u64 lod_size; little-endian, 37 bytes.
std::string EncodeSealedSegment(const SealedSegment& segment);
// nullopt for a value of another length or version (the run is then read as unsealed).
std::optional<SealedSegment> DecodeSealedSegment(std::string_view value);

// The footer CRC recorded in a segment object's trailer (bytes [size - 20, size - 16)); 0 when
// `object` is too short to hold a trailer.
uint32_t SegmentFooterCrc(std::string_view object);

// Open SegmentReaders of sealed series, so a query does not re-read a trailer and footer each time.
// An entry is reused only for the exact index entry it was opened for. At most kMaxOpen files are
// kept open (each holds a descriptor); past that the cache starts afresh.
//
// Thread safety: every method may be called from any thread.
class SegmentReaderCache {
 public:
  static constexpr size_t kMaxOpen = 256;

  // The reader of the run's sealed series. Corruption if the file does not match the index entry
  // (size, footer CRC, point count) or fails SegmentReader::Open; NotFound if it is missing and
  // `objects` is null. With `objects`, a missing file is read from there (sealed_object_bytes.h).
  Result<std::shared_ptr<const segments::SegmentReader>> Get(const StoreLayout& layout, std::string_view run_id,
                                                             uint32_t series, const SealedSegment& segment,
                                                             const SealedObjectSource* objects = nullptr);
  void DropRun(std::string_view run_id);

 private:
  struct Entry {
    SealedSegment segment;
    std::shared_ptr<const segments::SegmentReader> reader;
  };
  std::mutex mu_;
  std::map<std::pair<std::string, uint32_t>, Entry, std::less<>> open_;
};

}  // namespace runtrack::catalog
