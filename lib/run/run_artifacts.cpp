// Run::LogArtifact / Run::UseArtifact: the artifact store does the work; the run's journal gets
// the lineage record so the catalog can count and list a run's artifacts.
#include "run/run_impl.h"
#include "runtrack/artifacts.h"

namespace runtrack {

Result<int> Run::LogArtifact(const Artifact& artifact) {
  RUNTRACK_ASSIGN_OR_RETURN(std::shared_ptr<ArtifactStore> store, impl_->artifacts->Get());
  RUNTRACK_ASSIGN_OR_RETURN(int version, store->Log(artifact, id()));
  RUNTRACK_RETURN_IF_ERROR(RecordArtifact("produced", artifact.name(), ArtifactTypeName(artifact.type()), version));
  return version;
}

Result<ArtifactHandle> Run::UseArtifact(std::string_view spec) {
  RUNTRACK_ASSIGN_OR_RETURN(std::shared_ptr<ArtifactStore> store, impl_->artifacts->Get());
  RUNTRACK_ASSIGN_OR_RETURN(ArtifactHandle handle, store->Use(spec, id()));
  const ArtifactVersionInfo& info = handle.info();
  RUNTRACK_RETURN_IF_ERROR(RecordArtifact("used", info.name, ArtifactTypeName(info.type), info.version));
  return handle;
}

}  // namespace runtrack
