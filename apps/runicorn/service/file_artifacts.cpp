#include "service/file_artifacts.h"

#include "runtrack/store.h"

namespace runicorn::service {
using runtrack::Result;
using runtrack::Status;

Result<std::unique_ptr<FileArtifactRepository>> FileArtifactRepository::Open(const std::filesystem::path& root) {
  RUNTRACK_ASSIGN_OR_RETURN(auto store, runtrack::Store::Open(root));
  RUNTRACK_ASSIGN_OR_RETURN(auto artifacts, store->artifacts());
  return std::make_unique<FileArtifactRepository>(std::move(artifacts));
}

Result<std::vector<runtrack::ArtifactSummary>> FileArtifactRepository::ListArtifacts(std::optional<runtrack::ArtifactType> type) {
  return store_->ListArtifacts(type);
}
Result<runtrack::ArtifactStats> FileArtifactRepository::Stats() { return store_->Stats(); }
Result<std::vector<runtrack::ArtifactVersionInfo>> FileArtifactRepository::ListVersions(std::string_view name,
                                                                                 bool include_deleted) {
  return store_->ListVersions(name, include_deleted);
}
Result<runtrack::ArtifactVersionInfo> FileArtifactRepository::GetVersion(std::string_view name, int version) {
  return store_->GetVersion(name, version);
}
Result<runtrack::ArtifactFileList> FileArtifactRepository::ListFiles(std::string_view name, int version) {
  return store_->ListFiles(name, version);
}
Result<runtrack::ArtifactHandle> FileArtifactRepository::Resolve(std::string_view spec) {
  RUNTRACK_ASSIGN_OR_RETURN(auto handle, store_->Use(spec, /*using_run_id=*/""));
  if (auto source = missing_chunks()) return handle.ReadingMissingChunksFrom(std::move(source));
  return handle;
}

void FileArtifactRepository::SetMissingChunkSource(std::shared_ptr<const runtrack::ChunkSource> source) {
  std::lock_guard<std::mutex> lock(source_mu_);
  missing_chunks_ = std::move(source);
}

std::shared_ptr<const runtrack::ChunkSource> FileArtifactRepository::missing_chunks() const {
  std::lock_guard<std::mutex> lock(source_mu_);
  return missing_chunks_;
}
Result<runtrack::LineageGraph> FileArtifactRepository::Lineage(std::string_view name, int version, int max_depth) {
  return store_->Lineage(name, version, max_depth);
}
Status FileArtifactRepository::Delete(std::string_view name, int version, runtrack::DeleteMode mode) {
  return store_->Delete(name, version, mode);
}
Status FileArtifactRepository::Restore(std::string_view name, int version) { return store_->Restore(name, version); }
Result<std::map<std::string, int>> FileArtifactRepository::Aliases(std::string_view name) { return store_->Aliases(name); }
Status FileArtifactRepository::SetAlias(std::string_view name, std::string_view alias, int version) {
  return store_->SetAlias(name, alias, version);
}
Status FileArtifactRepository::RemoveAlias(std::string_view name, std::string_view alias) {
  return store_->RemoveAlias(name, alias);
}
Result<runtrack::GcReport> FileArtifactRepository::Gc(std::chrono::seconds grace, const runtrack::ProgressCallback& progress) {
  return store_->Gc(grace, progress);
}

}  // namespace runicorn::service
