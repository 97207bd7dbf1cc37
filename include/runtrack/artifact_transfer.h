// Artifact shipping: a writer's artifact versions, copied to a central viewer chunk by chunk
// (docs/REMOTE.md "Artifacts"). Journal shipping (remote.h) carries the run's records; this
// carries what its lineage records point at.
//
// Chunks are content-addressed (their SHA-256 is their name, docs/FORMATS-artifacts.md), so the
// client asks which of a version's chunks the server lacks, uploads only those, then sends the
// version's manifest.json byte for byte; the server checks every chunk it references is present
// and publishes the version under the same number. Every step is idempotent: a resend after a cut
// connection or a client crash changes nothing on the server.
//
//   ArtifactReceiver  server side: missing-set queries, verified chunk uploads, manifest publish.
//   ShipRunArtifacts  client side: the versions one run produced or used (`runicorn sync`; the
//                     JournalShipper thread runs the same steps after each journal round).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "runtrack/artifacts.h"
#include "runtrack/layout.h"
#include "runtrack/remote.h"
#include "runtrack/status.h"

namespace runtrack {

// Limits of the protocol, shared by both ends.
inline constexpr size_t kMaxMissingQueryDigests = 10000;   // digests per missing-set query
inline constexpr uint64_t kMaxShippedChunkBytes = 64u << 20;  // FastCdc's largest max_size
inline constexpr size_t kMaxShippedManifestBytes = 256u << 20;

// ---------------------------------------------------------------------------------------------
// Server side.

struct ChunkUploadOutcome {
  // true: the chunk is stored (now, or it was already): nothing more to send for it.
  // false: the part was accepted; the server holds `received` bytes of it.
  bool stored = false;
  // false with gap: the part did not start where the server's partial copy ends; resend from
  // `received`.
  bool gap = false;
  uint64_t received = 0;
};

struct ManifestOutcome {
  bool created = false;                     // false: an identical manifest was already there
  std::vector<std::string> missing_chunks;  // not empty: nothing was published (answer 409)
  ArtifactType type = ArtifactType::kCustom;
};

// Receives chunks and manifests into a store's blobs/ and artifacts/ (docs/REMOTE.md "Artifacts").
//
// Errors: InvalidArgument for a digest that is not 64 lower-case hex digits, a size above
// kMaxShippedChunkBytes, a part past the declared size, bytes whose SHA-256 is not the digest
// (the partial upload is discarded; nothing is stored), a manifest that fails its own digest or
// does not name the version it is sent as; FailedPrecondition when the version exists with other
// bytes, is permanently deleted or pending here, or the name belongs to another type.
//
// Durability: a chunk is fdatasynced before it is renamed onto its name, the manifest before its
// version directory appears (one rename), and both directories afterwards, so an acknowledged
// chunk or version survives a crash. Chunks uploaded for a manifest that never comes are left
// to ArtifactStore::Gc (they are unreferenced, collected after its grace period).
//
// Thread safety: any number of threads; uploads of the same chunk are serialised.
class ArtifactReceiver {
 public:
  explicit ArtifactReceiver(StoreLayout layout);
  ~ArtifactReceiver();
  ArtifactReceiver(const ArtifactReceiver&) = delete;
  ArtifactReceiver& operator=(const ArtifactReceiver&) = delete;

  // The digests (at most kMaxMissingQueryDigests) the store has no chunk for, in the order asked,
  // each once.
  Result<std::vector<std::string>> MissingChunks(const std::vector<std::string>& digests);
  // Bytes [offset, offset + bytes.size()) of chunk `digest`, which is `size` bytes long. Offset 0
  // starts over; any other offset must be where the partial copy ends (else gap). When the last
  // byte arrives the whole chunk is verified against `digest` and published.
  Result<ChunkUploadOutcome> PutChunk(std::string_view digest, uint64_t size, uint64_t offset,
                                      std::string_view bytes);
  // Publishes `manifest_text` (a manifest.json exactly as the writer's store holds it) as version
  // `version` of `name`, as ArtifactStore::Log would have: same number, same lineage record for its
  // producing run; "latest" follows. `used_by` (a run id, or empty) additionally records that run
  // as a user of the version, as ArtifactStore::Use does.
  Result<ManifestOutcome> PutManifest(std::string_view name, int version, std::string_view manifest_text,
                                      std::string_view used_by = {});

  // A writer's user alias (docs/REMOTE.md "Artifacts"): points `alias` of `name` at `version`,
  // which must be a ready version here, with one atomic replace of the alias file (as
  // ArtifactStore::SetAlias: a move is one claim, never two). false: it already pointed there
  // (a resend). NotFound when the name or version is not here, FailedPrecondition when the version
  // is deleted or not ready, InvalidArgument for a bad name, alias ("latest" included) or version.
  Result<bool> SetAlias(std::string_view name, std::string_view alias, int version);
  // Removes `alias` if it still points at `version` (the writer's last shipped value): an alias
  // moved here since is left alone. false: nothing removed (absent, or it points elsewhere).
  Result<bool> RemoveAlias(std::string_view name, std::string_view alias, int version);

  // Counters since construction, for tests: what deduplication saved on the wire.
  struct Stats {
    uint64_t missing_queries = 0;
    uint64_t digests_asked = 0;
    uint64_t digests_missing = 0;
    uint64_t chunk_puts = 0;       // PutChunk calls that passed validation
    uint64_t chunks_stored = 0;    // new chunk files published
    uint64_t chunk_bytes_stored = 0;
    uint64_t versions_created = 0;
  };
  Stats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// ---------------------------------------------------------------------------------------------
// Client side.

struct ArtifactShipProgress {
  int versions_checked = 0;   // versions the run produced or used with a published manifest
  int versions_shipped = 0;   // manifests the server accepted in this call
  uint64_t chunks_sent = 0;   // chunks uploaded (the ones the server lacked)
  uint64_t bytes_sent = 0;    // raw chunk bytes uploaded
  int requests = 0;
  int alias_changes = 0;      // user alias sets, moves and removals the server applied
  int state_changes = 0;      // version deletes, restores and permanent deletes the server applied
};

// Ships every artifact version run `run_id` produced or used (its lineage index) that is not yet
// marked shipped, recording each one once the server accepted it (docs/REMOTE.md "Artifacts"),
// then the user aliases of those artifact names that changed since they were last shipped.
// Versions still being published are skipped (shipped by a later call). Transient failures are
// retried with ShipRun's backoff up to `max_attempts` in a row (0: forever), then IOError; a
// refused request (400, 401, 404, a conflicting version) is returned at once.
Result<ArtifactShipProgress> ShipRunArtifacts(const StoreLayout& layout, std::string_view run_id,
                                              const ShipperOptions& options, int max_attempts = 0);

}  // namespace runtrack
