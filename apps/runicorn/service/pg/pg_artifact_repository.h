// Artifact versions, aliases and lineage in PostgreSQL: service::ArtifactRepository over the
// tables of schema migration 2 (pg_schema.cpp; docs/SCALE-OUT.md "Artifacts").
//
// Answers are those of the embedded FileArtifactRepository (same structs, same errors and
// messages), so services, handlers and the API suite do not see which back end they run on.
// Chunk bytes are not in PostgreSQL: a handle from Resolve() reads them from the local store's
// blobs/ and then from the attached ChunkSource (the team's bucket), verifying every chunk.
//
// Concurrency: every change is one transaction. Claiming a version number bumps the name's
// last_version under its row lock (claims on one name serialise, numbers are never reused); an
// alias move is one upsert of its row while the target version's row is share-locked, so a
// concurrent permanent delete (which locks the version row for update and drops its aliases)
// can never leave an alias on a purged version. Reads that take several statements run in one
// REPEATABLE READ snapshot.
//
// Thread safety: every method may be called from any number of threads (a connection pool).
#pragma once

#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "runtrack/artifacts.h"
#include "service/pg/pg_connection.h"
#include "service/storage.h"

namespace runicorn::service::pg {

struct PgArtifactOptions {
  // A local store root whose blobs/ resolved handles read chunks from first (the viewer's own
  // store; created if missing). Required: a handle needs a place to look, even an empty one.
  std::filesystem::path chunk_root;
  // Where handles read chunks missing from blobs/ (e.g. the team's bucket); null: blobs/ only.
  std::shared_ptr<const runtrack::ChunkSource> missing_chunks;
};

// What CopyFrom did; a re-run counts everything it found already copied as skipped.
struct ArtifactCopyReport {
  uint64_t names = 0;
  uint64_t versions_copied = 0;   // ready, deleted and purged (number only) versions inserted
  uint64_t versions_skipped = 0;  // already in PostgreSQL, left as they are
  uint64_t versions_pending = 0;  // unpublished in the source: their numbers are reserved, not copied
  uint64_t aliases_copied = 0;
  uint64_t uses_copied = 0;       // lineage "uses" edges
};

class PgArtifactRepository final : public ArtifactRepository {
 public:
  // Connects and migrates the schema (as PgRunCatalog::Open). InvalidArgument without a
  // chunk_root; IOError when the server is unreachable.
  static runtrack::Result<std::unique_ptr<PgArtifactRepository>> Open(const std::string& conninfo,
                                                                      PgArtifactOptions options);

  runtrack::Result<std::vector<runtrack::ArtifactSummary>> ListArtifacts(
      std::optional<runtrack::ArtifactType> type) override;
  // blob_pool_bytes counts the local chunk_root's blobs/ (PostgreSQL holds no bytes; the bucket's
  // size is `runicorn gc --objects`' business).
  runtrack::Result<runtrack::ArtifactStats> Stats() override;
  runtrack::Result<std::vector<runtrack::ArtifactVersionInfo>> ListVersions(std::string_view name,
                                                                           bool include_deleted) override;
  runtrack::Result<runtrack::ArtifactVersionInfo> GetVersion(std::string_view name, int version) override;
  runtrack::Result<runtrack::ArtifactFileList> ListFiles(std::string_view name, int version) override;
  runtrack::Result<runtrack::ArtifactHandle> Resolve(std::string_view spec) override;
  // One recursive query fetches every edge within max_depth hops each way (pg_artifact_lineage.cpp);
  // the walk over them is the embedded one, so nodes come in the same breadth-first order.
  runtrack::Result<runtrack::LineageGraph> Lineage(std::string_view name, int version, int max_depth) override;
  runtrack::Status Delete(std::string_view name, int version, runtrack::DeleteMode mode) override;
  runtrack::Status Restore(std::string_view name, int version) override;
  runtrack::Result<std::map<std::string, int>> Aliases(std::string_view name) override;
  runtrack::Status SetAlias(std::string_view name, std::string_view alias, int version) override;
  runtrack::Status RemoveAlias(std::string_view name, std::string_view alias) override;
  // FailedPrecondition: chunks of a PostgreSQL catalog live in the object store and are collected
  // by `runicorn gc --objects`, which must keep ReferencedChunks() (docs/SCALE-OUT.md).
  runtrack::Result<runtrack::GcReport> Gc(std::chrono::seconds grace,
                                          const runtrack::ProgressCallback& progress) override;

