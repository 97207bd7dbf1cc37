// Artifact shipping, the receiving end (docs/REMOTE.md "Artifacts"): a writer on another machine
// asks which chunks this store lacks, uploads those, then sends the version's manifest, which is
// published here under the same number as in the writer's store.
//
// Thread safety: any number of threads at once (ArtifactReceiver serialises what must be).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "runtrack/artifact_transfer.h"
#include "runtrack/layout.h"
#include "runtrack/status.h"

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

class ArtifactIngestService {
 public:
  explicit ArtifactIngestService(const runtrack::StoreLayout& layout) : receiver_(layout) {}

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

  runtrack::ArtifactReceiver::Stats stats() const { return receiver_.stats(); }

 private:
  runtrack::ArtifactReceiver receiver_;
};

}  // namespace runicorn::service
