// Artifact shipping's receiving end on a shared catalog: a writer's versions and user aliases
// published to PostgreSQL (PgArtifactRepository::PublishShipped & co.), their chunks checked in
// the team's pool (the bucket) first. `runicorn viewer --catalog … --objects …` attaches it to
// ArtifactIngestService::UseShared (docs/SCALE-OUT.md "Artifact ingest on PostgreSQL").
//
// Answers are the embedded ArtifactReceiver's (same checks, same messages), so a writer cannot
// tell which back end it ships to. PostgreSQL being unreachable is Busy (503, "retry later"); the
// shipper retries it.
//
// Thread safety: any number of threads (the repository pools connections).
#pragma once

#include <memory>

#include "service/artifact_ingest_service.h"
#include "service/pg/pg_artifact_repository.h"

namespace runicorn::service::pg {

class PgSharedArtifacts final : public SharedArtifactCatalog {
 public:
  PgSharedArtifacts(std::shared_ptr<PgArtifactRepository> repository, std::shared_ptr<SharedChunkPool> pool)
      : repository_(std::move(repository)), pool_(std::move(pool)) {}

  runtrack::Result<runtrack::ManifestOutcome> PutManifest(std::string_view name, int version,
                                                          std::string_view manifest_text,
                                                          std::string_view used_by) override;
  runtrack::Result<bool> SetAlias(std::string_view name, std::string_view alias, int version) override;
  runtrack::Result<bool> RemoveAlias(std::string_view name, std::string_view alias, int version) override;

 private:
  std::shared_ptr<PgArtifactRepository> repository_;
  std::shared_ptr<SharedChunkPool> pool_;
};

// IOError from PostgreSQL ("postgresql: …": down, connection lost) as Busy, so the API answers
// 503 "retry later" instead of 500; every other status unchanged.
runtrack::Status ArtifactCatalogUnavailable(const runtrack::Status& status);

}  // namespace runicorn::service::pg
