#include "service/pg/pg_viewer_artifacts.h"

#include <type_traits>

#include "service/pg/pg_artifact_ingest.h"
#include "service/pg/pg_run_mirror.h"

namespace runicorn::service::pg {
using runtrack::Result;
using runtrack::Status;

namespace {

// Reads, and changes that are one idempotent statement or transaction, may be retried on a
// dropped connection; their failure to reach PostgreSQL is Busy.
template <typename Call>
auto Served(const Call& call) {
  auto result = RetryDroppedConnections(call);
  if constexpr (std::is_same_v<decltype(result), Status>) {
    return ArtifactCatalogUnavailable(result);
  } else {
    if (!result.ok()) return decltype(result)(ArtifactCatalogUnavailable(result.status()));
    return result;
  }
}

}  // namespace

Result<std::vector<runtrack::ArtifactSummary>> PgViewerArtifacts::ListArtifacts(
    std::optional<runtrack::ArtifactType> type) {
  return Served([&] { return repo_->ListArtifacts(type); });
}
Result<runtrack::ArtifactStats> PgViewerArtifacts::Stats() {
  return Served([&] { return repo_->Stats(); });
}
Result<std::vector<runtrack::ArtifactVersionInfo>> PgViewerArtifacts::ListVersions(std::string_view name,
                                                                                 bool include_deleted) {
  return Served([&] { return repo_->ListVersions(name, include_deleted); });
}
Result<runtrack::ArtifactVersionInfo> PgViewerArtifacts::GetVersion(std::string_view name, int version) {
  return Served([&] { return repo_->GetVersion(name, version); });
}
Result<runtrack::ArtifactFileList> PgViewerArtifacts::ListFiles(std::string_view name, int version) {
  return Served([&] { return repo_->ListFiles(name, version); });
}
Result<runtrack::ArtifactHandle> PgViewerArtifacts::Resolve(std::string_view spec) {
  return Served([&] { return repo_->Resolve(spec); });
}
Result<runtrack::LineageGraph> PgViewerArtifacts::Lineage(std::string_view name, int version, int max_depth) {
  return Served([&] { return repo_->Lineage(name, version, max_depth); });
}
// Not retried: a soft delete that reached PostgreSQL before the connection dropped would answer
// "already deleted" on the retry.
Status PgViewerArtifacts::Delete(std::string_view name, int version, runtrack::DeleteMode mode) {
  return ArtifactCatalogUnavailable(repo_->Delete(name, version, mode));
}
Status PgViewerArtifacts::Restore(std::string_view name, int version) {
  return ArtifactCatalogUnavailable(repo_->Restore(name, version));
}
Result<std::map<std::string, int>> PgViewerArtifacts::Aliases(std::string_view name) {
  return Served([&] { return repo_->Aliases(name); });
}
Status PgViewerArtifacts::SetAlias(std::string_view name, std::string_view alias, int version) {
  return Served([&] { return repo_->SetAlias(name, alias, version); });
}
Status PgViewerArtifacts::RemoveAlias(std::string_view name, std::string_view alias) {
  return ArtifactCatalogUnavailable(repo_->RemoveAlias(name, alias));
}
Result<runtrack::GcReport> PgViewerArtifacts::Gc(std::chrono::seconds grace, const runtrack::ProgressCallback& progress) {
  return repo_->Gc(grace, progress);
}

}  // namespace runicorn::service::pg
