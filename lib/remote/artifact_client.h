// The artifact routes of a viewer's ingest API (docs/REMOTE.md "Artifacts") over one keep-alive
// libcurl connection: the missing-set query, chunk parts and manifests.
//
// Thread safety: one thread at a time (each shipper thread, each sync job owns its client).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "remote/ingest_client.h"
#include "runtrack/remote.h"

namespace runtrack::remote {

class ArtifactClient {
 public:
  // `abort` (optional) ends a request in flight when it turns true.
  explicit ArtifactClient(const ShipperOptions& options, const std::atomic<bool>* abort = nullptr);
  ~ArtifactClient();
  ArtifactClient(const ArtifactClient&) = delete;
  ArtifactClient& operator=(const ArtifactClient&) = delete;

  // POST /api/ingest/chunks/missing {"digests": [...]}.
  IngestReply Missing(const std::vector<std::string>& digests);
  // PUT /api/ingest/chunks/<digest>?size=<size>&offset=<offset>; `body` is a zstd frame.
  IngestReply PutChunk(std::string_view digest, uint64_t size, uint64_t offset, const std::string& body);
  // PUT /api/ingest/artifacts/<name>/v<version>[?used_by=<run>]; `body` is a zstd frame of the
  // manifest's bytes.
  IngestReply PutManifest(std::string_view name, int version, std::string_view used_by, const std::string& body);
  // PUT /api/ingest/artifacts/<name>/aliases/<alias> {"version": N}.
  IngestReply PutAlias(std::string_view name, std::string_view alias, int version);
  // DELETE /api/ingest/artifacts/<name>/aliases/<alias>?version=<version>.
  IngestReply RemoveAlias(std::string_view name, std::string_view alias, int version);
  // PUT /api/ingest/artifacts/<name>/v<version>/state {"state": <state>} (version_state_shipping.h).
  IngestReply PutVersionState(std::string_view name, int version, std::string_view state);

 private:
  std::string Escape(std::string_view segment);
  IngestReply Send(const char* method, const std::string& path, const char* content_type, bool zstd,
                   const std::string& body);

  const ShipperOptions options_;
  const std::atomic<bool>* abort_;
  void* curl_;  // CURL*, reused so the connection stays open between requests
};

}  // namespace runtrack::remote
