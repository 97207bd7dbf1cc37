// Splits a byte range of a journal into whole CRC-framed records (format: docs/FORMATS.md).
//
// Both ends of journal shipping use it: the shipper to find how far its journal holds whole valid
// records (a live writer may be mid-append), the receiver to refuse any body that is not exactly
// such records. Unlike journal_reader.h it never resynchronises past damage: shipping stops at the
// first byte that is not a valid record, so nothing doubtful is ever copied.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "runtrack/status.h"

namespace runtrack::remote {

struct FrameScan {
  // Offset (absolute, in the journal) just past the last whole valid record (or the header).
  uint64_t valid_end = 0;
  // Absolute offsets where records start and the final valid_end: every place a range may begin.
  std::vector<uint64_t> boundaries;
  bool has_status = false;  // a kStatus record (a run's final record) is among them
  // Why scanning stopped before the end of `bytes` (empty: it did not): "incomplete record",
  // "bad record length ...", "checksum mismatch ...", "bad journal header".
  std::string stop_reason;
  bool incomplete = false;  // stopped at a record cut short by the end of `bytes`
};

// Scans `bytes`, which sit at `offset` in the journal. `offset` 0 means they begin with the
// 12-byte header; any other offset must be at or past the header (InvalidArgument otherwise).
Result<FrameScan> ScanFrames(std::string_view bytes, uint64_t offset);

}  // namespace runtrack::remote
