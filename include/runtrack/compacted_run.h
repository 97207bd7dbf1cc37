// A run whose journal was compacted in another store (docs/FORMATS.md "Compacted journal"),
// carried into this store as one unit: its compacted journal plus the segment and LOD files the
// journal's Compacted record names (docs/REMOTE.md "Pull sync of a compacted run"). SSH pull sync
// fetches the bytes (apps/runicorn/service/ssh/pull_sync.*); this module checks and installs them.
//
// Installing is all or nothing for what a reader sees: every file is checked whole first (the
// journal frame by frame, each segment and LOD object with VerifySealedObject); then the sealed
// files are written under temporary names, fdatasync'ed and renamed into runs/<id>/segments/,
// and the journal is renamed over runs/<id>/journal last, with directory fsyncs between. A crash
// before that rename leaves the run as it was (plus segment files nothing refers to, which the
// catalog's orphan sweep removes); after it the run is the compacted one. A local copy of the
// run that was only partly pulled is replaced; the `reindex` marker (StoreLayout::reindex_marker)
// makes the catalog forget what it indexed of it and index the run again from scratch, as after a
// catalog deletion.
//
// Thread safety: free functions; callers serialise installs of one run (the journal receiver does,
// JournalReceiver::InstallCompactedRun).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtrack/layout.h"
#include "runtrack/status.h"

namespace runtrack {

// One sealed file, named as in the other store's runs/<id>/segments/ folder.
struct CompactedRunFile {
  std::string name;   // "<series 8 hex>-<point count 16 hex>.seg" or ".lod"; anything else is refused
  std::string bytes;  // the whole file
};

struct CompactedRunFiles {
  std::string journal;                  // the whole compacted journal
  std::vector<CompactedRunFile> files;  // exactly the files its Compacted record names
};

// What the Compacted record at the head of a compacted journal says.
struct CompactedJournalHead {
  uint64_t original_length = 0;   // the journal's length before compaction (shipping's offsets)
  uint64_t compacted_length = 0;  // the compacted journal's length
  uint64_t points = 0;
  // The sealed files to fetch, in the record's order: name in segments/ and exact size.
  struct File {
    std::string name;
    uint64_t size = 0;
  };
  std::vector<File> files;
};

// Reads the head of a journal from its first `bytes` (at offset 0). nullopt: not a compacted
// journal (or too few bytes to tell: fewer than 21). `*need` (optional) is set to the number of
// leading bytes the Compacted record needs when `bytes` holds less of it (then nullopt is returned
// and *need > bytes.size()); otherwise to 0. Corruption for a Compacted record that fails its
// CRC-32C or does not decode.
Result<std::optional<CompactedJournalHead>> ReadCompactedJournalHead(std::string_view bytes, uint64_t* need = nullptr);

// The local journal of `run_id`, if it is a compacted one: its head (and, in `*file_size`, the
// file's length). nullopt when the run has no journal or it is not compacted.
Result<std::optional<CompactedJournalHead>> ReadLocalCompactedHead(const StoreLayout& layout, std::string_view run_id,
                                                                   uint64_t* file_size = nullptr);

struct CompactedInstall {
  uint64_t replaced_length = 0;  // length of the local journal it replaced (0: none)
  uint64_t files_installed = 0;  // segment + LOD files written
  uint64_t bytes_installed = 0;  // their bytes plus the journal's
};

// Checks `run` whole and installs it as `run_id` of the store at `layout` (see above). The
// caller must hold no lock of the run; InstallCompactedRun takes the run's `lock` and refuses
// (FailedPrecondition) while a writer or receiver holds it. Errors, with nothing installed:
// InvalidArgument for a bad run id or a file name that is not one the journal names (never used
// as a path); Corruption naming the run and the file for a journal or sealed file that fails its
// checks; NotFound for a named file that is missing; FailedPrecondition when the local copy is
// not a prefix-length copy of the same run (longer than the original journal, or with streams).
// `before_lock` (optional) runs once every byte has passed its checks, just before the lock is
// taken: the journal receiver closes the copy it holds open there, so a run refused for bad bytes
// keeps being received as before.
Result<CompactedInstall> InstallCompactedRun(const StoreLayout& layout, std::string_view run_id,
                                             const CompactedRunFiles& run,
                                             const std::function<void()>& before_lock = {});

}  // namespace runtrack
