// Publishes the artifact versions and aliases that local processes log into a replica's own store
// to the team's catalog (PostgreSQL) and pool (the bucket), for `runicorn viewer --catalog …
// --objects …` (docs/SCALE-OUT.md "Local artifacts on a replica"). Without it a training program
// writing into the store a replica serves creates versions no other replica lists.
//
// Each Pass() reads the local store (ArtifactStore::Export) and, per version that is new or whose
// local state changed since the last pass:
//   - a ready or soft-deleted version first gets every chunk into the pool (one HEAD per chunk,
//     PUT only what the bucket lacks: dedup across the team), then is published with
//     PgArtifactRepository::PublishShipped — the artifact-shipping path, one transaction, the
//     local number kept (the manifest names it and its digest covers it);
//   - the identical manifest already there is "present" (a crash between the two steps, or a
//     restart, republishes safely); another manifest under that number, a number purged on the
//     team catalog, or the name used by another type is a *conflict*: reported once, never
//     written, and the local version stays local only (listings come from PostgreSQL);
//   - lineage "uses" edges recorded locally are added;
//   - a local soft delete, restore or permanent delete seen by this mirror (the state changed
//     between two of its passes) is applied to PostgreSQL; so are local alias sets, moves and
//     removals (a removal only while the team alias still points where this store had it).
// Versions and aliases seen for the first time (every one after a restart) are only added when
// PostgreSQL lacks them: a state or alias another replica changed through the API since is never
// undone by an older local view.
//
// Thread safety: Pass() may be called from any thread; passes are serialised.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "service/artifact_ingest_service.h"
#include "service/periodic_pass.h"
#include "service/pg/pg_artifact_repository.h"

namespace runicorn::service::pg {

struct PgArtifactMirrorReport {
  uint64_t versions_published = 0;  // inserted into PostgreSQL by this pass
  uint64_t versions_present = 0;    // first seen here, already in PostgreSQL with the same manifest
  uint64_t chunks_uploaded = 0;     // PUT to the pool (the bucket lacked them)
  uint64_t bytes_uploaded = 0;
  uint64_t lifecycle_changes = 0;   // local soft deletes, restores and purges applied
  uint64_t aliases_written = 0;     // aliases set, moved or removed in PostgreSQL
  // One message per version newly found in conflict (not retried while this mirror lives).
  std::vector<std::string> conflicts;
  // Versions that could not be published this pass (a local chunk missing or damaged); retried.
  std::vector<std::string> problems;
};

// Puts every chunk of `v` the pool lacks into it, read from `root`'s blobs/. `*complete` false
// (with a message in report->problems) when a chunk is missing there or damaged; an error from the
// pool is returned.
runtrack::Status PushVersionChunks(const std::filesystem::path& root, SharedChunkPool& pool,
                                   const runtrack::ExportedArtifactVersion& v, PgArtifactMirrorReport* report,
                                   bool* complete);

class PgArtifactMirror {
 public:
  PgArtifactMirror(std::filesystem::path store_root, std::shared_ptr<PgArtifactRepository> repository,
                   std::shared_ptr<SharedChunkPool> pool)
      : root_(std::move(store_root)), repository_(std::move(repository)), pool_(std::move(pool)) {}
  ~PgArtifactMirror() { Stop(); }
  PgArtifactMirror(const PgArtifactMirror&) = delete;
  PgArtifactMirror& operator=(const PgArtifactMirror&) = delete;

  // One pass over the whole local store. An error from PostgreSQL or the bucket (IOError, Busy)
  // or an unreadable local manifest (Corruption) ends the pass; what was not written is retried
  // by the next one.
  runtrack::Result<PgArtifactMirrorReport> Pass();

  // Runs Pass() every `period` on a background thread until Stop(); a failed pass and each new
  // conflict or problem print one line to stderr ("runicorn viewer: artifact mirror: …").
  void StartInBackground(std::chrono::milliseconds period);
  void Stop();

 private:
  // What this mirror knows PostgreSQL holds for one local version it published or found there.
  struct Mirrored {
    std::string state;  // the local state last applied: "ready", "deleted" or "purged"
    std::set<std::string> uses;
  };
  runtrack::Status MirrorVersion(const runtrack::ExportedArtifactName& name, const runtrack::ExportedArtifactVersion& v,
                                 PgArtifactMirrorReport* report);
  runtrack::Status MirrorAliases(const runtrack::ExportedArtifactName& name, PgArtifactMirrorReport* report);

  const std::filesystem::path root_;
  std::shared_ptr<PgArtifactRepository> repository_;
  std::shared_ptr<SharedChunkPool> pool_;

  std::mutex pass_mu_;  // serialises passes; guards the maps below
  std::map<std::string, Mirrored> versions_;                    // "name:vN"
  std::map<std::string, std::string> conflicts_;                // "name:vN" -> message
  std::map<std::string, std::map<std::string, int>> aliases_;  // name -> alias -> version last applied

  PeriodicPass background_;
};

}  // namespace runicorn::service::pg
