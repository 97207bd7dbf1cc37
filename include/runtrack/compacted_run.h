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
#include <filesystem>
#include <functional>
#include <memory>
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
  std::string bytes;  // the whole file (empty when `staged`)
  // Set: the file's bytes are already on disk in this temporary file of the run's local folder,
  // written by a CompactedRunStage (fdatasync'ed); the installer checks them mapped from there and
  // renames the file into segments/, so a large file is never held whole in memory.
  std::filesystem::path staged;
};

class CompactedRunStage;

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

// Whether the local journal of `run_id` ends with the run's final Status record, found by content
// in its last 64 KiB (a frame whose length runs exactly to the end, whose CRC-32C matches, of type
// Status). false for a journal that does not (a copy cut short: a prefix of a journal), for a
// Status record longer than that window, and when the run has no journal. Pull sync uses it to
// tell a whole copy from a prefix of equal length (docs/REMOTE.md "Pull sync of a compacted run").
Result<bool> LocalJournalEnded(const StoreLayout& layout, std::string_view run_id);

// Streams the sealed files of a run being fetched from another store into temporary files in the
// run's local folder (runs/<id>/.fetch-<name>), piece by piece, so the fetch holds one piece in
// memory, never a whole file. Nothing is visible to a reader until InstallCompactedRun renames
// the files into segments/. Destroying the stage removes every temporary file it wrote that was
// not installed, and the run folder if Begin created it (so a refused run leaves nothing here).
// A crash mid-fetch can leave `.fetch-*` files (and that folder); the next fetch of the run
// writes the same names over them and removes them.
//
// Thread safety: one thread per stage; one stage per run at a time (the caller serialises).
class CompactedRunStage {
 public:
  // Creates runs/<id>/ when it is absent (fsyncing runs/). InvalidArgument for a bad run id.
  static Result<std::unique_ptr<CompactedRunStage>> Begin(const StoreLayout& layout, std::string_view run_id);
  ~CompactedRunStage();
  CompactedRunStage(const CompactedRunStage&) = delete;
  CompactedRunStage& operator=(const CompactedRunStage&) = delete;

  // Starts file `name`, which must be a sealed file name ("<8 hex>-<16 hex>.seg" / ".lod",
  // InvalidArgument otherwise, never used as a path then), of at most `max_bytes` bytes.
  Status Start(const std::string& name, uint64_t max_bytes);
  // Appends the next piece. Corruption when the file would pass `max_bytes`.
  Status Append(std::string_view piece);
  // fdatasyncs and closes the file; the entry to hand to InstallCompactedRun.
  Result<CompactedRunFile> Finish();

 private:
  CompactedRunStage(StoreLayout layout, std::string run_id, bool created_dir);
  const StoreLayout layout_;
  const std::string run_id_;
  const bool created_dir_;
  std::vector<std::filesystem::path> written_;
  int fd_ = -1;
  std::string name_;
  uint64_t size_ = 0, max_bytes_ = 0;
};

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
// A file given `staged` must be runs/<id>/.fetch-<its name> (a CompactedRunStage's; InvalidArgument
// otherwise); it is checked mapped from disk and renamed into segments/, and one that is refused
// is left for its stage to remove.
// `before_lock` (optional) runs once every byte has passed its checks, just before the lock is
// taken: the journal receiver closes the copy it holds open there, so a run refused for bad bytes
// keeps being received as before.
Result<CompactedInstall> InstallCompactedRun(const StoreLayout& layout, std::string_view run_id,
                                             const CompactedRunFiles& run,
                                             const std::function<void()>& before_lock = {});

}  // namespace runtrack
