// Reads complete, checksum-valid records from a journal, starting at a byte offset.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string_view>

#include "journal/journal_format.h"
#include "runtrack/status.h"

namespace runtrack::journal {

struct ReadOutcome {
  uint64_t next_offset = 0;  // offset just past the last good record read
  bool torn_tail = false;    // stopped at a record that runs past end of file
  bool corrupt = false;      // stopped at a record whose checksum or length is invalid
};

// Calls `on_record` for every good record from `offset` (0 = start of file, header included) to
// the first torn or corrupt record or the end of file. Reads at most `max_bytes` of new data per
// call (whole records only) so an indexer can interleave many journals. Safe to call while the
// writer appends: only bytes already in the file are read.
using RecordCallback = std::function<Status(RecordType type, std::string_view payload)>;
Result<ReadOutcome> ReadJournal(const std::filesystem::path& path, uint64_t offset,
                                const RecordCallback& on_record, uint64_t max_bytes = 64u << 20);

}  // namespace runtrack::journal
