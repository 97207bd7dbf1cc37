// Installing data copied from elsewhere into an embedded store: a finished run as its sealed
// segment objects plus a compacted journal, artifact chunks, and whole artifact names (every
// claimed number, exact manifests, aliases, lineage). `runicorn migrate --from` uses it to bring
// a team back end (PostgreSQL + bucket) back into a store (docs/SCALE-OUT.md "Migrating a
// store"); anything that holds a run as sealed objects (an SSH pull of a compacted run) can too.
//
// Every function verifies what it is given before anything becomes visible, writes files whole
// (temporary + fdatasync + rename + directory fsync), and is idempotent: installing what is
// already there (same bytes) changes nothing, so an interrupted copy is finished by repeating it.
// A run becomes visible only with its journal, which is written last; a crash before that leaves
// segment files no journal names (rewritten by the next attempt).
//
// The store's catalog must not be open elsewhere while runs are installed (the caller holds it,
// or nobody does): the catalog indexes a run the first time it sees its journal.
//
// Thread safety: free functions without shared state; one caller per run / artifact name.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "runtrack/artifacts.h"
#include "runtrack/catalog.h"
#include "runtrack/layout.h"
#include "runtrack/sealed_objects.h"
#include "runtrack/status.h"

namespace runtrack {

// Checks `bytes` as `ref`'s segment or LOD object (VerifySealedObject) and writes it where the
// catalog reads it (StoreLayout::segment_path / lod_path). Returns false when an identical file
// was there already (nothing written). Corruption for bytes that fail the check; InvalidArgument
// for an invalid run id.
Result<bool> InstallSealedObject(const StoreLayout& layout, const SealedObjectRef& ref, SealedObjectKind kind,
                                 std::string_view bytes);

// Everything a run's journal says besides its points. `run` supplies id, project, name, status,
// exit_reason, created_at, updated_at, ended_at, deleted_at, pid, hostname, tags,
// best_metric_name / best_metric_mode (the primary metric; best value and step are recomputed
// from the points), path and alias. Text logs are not part of it.
struct InstalledRun {
  RunSummary run;
  boost::json::object config;
  boost::json::object summary;
  std::vector<ArtifactRef> artifacts_created, artifacts_used;
};

// Writes runs/<id>/journal as a compacted journal (docs/FORMATS.md "Compacted journal") whose
// Compacted record names `series` — each series' segment (and LOD object, if lod_size > 0) must
// be installed already: every one is opened and checked against its ref (size, footer CRC, point
// count) first, and its stage names become the journal's stage name records. Then the run's
// start, summary, primary metric, artifact and status records, in the order a writer logs them,
// so a catalog indexing the journal lists the run with the same row (updated_at included: the
// record carries it as the points' newest wall time) and reads every point from the segments.
// A soft-deleted run (run.deleted_at) gets its `deleted` marker first. A run whose status is
// running is refused (FailedPrecondition: its tail is not in any segment). Returns false when
// the run already has a journal (installed before, or a run of this store: left alone).
Result<bool> InstallRunFromSealedObjects(const StoreLayout& layout, const InstalledRun& run,
                                 const std::vector<SealedObjectRef>& series);

// Checks that `bytes` hash to `sha256_hex` and stores them as that chunk in <root>/blobs/.
// Returns false when the chunk was there already. Corruption on a hash mismatch.
Result<bool> InstallArtifactChunk(const std::filesystem::path& root, std::string_view sha256_hex,
                                  std::string_view bytes);

// Whether <root>/blobs/ holds chunk `sha256_hex` with `size` bytes (a chunk is named by its
// content and only ever appears whole, so presence at the right size means the right bytes).
bool ArtifactChunkPresent(const std::filesystem::path& root, std::string_view sha256_hex, uint64_t size);

// The distinct chunks (SHA-256 hex -> size) a manifest's files consist of. Corruption if the
// text is not a valid manifest (its digest is checked).
Result<std::map<std::string, uint64_t>> ManifestChunks(std::string_view manifest_text);

struct ArtifactImportReport {
  uint64_t versions_installed = 0;  // ready, deleted and purged versions written now
  uint64_t versions_present = 0;    // already in the store in the same state, left alone
  uint64_t numbers_reserved = 0;    // claimed numbers without a version (pending), kept taken
  uint64_t aliases_written = 0;
  uint64_t uses_recorded = 0;
};

// Installs one exported name (ArtifactStore::Export's shape, e.g. read from PostgreSQL) into the
// store at `root`: every version number up to `last_version` is claimed (numbers are never
// reused), pending ones stay empty claims, ready and deleted versions get their manifest's exact
// bytes (verified: digest, name, type, number; every chunk must already be in blobs/ with its
// size, else FailedPrecondition naming it), a deleted one its marker before the manifest,
// purged ones a tombstone; then lineage (producing run, "uses" edges) and user aliases. A
// version already present in the same state is left alone; one present in another state is
// FailedPrecondition (the store has diverged: nothing is overwritten). AlreadyExists when the
// name exists with another type.
Result<ArtifactImportReport> ImportArtifactName(const std::filesystem::path& root, const ExportedArtifactName& name,
                                                int last_version);

}  // namespace runtrack
