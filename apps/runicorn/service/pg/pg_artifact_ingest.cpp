// Shipped artifact versions and aliases into PostgreSQL (pg_artifact_ingest.h and
// PgArtifactRepository's PublishShipped / SetShippedAlias / RemoveShippedAlias). Messages are
// those of runtrack::ArtifactReceiver (lib/remote/artifact_receiver.cpp), the embedded receiver.
#include "service/pg/pg_artifact_ingest.h"

#include <set>

#include <boost/json/parse.hpp>
#include <fmt/format.h>
#include "runtrack/json_parse.h"

#include "service/pg/pg_artifact_rows.h"

namespace runicorn::service::pg {
using runtrack::Result;
using runtrack::Status;
using runtrack::StatusCode;

Status ArtifactCatalogUnavailable(const Status& status) {
  if (status.code() != StatusCode::kIOError || status.message().rfind("postgresql:", 0) != 0) return status;
  return Status::Busy(
      fmt::format("the artifact catalog (PostgreSQL) is unavailable, retry later: {}", status.message()));
}

Result<runtrack::ExportedArtifactVersion> PgArtifactRepository::RecordOfManifest(std::string_view text) const {
  // The handle verifies the text (format, paths, chunk names, digest) before anything is read.
  RUNTRACK_ASSIGN_OR_RETURN(auto handle, chunks_.HandleFromManifest(text, {}));
  runtrack::ExportedArtifactVersion v;
  v.version = handle.info().version;
  v.state = "ready";
  v.info = handle.info();
  v.files = handle.files();
  v.references = handle.references();
  v.manifest_text = std::string(text);
  // The distinct chunks (the handle keeps its manifest's chunk lists to itself): read from the
  // same, already verified, bytes — files[].chunks[] of docs/FORMATS-artifacts.md.
  boost::system::error_code ec;
  boost::json::value doc = runtrack::ParseJson(text, ec);
  const boost::json::array* files = ec || !doc.is_object() ? nullptr : doc.as_object().if_contains("files")
                                                                           ? doc.as_object().at("files").if_array()
                                                                           : nullptr;
  if (files == nullptr) return Status::Corruption("manifest has no file list");
  for (const auto& f : *files) {
    const boost::json::object* file = f.if_object();
    const boost::json::value* chunks = file ? file->if_contains("chunks") : nullptr;
    if (chunks == nullptr || !chunks->is_array()) return Status::Corruption("manifest file without a chunk list");
    for (const auto& c : chunks->as_array()) {
      const boost::json::object* chunk = c.if_object();
      const boost::json::value* sha = chunk ? chunk->if_contains("sha256") : nullptr;
      const boost::json::value* size = chunk ? chunk->if_contains("size") : nullptr;
      if (sha == nullptr || !sha->is_string() || size == nullptr || !size->is_number())
        return Status::Corruption("manifest chunk without sha256 and size");
      v.chunks.emplace(std::string(sha->as_string()), size->to_number<uint64_t>(ec));
      if (ec) return Status::Corruption("manifest chunk size is not a byte count");
    }
  }
  return v;
}

Result<bool> PgArtifactRepository::PublishShipped(const runtrack::ExportedArtifactVersion& v,
                                                  std::string_view used_by) {
  const std::string& name = v.info.name;
  const std::string spec = ArtifactSpec(name, v.version);
  const std::string type(runtrack::ArtifactTypeName(v.info.type));
  RUNTRACK_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  RUNTRACK_ASSIGN_OR_RETURN(auto tx, PgTransaction::Begin(*conn));
  // Creates the name or locks its row (type checked): every claim on this name waits for this
  // transaction, and ClaimVersion's later numbers start above N.
  RUNTRACK_ASSIGN_OR_RETURN(
      PgResult named, conn->Exec("INSERT INTO artifact_names (name, type, last_version) VALUES ($1, $2, $3)"
                                 " ON CONFLICT (name) DO UPDATE SET last_version ="
                                 " greatest(artifact_names.last_version, EXCLUDED.last_version)"
                                 " WHERE artifact_names.type = EXCLUDED.type RETURNING 1",
                                 {name, type, std::to_string(v.version)}));
  if (named.rows() == 0) {
    RUNTRACK_ASSIGN_OR_RETURN(PgArtifactName n, LoadArtifactName(*conn, name));
    return Status::AlreadyExists(fmt::format("artifact name '{}' is already used by type {} on the server", name,
                                             runtrack::ArtifactTypeName(n.type)));
  }
  RUNTRACK_ASSIGN_OR_RETURN(
      PgResult row, conn->Exec("SELECT state, manifest FROM artifact_versions WHERE name = $1 AND version = $2",
                               {name, std::to_string(v.version)}));
  bool created = false;
  if (row.rows() == 0) {
    RUNTRACK_ASSIGN_OR_RETURN(created, InsertVersion(*conn, PgArtifactName{name, v.info.type}, v));
    if (!created) return Status::Internal(fmt::format("{}: publishing lost its row", spec));
  } else if (row.Get(0, 0) == "purged") {
    return Status::FailedPrecondition(
        fmt::format("{} was permanently deleted on the server; its number is not reused", spec));
  } else if (row.Get(0, 0) == "pending") {
    return Status::FailedPrecondition(
        fmt::format("{} is being published by a writer on the server itself (or one crashed there)", spec));
  } else if (row.Get(0, 1) != v.manifest_text) {
    return Status::FailedPrecondition(fmt::format("{} already exists on the server with a different manifest", spec));
  }
  if (!used_by.empty()) RUNTRACK_RETURN_IF_ERROR(InsertUses(*conn, name, v.version, {std::string(used_by)}).status());
  RUNTRACK_RETURN_IF_ERROR(tx.Commit());
  return created;
}

namespace {

Status CheckAliasRequest(std::string_view name, std::string_view alias, int version) {
  RUNTRACK_RETURN_IF_ERROR(runtrack::ValidateArtifactName(name));
  RUNTRACK_RETURN_IF_ERROR(runtrack::ValidateAliasName(alias));
  if (version < 1) return Status::InvalidArgument(fmt::format("Invalid artifact version {}", version));
  return Status::Ok();
}

}  // namespace

Result<bool> PgArtifactRepository::SetShippedAlias(std::string_view name, std::string_view alias, int version) {
  RUNTRACK_RETURN_IF_ERROR(CheckAliasRequest(name, alias, version));
  const std::string n(name), a(alias), spec = ArtifactSpec(name, version);
  RUNTRACK_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  RUNTRACK_ASSIGN_OR_RETURN(auto tx, PgTransaction::Begin(*conn));
  RUNTRACK_ASSIGN_OR_RETURN(PgResult named, conn->Exec("SELECT 1 FROM artifact_names WHERE name = $1", {n}));
  if (named.rows() == 0) return Status::NotFound(fmt::format("artifact '{}' is not on the server", n));
  // Share lock, as SetAlias: a permanent delete of the target waits and then drops the alias.
  RUNTRACK_ASSIGN_OR_RETURN(std::string state, VersionState(*conn, n, version, "FOR SHARE"));
  if (state.empty()) return Status::NotFound(fmt::format("{} is not on the server", spec));
  if (state == "deleted") return Status::FailedPrecondition(fmt::format("{} is deleted on the server", spec));
  if (state != "ready") return Status::FailedPrecondition(fmt::format("{} is not a ready version on the server", spec));
  // One statement: the row changes only when it pointed elsewhere, so a resend reports false.
  RUNTRACK_ASSIGN_OR_RETURN(
      PgResult moved, conn->Exec("INSERT INTO artifact_aliases (name, alias, version) VALUES ($1, $2, $3)"
                                 " ON CONFLICT (name, alias) DO UPDATE SET version = EXCLUDED.version"
                                 " WHERE artifact_aliases.version <> EXCLUDED.version",
                                 {n, a, std::to_string(version)}));
  RUNTRACK_RETURN_IF_ERROR(tx.Commit());
  return moved.AffectedRows() == 1;
}

Result<bool> PgArtifactRepository::RemoveShippedAlias(std::string_view name, std::string_view alias, int version) {
  RUNTRACK_RETURN_IF_ERROR(CheckAliasRequest(name, alias, version));
  RUNTRACK_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  // Only while it still points at the writer's last shipped value: a move made since stays.
  RUNTRACK_ASSIGN_OR_RETURN(PgResult r, conn->Exec("DELETE FROM artifact_aliases WHERE name = $1 AND alias = $2"
                                                   " AND version = $3",
                                                   {std::string(name), std::string(alias), std::to_string(version)}));
  return r.AffectedRows() == 1;
}

Result<runtrack::ManifestOutcome> PgSharedArtifacts::PutManifest(std::string_view name, int version,
                                                                 std::string_view text, std::string_view used_by) {
  RUNTRACK_RETURN_IF_ERROR(runtrack::ValidateArtifactName(name));
  if (version < 1) return Status::InvalidArgument(fmt::format("Invalid artifact version {}", version));
  if (!used_by.empty()) RUNTRACK_RETURN_IF_ERROR(runtrack::ValidateRunId(used_by));
  auto record = repository_->RecordOfManifest(text);
  if (!record.ok()) return Status::InvalidArgument("Invalid manifest: " + record.status().message());
  const runtrack::ExportedArtifactVersion& v = *record;
  if (v.info.name != name || v.version != version)
    return Status::InvalidArgument(fmt::format("manifest describes {}:v{}, but was sent as {}:v{}", v.info.name,
                                               v.version, name, version));
  if (!v.info.created_by_run.empty()) RUNTRACK_RETURN_IF_ERROR(runtrack::ValidateRunId(v.info.created_by_run));
  runtrack::ManifestOutcome out;
  out.type = v.info.type;
  // Every chunk must be in the team's pool before any replica can list the version.
  std::vector<std::string> digests;
  for (const auto& [sha, size] : v.chunks) digests.push_back(sha);
  RUNTRACK_ASSIGN_OR_RETURN(out.missing_chunks, pool_->Missing(digests));
  if (!out.missing_chunks.empty()) return out;
  auto created = repository_->PublishShipped(v, used_by);
  if (!created.ok()) return ArtifactCatalogUnavailable(created.status());
  out.created = *created;
  return out;
}

Result<bool> PgSharedArtifacts::SetAlias(std::string_view name, std::string_view alias, int version) {
  auto changed = repository_->SetShippedAlias(name, alias, version);
  if (!changed.ok()) return ArtifactCatalogUnavailable(changed.status());
  return changed;
}

Result<bool> PgSharedArtifacts::RemoveAlias(std::string_view name, std::string_view alias, int version) {
  auto removed = repository_->RemoveShippedAlias(name, alias, version);
  if (!removed.ok()) return ArtifactCatalogUnavailable(removed.status());
  return removed;
}

}  // namespace runicorn::service::pg
