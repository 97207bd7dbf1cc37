// Import: converts an existing Runicorn store (the Python tracker's plain-file layout) into a
// runtrack store, losslessly where our formats can hold the data and with a reported reason
// where they cannot. Mapping and skip rules: docs/IMPORT.md.
//
// Sources understood:
//   v0.5   <from>/<project>/<name>/runs/<run_id>/            and <from>/artifacts/ (versions,
//                                                            aliases, lineage)
//   v0.6   <from>/runs/<path segments...>/<run_id>/          (a folder holding meta.json or
//                                                            status.json is a run)
//   v0.1   <from>/runs/<run_id>/                             (the v0.6 walk finds these too)
//
// Guarantees
// - Idempotent: a run id that already exists in the target is skipped and reported, never
//   overwritten; an artifact version number that already exists is skipped the same way. Running
//   the import twice imports nothing the second time.
// - Atomic per run: each run is written into a temporary folder under <store_root>/runs/ (a name
//   the catalog ignores) and published with one rename that refuses to replace an existing run,
//   so an interrupted import leaves no half run and the next import finishes the job.
// - Never fatal on bad source data: a half-written JSON file, a torn last line of events.jsonl, a
//   symbolic link, a name or id our store cannot hold, or a path that would leave the source or
//   target root is skipped and listed in ImportReport::skipped with the reason. Only an unusable
//   source or target root (or a failing write to the target) fails the call.
// - Metric values, steps and wall times are read bit-exactly from the source text (NaN, Infinity
//   and -Infinity tokens included).
//
// Thread safety: ImportRunicornStore may run while training processes write other runs into the
// same target store. Two imports into one target at once are safe (each run and each artifact
// version is published by exactly one of them; the other reports it as already present), except
// that a v0.6 asset imported by both at the same moment may get two versions.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "runtrack/status.h"

namespace runtrack {

// One unit of import work finished (a run, an artifact version): `done` of `total` units.
// Called on the calling thread, with done strictly growing and a final call done == total.
using ImportProgressCallback =
    std::function<void(std::string_view item, uint64_t done, uint64_t total)>;

struct ImportOptions {
  // Optional progress reporting (see ImportProgressCallback).
  ImportProgressCallback progress;
  // Read and check everything, fill the report as if importing, but write nothing.
  bool dry_run = false;
};

struct ImportedRun {
  std::string run_id;
  std::string source;        // path of the Runicorn run folder, relative to `from`
  uint64_t points = 0;       // metric points written
  uint64_t log_bytes = 0;    // bytes of logs.txt
  uint64_t media_files = 0;  // files copied into <run>/media/
};

struct SkippedItem {
  std::string item;    // path relative to `from` (or "<artifact>:v<N>")
  std::string reason;  // why it was not (fully) imported
};

struct ImportReport {
  bool dry_run = false;
  std::vector<ImportedRun> imported_runs;
  // Run ids already present in the target (left untouched).
  std::vector<std::string> existing_runs;
  // "<type>/<name>:v<N>"; in a dry run, v0.6 assets (numbered when written) as "<type>/<name>:new".
  std::vector<std::string> imported_artifact_versions;
  std::vector<std::string> existing_artifact_versions;  // already present (any state), untouched
  uint64_t imported_files = 0;     // media files plus artifact files
  uint64_t lineage_edges = 0;      // new produced/used edges in the artifact store (0 in a dry run)
  // Everything skipped or only partly imported, with the reason; includes problems inside
  // otherwise imported runs (a torn last line, a half-written summary.json, ...).
  std::vector<SkippedItem> skipped;

  // True when nothing was imported (e.g. the second run of the same import).
  bool nothing_imported() const { return imported_runs.empty() && imported_artifact_versions.empty(); }
};

// Imports the Runicorn store at `from` into the runtrack store at `store_root` (created if
// missing). Errors: NotFound if `from` is not a directory; InvalidArgument if both paths name the
// same folder; IOError if the target cannot be written. Everything else is per item (see above).
Result<ImportReport> ImportRunicornStore(const std::filesystem::path& from,
                                         const std::filesystem::path& store_root,
                                         const ImportOptions& options = {});

}  // namespace runtrack
