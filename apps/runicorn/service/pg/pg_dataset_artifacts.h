// Datasets of /api/v1/datasets on the team back end (`viewer --catalog … --objects …`,
// docs/SCALE-OUT.md "Datasets on the team back end"): versions in PostgreSQL, chunks in the
// bucket, so a dataset uploaded through one replica is processed through any other.
//
// A new version is numbered by PostgreSQL (ClaimVersion: the name's next number, under its row
// lock), chunked and given its manifest in a private scratch store whose lower numbers are
// reserved first (so its number is the claimed one), its chunks put in the bucket (HEAD, PUT only
// what is missing), then published (PublishVersion). Nothing is written to the replica's own
// store. A failure after the claim leaves the number pending in PostgreSQL (burnt, like a writer
// that crashed), never a listed version with missing chunks.
//
// Thread safety: any number of threads (the repository pools connections; each Log has its own
// scratch folder).
#pragma once

#include <filesystem>
#include <memory>

#include "service/artifact_ingest_service.h"
#include "service/dataset_artifacts.h"
#include "service/pg/pg_artifact_repository.h"

namespace runicorn::service::pg {

class PgDatasetArtifacts final : public DatasetArtifacts {
 public:
  // `scratch_parent`: where the per-upload scratch stores are made (and removed).
  PgDatasetArtifacts(std::shared_ptr<PgArtifactRepository> repository, std::shared_ptr<SharedChunkPool> pool,
                     std::filesystem::path scratch_parent)
      : repository_(std::move(repository)), pool_(std::move(pool)), scratch_parent_(std::move(scratch_parent)) {}

  runtrack::Result<std::vector<runtrack::ArtifactSummary>> ListArtifacts(
      std::optional<runtrack::ArtifactType> type) override;
  runtrack::Result<std::vector<runtrack::ArtifactVersionInfo>> ListVersions(std::string_view name) override;
  runtrack::Result<runtrack::ArtifactVersionInfo> GetVersion(std::string_view name, int version) override;
  // The handle reads chunks from the bucket (the repository's attached source).
  runtrack::Result<runtrack::ArtifactHandle> Use(std::string_view spec, std::string_view using_run_id) override;
  runtrack::Result<runtrack::ArtifactVersionInfo> Log(const runtrack::Artifact& artifact,
                                                      std::string_view producing_run_id) override;

 private:
  std::shared_ptr<PgArtifactRepository> repository_;
  std::shared_ptr<SharedChunkPool> pool_;
  std::filesystem::path scratch_parent_;
};

}  // namespace runicorn::service::pg
