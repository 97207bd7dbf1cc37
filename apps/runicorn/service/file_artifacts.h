// The artifact files of a store (runtrack::ArtifactStore) behind ArtifactRepository. Needs no
// catalog, so `gc` and `artifacts download` use it while a viewer holds the store.
#pragma once

#include <filesystem>
#include <memory>
#include <mutex>

#include "runtrack/artifacts.h"
#include "service/storage.h"

namespace runicorn::service {

class FileArtifactRepository final : public ArtifactRepository {
 public:
  explicit FileArtifactRepository(std::shared_ptr<runtrack::ArtifactStore> store) : store_(std::move(store)) {}
  // Opens the artifact store of the store at `root` without touching its catalog.
  static runtrack::Result<std::unique_ptr<FileArtifactRepository>> Open(const std::filesystem::path& root);

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

  // Where handles from Resolve() read chunks missing from blobs/ (the team's bucket, for
  // `viewer --objects`); null: blobs/ only. Any thread; handles resolved before keep theirs.
  void SetMissingChunkSource(std::shared_ptr<const runtrack::ChunkSource> source);
  // The chunks the retained versions reference (ArtifactStore::ReferencedChunks).
  runtrack::Result<std::vector<std::string>> ReferencedChunks() { return store_->ReferencedChunks(); }

 private:
  std::shared_ptr<const runtrack::ChunkSource> missing_chunks() const;

  // ArtifactStore keeps no mutable state (see artifacts.h), so concurrent use is safe.
  std::shared_ptr<runtrack::ArtifactStore> store_;
  mutable std::mutex source_mu_;  // guards the pointer missing_chunks_
  std::shared_ptr<const runtrack::ChunkSource> missing_chunks_;
};

}  // namespace runicorn::service
