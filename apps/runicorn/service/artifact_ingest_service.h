// Artifact shipping, the receiving end (docs/REMOTE.md "Artifacts"): a writer on another machine
// asks which chunks this store lacks, uploads those, then sends the version's manifest, which is
// published here under the same number as in the writer's store.
//
// Thread safety: any number of threads at once (ArtifactReceiver serialises what must be).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "runtrack/artifact_transfer.h"
#include "runtrack/layout.h"
#include "runtrack/status.h"
#include "service/artifact_service.h"

namespace runicorn::service {

struct ChunkUploadAck {
  bool stored = false;    // the whole chunk is here, verified
  bool gap = false;       // the part did not continue the partial copy: resend from `received`
  uint64_t received = 0;  // bytes of the chunk the server holds
};

struct ManifestAck {
  bool created = false;                     // false: the identical version was already here
  std::vector<std::string> missing_chunks;  // not empty: refused until these are uploaded
  std::string type;                         // the version's artifact type
  int version = 0;
};

struct VersionStateAck {
  int version = 0;
  std::string state;     // the state asked for, now the version's state here
  bool changed = false;  // false: it was in that state already (a resend)
};

// The team's chunk pool (an S3 bucket, service/s3/object_chunk_pool.h) that shipped chunks go to
// when versions are published to a shared catalog (docs/SCALE-OUT.md "Artifact ingest on
// PostgreSQL"). Thread safety: any number of threads.
class SharedChunkPool {
 public:
  virtual ~SharedChunkPool() = default;
  // The digests (valid, each once) the pool has no chunk for, in the order given.
  virtual runtrack::Result<std::vector<std::string>> Missing(const std::vector<std::string>& digests) = 0;
  // Stores chunk `hex` (bytes already verified against it) unless the pool has it. true: uploaded.
  virtual runtrack::Result<bool> Put(std::string_view hex, std::string_view bytes) = 0;
};

// A catalog shared by replicas (PostgreSQL, service/pg/pg_artifact_ingest.h) that shipped versions
// and user aliases are published to instead of this store's artifacts/. Same contract and errors
// as runtrack::ArtifactReceiver's PutManifest / SetAlias / RemoveAlias; a version is refused
// (missing_chunks) until every chunk it references is in the pool. Thread safety: any number of
// threads.
class SharedArtifactCatalog {
 public:
  virtual ~SharedArtifactCatalog() = default;
  virtual runtrack::Result<runtrack::ManifestOutcome> PutManifest(std::string_view name, int version,
                                                                  std::string_view manifest_text,
                                                                  std::string_view used_by) = 0;
  virtual runtrack::Result<bool> SetAlias(std::string_view name, std::string_view alias, int version) = 0;
  virtual runtrack::Result<bool> RemoveAlias(std::string_view name, std::string_view alias, int version) = 0;
};

class ArtifactIngestService {
 public:
  explicit ArtifactIngestService(const runtrack::StoreLayout& layout) : receiver_(layout), layout_(layout) {}

  // Publishes shipped artifacts to a shared catalog and pool (`viewer --catalog … --objects …`)
  // instead of this store: chunks are still assembled and verified in blobs/ (which stays a
  // local cache of them) and then put in `pool` before they are acknowledged; missing-chunk
  // queries ask `pool`. Call before the server starts (not synchronised with requests).
  void UseShared(std::shared_ptr<SharedChunkPool> pool, std::shared_ptr<SharedArtifactCatalog> catalog) {
    pool_ = std::move(pool);
    catalog_ = std::move(catalog);
  }

  // The digests of `digests` (at most runtrack::kMaxMissingQueryDigests, each 64 lower-case hex
  // digits) with no chunk here, in the order asked. InvalidArgument otherwise.
  runtrack::Result<std::vector<std::string>> MissingChunks(const std::vector<std::string>& digests);

  // One part of chunk `digest`. `size_text` / `offset_text` are the raw ?size= and ?offset= values
  // (offset absent: 0; size absent: the part is the whole chunk); `body` the part's bytes, a zstd
  // frame when `zstd`. InvalidArgument for a bad digest, number or frame, and for bytes that do
  // not hash to `digest` (nothing is stored).
  runtrack::Result<ChunkUploadAck> PutChunk(std::string_view digest, const std::string* size_text,
                                            const std::string* offset_text, std::string_view body, bool zstd);

  // `version_text` is the route's {version} (decimal); `body` the manifest's bytes (a zstd frame
  // when `zstd`); `used_by` a run id recorded as a user of the version, or empty.
  runtrack::Result<ManifestAck> PutManifest(std::string_view name, std::string_view version_text,
                                            std::string_view body, bool zstd, std::string_view used_by);

  // A writer's user alias (`PUT /api/ingest/artifacts/{name}/aliases/{alias}`): points it at
  // `version`, a ready version here. Returns whether anything changed (false: a resend).
  runtrack::Result<bool> SetAlias(std::string_view name, std::string_view alias, int64_t version);
  // `DELETE .../aliases/{alias}?version=N`: removes the alias if it still points at N.
  // `version_text` is the raw ?version= value (required). Returns whether it was removed.
  runtrack::Result<bool> RemoveAlias(std::string_view name, std::string_view alias, const std::string* version_text);

  // A writer's soft delete, restore or permanent delete of a version it shipped
  // (`PUT /api/ingest/artifacts/{name}/v{N}/state`, artifact_ingest_states.cpp): sets the version's
  // state to `state` ("deleted", "ready" or "purged") through `artifacts`, the served store's
  // artifact repository (PostgreSQL's with `viewer --catalog`), so it lands where the version was
  // published. Idempotent: a version already in that state is `changed: false`. NotFound for an
  // unknown name or version (a permanently deleted one included: the writer takes that answer to
  // a permanent delete as done); FailedPrecondition from the repository (e.g. restoring a
  // version the server purged); InvalidArgument for a bad version or state.
  runtrack::Result<VersionStateAck> SetVersionState(ArtifactService& artifacts, std::string_view name,
                                                    std::string_view version_text, std::string_view state);

  runtrack::ArtifactReceiver::Stats stats() const { return receiver_.stats(); }

 private:
  runtrack::ArtifactReceiver receiver_;
  const runtrack::StoreLayout layout_;
  std::shared_ptr<SharedChunkPool> pool_;           // null: this store only
  std::shared_ptr<SharedArtifactCatalog> catalog_;  // set with pool_
};

}  // namespace runicorn::service
