// ArtifactIngestService::SetVersionState: a writer's version deletes and restores
// (docs/REMOTE.md "Deleting and restoring a version").
#include <fmt/format.h>

#include "service/artifact_ingest_service.h"

namespace runicorn::service {
using runtrack::Result;
using runtrack::Status;

namespace {

// "ready" / "deleted" as the repository reports a version it has.
Result<bool> IsDeleted(ArtifactService& artifacts, const VersionRef& ref) {
  RUNTRACK_ASSIGN_OR_RETURN(auto info, artifacts.Version(ref));
  return info.status == "deleted";
}

}  // namespace

Result<VersionStateAck> ArtifactIngestService::SetVersionState(ArtifactService& artifacts, std::string_view name,
                                                               std::string_view version_text, std::string_view state) {
  RUNTRACK_ASSIGN_OR_RETURN(int version, ParseVersion(version_text));
  if (state != "ready" && state != "deleted" && state != "purged")
    return Status::InvalidArgument(
        fmt::format("Invalid state '{}': expected \"ready\", \"deleted\" or \"purged\"", state));
  const VersionRef ref{std::string(name), version, std::nullopt};
  VersionStateAck ack{version, std::string(state), false};
  // Looked up first, so a resend answers `changed: false` and an unknown version NotFound.
  RUNTRACK_ASSIGN_OR_RETURN(bool deleted, IsDeleted(artifacts, ref));
  if (state == "purged") {
    RUNTRACK_RETURN_IF_ERROR(artifacts.Delete(ref, /*permanent=*/true));
    ack.changed = true;
    return ack;
  }
  const bool want_deleted = state == "deleted";
  if (deleted == want_deleted) return ack;
  Status s = want_deleted ? artifacts.Delete(ref, /*permanent=*/false) : artifacts.Restore(ref);
  if (s.code() == runtrack::StatusCode::kFailedPrecondition) {
    // Another request (a resend racing the first) got there between the look and the change.
    auto now = IsDeleted(artifacts, ref);
    if (now.ok() && *now == want_deleted) return ack;
  }
  RUNTRACK_RETURN_IF_ERROR(s);
  ack.changed = true;
  return ack;
}

}  // namespace runicorn::service
