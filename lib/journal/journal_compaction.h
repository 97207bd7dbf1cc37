// Journal compaction (docs/FORMATS.md "Compacted journal"): once a finished run's points are
// durable in sealed segments, its journal is rewritten without its Points records. The rewritten
// journal starts with a Compacted record (type 9) that says where the points went (one entry per
// sealed series, the same facts as the catalog's index entry) and how long the journal was, so
//   - a catalog rebuilt from scratch re-indexes the points from the segment files, and
//   - journal shipping keeps counting in the original byte offsets (a resend below the original
//     length is acknowledged, nothing may follow it).
// This module knows the file format only; choosing a run and checking its segments is the
// catalog's job (lib/catalog/journal_compaction.cpp).
//
// Thread safety: free functions without shared state.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "journal/journal_format.h"
#include "runtrack/status.h"

namespace runtrack::journal {

// Not in RecordType's list: only a compactor writes it, always as the first record after the
// header, and a reader that does not know it skips it (as any unknown type).
inline constexpr RecordType kCompactedRecord = static_cast<RecordType>(9);

// Where one series' points are: the segment file named by (series_id, point_count) in the run's
// segments folder (StoreLayout::segment_path), checked against its size and footer CRC-32C.
struct CompactedSeries {
  uint32_t series_id = 0;
  uint64_t point_count = 0;
  uint64_t segment_size = 0;
  uint32_t footer_crc32c = 0;
  uint64_t lod_size = 0;  // 0: no LOD object
  bool operator==(const CompactedSeries&) const = default;
};

struct CompactionMarker {
  uint64_t original_length = 0;   // journal bytes before compaction (what shippers counted)
  uint64_t compacted_length = 0;  // length of the compacted journal as written
  uint64_t points = 0;            // points moved out (sum of point_count)
  // The newest wall time ingesting the removed Points records would have touched (the last point
  // of each record; -inf when none), so a rebuilt run's updated_at is the same bit for bit.
  double points_updated_at = 0;
  std::vector<CompactedSeries> series;
  bool operator==(const CompactionMarker&) const = default;
};

// Payload: u8 version (1), u64 original_length, u64 compacted_length, u64 points,
// f64 points_updated_at, u32 series count, then per series u32 id, u64 point_count,
// u64 segment_size, u32 footer_crc32c, u64 lod_size. Little-endian.
std::string EncodeCompactionMarker(const CompactionMarker& marker);
// Corruption for a payload of another version or length.
Result<CompactionMarker> DecodeCompactionMarker(std::string_view payload);

// The marker of a compacted journal, nullopt for a journal that is not compacted (its first
// record is something else, or it has none yet). NotFound when the file does not exist.
Result<std::optional<CompactionMarker>> ReadCompactionMarker(const std::filesystem::path& journal);

// Whether `bytes`, which sit at `offset` of a journal, hold the first record of a compacted
// journal (a Compacted record at offset 12). Such bytes cannot be shipped: the points are not
// in them.
bool BeginsWithCompactionMarker(std::string_view bytes, uint64_t offset);

// What WriteCompactedJournal found in the original journal.
struct CompactionScan {
  uint64_t records_kept = 0;
  uint64_t points_records = 0;
  uint64_t points = 0;
  bool has_status = false;        // a Status record (the run's final record) was seen
  uint64_t compacted_length = 0;  // bytes written to the temporary file
};

// Reads `journal` (exactly `expected_length` bytes of whole, undamaged records: anything else is
// FailedPrecondition and nothing is written) and writes `tmp` (created or truncated): the header,
// the Compacted record (`marker` with original_length, compacted_length, points and
// points_updated_at filled in here), then every record except Points, in their order. Every
// point is passed to `on_point` first (the catalog checks it against the segments); an error
// from it stops the rewrite. `tmp` is fdatasync'ed before returning; the caller publishes it with
// PublishCompactedJournal or removes it.
Result<CompactionScan> WriteCompactedJournal(const std::filesystem::path& journal, uint64_t expected_length,
                                             const std::filesystem::path& tmp, CompactionMarker marker,
                                             const std::function<Status(const PackedPoint&)>& on_point);

// rename(tmp, journal) + fsync of the folder: from here on the compacted journal is the journal.
Status PublishCompactedJournal(const std::filesystem::path& tmp, const std::filesystem::path& journal);

}  // namespace runtrack::journal
