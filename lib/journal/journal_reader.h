// Reads complete, checksum-valid records from a journal, starting at a byte offset.
//
// Damage is told apart from a torn tail (docs/FORMATS.md, "Torn tail or corruption"):
// - torn tail: the bytes after the last good record hold no valid record, and they are either an
//   incomplete record (its length runs past end of file) or all zeros. That is what a writer that
//   is mid-append, or died mid-append, leaves. The reader stops before it and reports nothing
//   wrong; the next call re-reads it, so a live writer's record is picked up once complete.
// - corruption: anything else that is not a valid record. The reader resynchronises on the next
//   valid record (plausible length, known type, matching CRC-32C, followed by end of file or
//   another plausible header), reports where the damage starts and how many bytes it passed over,
//   and keeps reading everything after it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string_view>

#include "journal/journal_format.h"
#include "runtrack/status.h"

namespace runtrack::journal {

struct ReadOutcome {
  uint64_t next_offset = 0;     // where the next call should start reading
  bool torn_tail = false;       // stopped before an incomplete record at end of file
  bool corrupt = false;         // damaged bytes were found during this call
  uint64_t corrupt_offset = 0;  // file offset of the first damaged byte found (when corrupt)
  // Damaged bytes passed over to reach a valid record (or end of file). A damaged stretch that
  // could not be passed over (no valid record and no length to skip) is reported with corrupt and
  // 0 skipped, and read again next call: a writer that is still alive may append after it.
  uint64_t skipped_bytes = 0;
};

// Calls `on_record` for every good record from `offset` (0 = start of file, header included) to
// the end of the file, skipping damaged stretches as described above. Reads at most `max_bytes`
// of new data per call (whole records only; skipped bytes count too) so an indexer can interleave
// many journals. Safe to call while the writer appends: only bytes already in the file when the
// call starts are read. A file whose header is not a version-1 journal header is Corruption.
using RecordCallback = std::function<Status(RecordType type, std::string_view payload)>;
Result<ReadOutcome> ReadJournal(const std::filesystem::path& path, uint64_t offset,
                                const RecordCallback& on_record, uint64_t max_bytes = 64u << 20);

}  // namespace runtrack::journal
