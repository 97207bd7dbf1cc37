#include "service/pg/pg_dataset_artifacts.h"

#include <stdlib.h>

#include <fmt/format.h>

#include "runtrack/store_install.h"
#include "runtrack/validation.h"
#include "service/pg/pg_artifact_ingest.h"
#include "service/pg/pg_artifact_mirror.h"
#include "service/pg/pg_artifact_rows.h"
#include "service/pg/pg_run_mirror.h"

namespace runicorn::service::pg {
namespace fs = std::filesystem;
using runtrack::Result;
using runtrack::Status;

Result<bool> PgArtifactRepository::RecordUse(std::string_view name, int version, std::string_view run_id) {
  RUNTRACK_RETURN_IF_ERROR(runtrack::ValidateArtifactName(name));
  RUNTRACK_RETURN_IF_ERROR(runtrack::ValidateRunId(run_id));
  RUNTRACK_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  RUNTRACK_ASSIGN_OR_RETURN(auto tx, PgTransaction::Begin(*conn));
  // Share lock: a permanent delete waits, so no edge is left on a purged version.
  RUNTRACK_ASSIGN_OR_RETURN(std::string state, VersionState(*conn, name, version, "FOR SHARE"));
  if (state != "ready" && state != "deleted")
    return Status::NotFound(fmt::format("{} is not a stored version", ArtifactSpec(name, version)));
  RUNTRACK_ASSIGN_OR_RETURN(uint64_t added, InsertUses(*conn, name, version, {std::string(run_id)}));
  RUNTRACK_RETURN_IF_ERROR(tx.Commit());
  return added == 1;
}

namespace {

// PostgreSQL unreachable answers 503 "retry later", as the artifact API does.
template <typename T>
Result<T> Served(Result<T> r) {
  if (!r.ok()) return ArtifactCatalogUnavailable(r.status());
  return r;
}

// A private folder for one upload's scratch store (name from mkdtemp); removed on destruction.
class ScratchStore {
 public:
  static Result<ScratchStore> Create(const fs::path& parent) {
    std::string pattern = (parent / "runicorn-dataset-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr)
      return Status::IOError(fmt::format("cannot create a scratch folder in {}", parent.string()));
    return ScratchStore(pattern);
  }
  ScratchStore(ScratchStore&& o) noexcept : path_(std::move(o.path_)) { o.path_.clear(); }
  ~ScratchStore() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  explicit ScratchStore(fs::path p) : path_(std::move(p)) {}
  fs::path path_;
};

}  // namespace

Result<std::vector<runtrack::ArtifactSummary>> PgDatasetArtifacts::ListArtifacts(
    std::optional<runtrack::ArtifactType> type) {
  return Served(RetryDroppedConnections([&] { return repository_->ListArtifacts(type); }));
}

Result<std::vector<runtrack::ArtifactVersionInfo>> PgDatasetArtifacts::ListVersions(std::string_view name) {
  return Served(RetryDroppedConnections([&] { return repository_->ListVersions(name, false); }));
}

Result<runtrack::ArtifactVersionInfo> PgDatasetArtifacts::GetVersion(std::string_view name, int version) {
  return Served(RetryDroppedConnections([&] { return repository_->GetVersion(name, version); }));
}

Result<runtrack::ArtifactHandle> PgDatasetArtifacts::Use(std::string_view spec, std::string_view using_run_id) {
  auto handle = Served(RetryDroppedConnections([&] { return repository_->Resolve(spec); }));
  if (!handle.ok() || using_run_id.empty()) return handle;
  auto used = Served(repository_->RecordUse(handle->info().name, handle->info().version, using_run_id));
  if (!used.ok()) return used.status();
  return handle;
}

Result<runtrack::ArtifactVersionInfo> PgDatasetArtifacts::Log(const runtrack::Artifact& artifact,
                                                              std::string_view producing_run_id) {
  const std::string& name = artifact.name();
  auto claimed = Served(repository_->ClaimVersion(name, artifact.type()));
  if (!claimed.ok()) return claimed.status();
  const int version = *claimed;
  RUNTRACK_ASSIGN_OR_RETURN(ScratchStore scratch, ScratchStore::Create(scratch_parent_));
  RUNTRACK_ASSIGN_OR_RETURN(runtrack::ArtifactStore store, runtrack::ArtifactStore::Open(scratch.path()));
  // The numbers below the claimed one are taken in the scratch store, so its Log numbers the
  // version (and its manifest, which the digest covers) exactly as PostgreSQL claimed it.
  if (version > 1)
    RUNTRACK_RETURN_IF_ERROR(
        runtrack::ImportArtifactName(scratch.path(), runtrack::ExportedArtifactName{name, artifact.type(), {}, {}},
                                     version - 1)
            .status());
  RUNTRACK_ASSIGN_OR_RETURN(int logged, store.Log(artifact, producing_run_id));
  if (logged != version)
    return Status::Internal(fmt::format("{}: the scratch store numbered it v{}", ArtifactSpec(name, version), logged));
  RUNTRACK_ASSIGN_OR_RETURN(std::vector<runtrack::ExportedArtifactName> names, store.Export());
  const runtrack::ExportedArtifactVersion* record = nullptr;
  for (const auto& n : names)
    if (n.name == name)
      for (const auto& v : n.versions)
        if (v.version == version && v.state == "ready") record = &v;
  if (record == nullptr) return Status::Internal(fmt::format("{}: not found in its scratch store", ArtifactSpec(name, version)));
  // Every chunk in the bucket before any replica can list the version.
  PgArtifactMirrorReport pushed;
  bool complete = false;
  RUNTRACK_RETURN_IF_ERROR(PushVersionChunks(scratch.path(), *pool_, *record, &pushed, &complete));
  if (!complete) return Status::IOError(pushed.problems.empty() ? "chunks not stored" : pushed.problems.front());
  if (Status s = ArtifactCatalogUnavailable(repository_->PublishVersion(name, *record)); !s.ok()) return s;
  return GetVersion(name, version);
}

}  // namespace runicorn::service::pg
