// Multi-process runs in the catalog (docs/REMOTE.md "Streams"): a run's other streams
// (journal.<S> beside its journal) are ingested into the same RunRecord, each series kept apart
// by its stream's ordinal (run_record.h), so one run holds every rank's points.
#pragma once

#include <string_view>

#include "catalog/journal_ingestor.h"
#include "catalog/run_record.h"
#include "runtrack/layout.h"
#include "runtrack/status.h"

namespace runtrack::catalog {

// Reads each other stream's journal from its recorded offset (at most `max_bytes` each) through
// `ingestor` (the same pass as stream "0", so everything lands in one batch). New stream files
// get the next ordinal. Returns whether any stream moved; *more: some stream may hold more.
// A stream whose header cannot be read is left alone (rank 0's journal decides the run's state).
Result<bool> IngestOtherStreams(const StoreLayout& layout, std::string_view run_id, RunRecord* record,
                                JournalIngestor* ingestor, uint64_t max_bytes, bool* more);

// Whether a run whose status is final must still be read: it has other streams and some stream
// file is longer than what was ingested or the viewer still receives it; or it was judged crashed
// (process_not_found) and its journal grew since, as when a remote writer whose lease ran out
// comes back (REMOTE.md).
bool StreamsPending(const StoreLayout& layout, const RunRecord& record);

}  // namespace runtrack::catalog
