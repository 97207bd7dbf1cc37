// The artifact repository of `runicorn viewer --catalog postgresql://… --objects s3://…`:
// PgArtifactRepository as the viewer serves it (docs/SCALE-OUT.md "Artifact ingest on
// PostgreSQL"). Reads are retried once per pooled connection a PostgreSQL restart dropped (as
// the run catalog's, RetryDroppedConnections), and PostgreSQL being unreachable answers Busy
// (503 "the artifact catalog (PostgreSQL) is unavailable, retry later: …") instead of IOError
// (500). Chunk bytes are not PostgreSQL's: a download's failures stay what the bucket said.
//
// Thread safety: as PgArtifactRepository (any number of threads).
#pragma once

#include <memory>

#include "service/pg/pg_artifact_repository.h"
#include "service/storage.h"

namespace runicorn::service::pg {

class PgViewerArtifacts final : public ArtifactRepository {
 public:
  explicit PgViewerArtifacts(std::shared_ptr<PgArtifactRepository> repository) : repo_(std::move(repository)) {}

  runtrack::Result<std::vector<runtrack::ArtifactSummary>> ListArtifacts(
      std::optional<runtrack::ArtifactType> type) override;
  runtrack::Result<runtrack::ArtifactStats> Stats() override;
  runtrack::Result<std::vector<runtrack::ArtifactVersionInfo>> ListVersions(std::string_view name,
                                                                           bool include_deleted) override;
  runtrack::Result<runtrack::ArtifactVersionInfo> GetVersion(std::string_view name, int version) override;
  runtrack::Result<runtrack::ArtifactFileList> ListFiles(std::string_view name, int version) override;
  runtrack::Result<runtrack::ArtifactHandle> Resolve(std::string_view spec) override;
  runtrack::Result<runtrack::LineageGraph> Lineage(std::string_view name, int version, int max_depth) override;
  runtrack::Status Delete(std::string_view name, int version, runtrack::DeleteMode mode) override;
  runtrack::Status Restore(std::string_view name, int version) override;
  runtrack::Result<std::map<std::string, int>> Aliases(std::string_view name) override;
  runtrack::Status SetAlias(std::string_view name, std::string_view alias, int version) override;
  runtrack::Status RemoveAlias(std::string_view name, std::string_view alias) override;
  runtrack::Result<runtrack::GcReport> Gc(std::chrono::seconds grace,
                                          const runtrack::ProgressCallback& progress) override;

 private:
  std::shared_ptr<PgArtifactRepository> repo_;
};

}  // namespace runicorn::service::pg