  // The write path of a writer publishing through PostgreSQL. ClaimVersion reserves the next
  // number of `name` (creating the name with `type`; AlreadyExists if the name has another type)
  // as a pending version; PublishVersion makes that pending version ready with `v` (its manifest
  // text is verified and must name this name, type and number).
  runtrack::Result<int> ClaimVersion(std::string_view name, runtrack::ArtifactType type);
  runtrack::Status PublishVersion(std::string_view name, const runtrack::ExportedArtifactVersion& v);

  // The distinct chunks (SHA-256 hex, sorted) of every retained version: what a collector of the
  // bucket must keep.
  runtrack::Result<std::vector<std::string>> ReferencedChunks();

  // Artifact shipping into PostgreSQL (pg_artifact_ingest.cpp; docs/SCALE-OUT.md "Artifact ingest
  // on PostgreSQL"). A shipped version keeps the number the writer's store gave it (its manifest
  // names it and the digest covers it), so PublishShipped claims exactly that number in one
  // transaction: the name's row is locked while last_version = greatest(last_version, N) and the
  // ready row is inserted, so racing claims of one number (another ship, ClaimVersion) serialise
  // and one wins. Returns false when the identical manifest is already there (a resend);
  // FailedPrecondition when the number holds another manifest, is pending or was purged;
  // AlreadyExists when the name has another type. `used_by` (a run id or empty) records a "use".
  runtrack::Result<bool> PublishShipped(const runtrack::ExportedArtifactVersion& v, std::string_view used_by);
  // A verified manifest as the record PublishShipped stores (state "ready"): Corruption for text
  // that is not a manifest or fails its digest.
  runtrack::Result<runtrack::ExportedArtifactVersion> RecordOfManifest(std::string_view manifest_text) const;
  // A writer's alias: points it at `version` (ready), as one upsert; false when it already
  // pointed there. RemoveShippedAlias removes it only while it still points at `version`.
  runtrack::Result<bool> SetShippedAlias(std::string_view name, std::string_view alias, int version);
  runtrack::Result<bool> RemoveShippedAlias(std::string_view name, std::string_view alias, int version);
  // Records that run `run_id` used version N (lineage "uses"; a ready or soft-deleted version,
  // else NotFound); true when the edge is new. Defined in pg_dataset_artifacts.cpp.
  runtrack::Result<bool> RecordUse(std::string_view name, int version, std::string_view run_id);

  // Copies an embedded store's names, versions (with files, chunk lists, manifests), user aliases
  // and lineage "uses" edges (pg_artifact_copy.cpp). Resumable: each name is one transaction, and
  // rows already present are left alone, so re-running after an interruption copies nothing
  // twice. AlreadyExists if a name is stored with another type (names before it stay copied);
  // Corruption if a source manifest is unreadable (checked first: nothing is copied).
  runtrack::Result<ArtifactCopyReport> CopyFrom(runtrack::ArtifactStore& source);

 private:
  PgArtifactRepository(std::string conninfo, runtrack::ArtifactStore chunks, PgArtifactOptions options)
      : pool_(std::move(conninfo)), chunks_(std::move(chunks)), options_(std::move(options)) {}

  PgPool pool_;
  // Builds handles over manifests kept here, reading chunks from chunk_root's blobs/.
  const runtrack::ArtifactStore chunks_;
  const PgArtifactOptions options_;
};

}  // namespace runicorn::service::pg
