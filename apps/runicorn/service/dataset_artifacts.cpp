#include "service/dataset_artifacts.h"

namespace runicorn::service {
using runtrack::Result;

Result<std::vector<runtrack::ArtifactSummary>> LocalDatasetArtifacts::ListArtifacts(
    std::optional<runtrack::ArtifactType> type) {
  RUNTRACK_ASSIGN_OR_RETURN(auto store, runtrack::ArtifactStore::Open(layout_.root()));
  return store.ListArtifacts(type);
}

Result<std::vector<runtrack::ArtifactVersionInfo>> LocalDatasetArtifacts::ListVersions(std::string_view name) {
  RUNTRACK_ASSIGN_OR_RETURN(auto store, runtrack::ArtifactStore::Open(layout_.root()));
  return store.ListVersions(name, false);
}

Result<runtrack::ArtifactVersionInfo> LocalDatasetArtifacts::GetVersion(std::string_view name, int version) {
  RUNTRACK_ASSIGN_OR_RETURN(auto store, runtrack::ArtifactStore::Open(layout_.root()));
  return store.GetVersion(name, version);
}

Result<runtrack::ArtifactHandle> LocalDatasetArtifacts::Use(std::string_view spec, std::string_view using_run_id) {
  RUNTRACK_ASSIGN_OR_RETURN(auto store, runtrack::ArtifactStore::Open(layout_.root()));
  return store.Use(spec, using_run_id);
}

Result<runtrack::ArtifactVersionInfo> LocalDatasetArtifacts::Log(const runtrack::Artifact& artifact,
                                                                 std::string_view producing_run_id) {
  RUNTRACK_ASSIGN_OR_RETURN(auto store, runtrack::ArtifactStore::Open(layout_.root()));
  RUNTRACK_ASSIGN_OR_RETURN(int version, store.Log(artifact, producing_run_id));
  return store.GetVersion(artifact.name(), version);
}

}  // namespace runicorn::service
