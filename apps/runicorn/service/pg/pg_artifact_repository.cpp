#include "service/pg/pg_artifact_repository.h"

#include <sys/stat.h>

#include <charconv>
#include <chrono>
#include <set>
#include <system_error>

#include <boost/json/parse.hpp>
#include <fmt/format.h>

#include "runtrack/layout.h"
#include "runtrack/json_parse.h"
#include "service/pg/pg_artifact_rows.h"
#include "service/pg/pg_schema.h"

namespace runicorn::service::pg {
using runtrack::Result;
using runtrack::Status;

namespace {

constexpr const char* kSnapshot = "ISOLATION LEVEL REPEATABLE READ READ ONLY";

template <typename T>
T Number(std::string_view text) {
  T v{};
  std::from_chars(text.data(), text.data() + text.size(), v);
  return v;
}

double NowSeconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// The embedded store's "v<digits>" version token (no leading zero, at most 9 digits).
bool ParseVersionToken(std::string_view token, int* out) {
  if (token.size() < 2 || token.size() > 10 || token[0] != 'v' || token[1] == '0') return false;
  int v = 0;
  for (char c : token.substr(1)) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

// Bytes of the regular files under a store's blobs/ (ArtifactStats::blob_pool_bytes).
uint64_t BlobPoolBytes(const std::filesystem::path& root) {
  uint64_t total = 0;
  std::error_code ec;
  namespace fs = std::filesystem;
  for (fs::recursive_directory_iterator it(runtrack::StoreLayout(root).blobs_dir(), ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    struct stat st {};
    if (::lstat(it->path().c_str(), &st) == 0 && S_ISREG(st.st_mode)) total += static_cast<uint64_t>(st.st_size);
  }
  return total;
}

}  // namespace

Result<std::unique_ptr<PgArtifactRepository>> PgArtifactRepository::Open(const std::string& conninfo,
                                                                          PgArtifactOptions options) {
  if (options.chunk_root.empty()) return Status::InvalidArgument("the PostgreSQL artifact repository needs a chunk_root");
  RUNTRACK_ASSIGN_OR_RETURN(auto chunks, runtrack::ArtifactStore::Open(options.chunk_root));
  std::unique_ptr<PgArtifactRepository> repo(
      new PgArtifactRepository(conninfo, std::move(chunks), std::move(options)));
  RUNTRACK_ASSIGN_OR_RETURN(auto conn, repo->pool_.Acquire());
  RUNTRACK_RETURN_IF_ERROR(MigrateSchema(*conn).status());
  return repo;
}

Result<std::vector<runtrack::ArtifactSummary>> PgArtifactRepository::ListArtifacts(
    std::optional<runtrack::ArtifactType> type) {
  RUNTRACK_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  RUNTRACK_ASSIGN_OR_RETURN(auto tx, PgTransaction::Begin(*conn, kSnapshot));
  PgParam type_param = type ? PgParam(std::string(runtrack::ArtifactTypeName(*type))) : std::nullopt;
  // Ready versions only, as embedded: first and latest by number, size of the latest.
  RUNTRACK_ASSIGN_OR_RETURN(
      PgResult rows,
      conn->Exec("SELECT n.name, n.type, count(*), max(v.version),"
                 " (array_agg(v.size_bytes ORDER BY v.version DESC))[1],"
                 " (array_agg(v.created_at ORDER BY v.version))[1],"
                 " (array_agg(v.created_at ORDER BY v.version DESC))[1]"
                 " FROM artifact_names n JOIN artifact_versions v ON v.name = n.name AND v.state = 'ready'"
                 " WHERE $1::text IS NULL OR n.type = $1 GROUP BY n.name, n.type ORDER BY n.name",
                 {type_param}));
  RUNTRACK_ASSIGN_OR_RETURN(
      PgResult aliases,
      conn->Exec("SELECT a.name, a.alias, a.version FROM artifact_aliases a JOIN artifact_names n ON n.name = a.name"
                 " WHERE $1::text IS NULL OR n.type = $1",
                 {type_param}));
  std::map<std::string, std::map<std::string, int>> by_name;
  for (int i = 0; i < aliases.rows(); ++i)
    by_name[std::string(aliases.Get(i, 0))][std::string(aliases.Get(i, 1))] = Number<int>(aliases.Get(i, 2));
  std::vector<runtrack::ArtifactSummary> out;
  for (int i = 0; i < rows.rows(); ++i) {
    runtrack::ArtifactSummary s;
    s.name = rows.Get(i, 0);
    RUNTRACK_ASSIGN_OR_RETURN(s.type, runtrack::ParseArtifactType(rows.Get(i, 1)));
    s.num_versions = Number<int>(rows.Get(i, 2));
    s.latest_version = Number<int>(rows.Get(i, 3));
    s.size_bytes = Number<uint64_t>(rows.Get(i, 4));
    s.created_at = Number<double>(rows.Get(i, 5));
    s.updated_at = Number<double>(rows.Get(i, 6));
    s.aliases = std::move(by_name[s.name]);
    s.aliases["latest"] = s.latest_version;
    out.push_back(std::move(s));
  }
  return out;
}

Result<runtrack::ArtifactStats> PgArtifactRepository::Stats() {
  RUNTRACK_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  RUNTRACK_ASSIGN_OR_RETURN(auto tx, PgTransaction::Begin(*conn, kSnapshot));
  RUNTRACK_ASSIGN_OR_RETURN(
      PgResult rows,
      conn->Exec("SELECT n.type, count(DISTINCT n.name), count(*), count(*) FILTER (WHERE v.state = 'deleted'),"
                 " sum(v.num_files), sum(v.size_bytes)"
                 " FROM artifact_versions v JOIN artifact_names n ON n.name = v.name"
                 " WHERE v.state IN ('ready', 'deleted') GROUP BY n.type"));
  // Chunk rows exist for retained versions only (a permanent delete drops them).
  RUNTRACK_ASSIGN_OR_RETURN(
      PgResult stored, conn->Exec("SELECT coalesce(sum(size), 0) FROM"
                                  " (SELECT DISTINCT ON (sha256) size FROM artifact_chunks ORDER BY sha256) d"));
  runtrack::ArtifactStats s;
  for (int i = 0; i < rows.rows(); ++i) {
    runtrack::ArtifactTypeStats& t = s.by_type[std::string(rows.Get(i, 0))];
    t.count = Number<uint64_t>(rows.Get(i, 1));
    t.versions = Number<uint64_t>(rows.Get(i, 2));
    t.size_bytes = Number<uint64_t>(rows.Get(i, 5));
    s.total_artifacts += t.count;
    s.total_versions += t.versions;
    s.deleted_versions += Number<uint64_t>(rows.Get(i, 3));
    s.total_files += Number<uint64_t>(rows.Get(i, 4));
    s.total_size_bytes += t.size_bytes;
  }
  s.stored_bytes = Number<uint64_t>(stored.Get(0, 0));
  s.space_saved_bytes = s.total_size_bytes - s.stored_bytes;
  s.dedup_ratio = s.total_size_bytes == 0
                      ? 0.0
                      : static_cast<double>(s.space_saved_bytes) / static_cast<double>(s.total_size_bytes);
  s.blob_pool_bytes = BlobPoolBytes(options_.chunk_root);
  return s;
}

Result<std::vector<runtrack::ArtifactVersionInfo>> PgArtifactRepository::ListVersions(std::string_view name,
                                                                                    bool include_deleted) {
  RUNTRACK_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  RUNTRACK_ASSIGN_OR_RETURN(auto tx, PgTransaction::Begin(*conn, kSnapshot));
  RUNTRACK_ASSIGN_OR_RETURN(PgArtifactName n, LoadArtifactName(*conn, name));
  RUNTRACK_ASSIGN_OR_RETURN(auto aliases, UserAliases(*conn, n.name));
  RUNTRACK_ASSIGN_OR_RETURN(int latest, LatestReady(*conn, n.name));
  RUNTRACK_ASSIGN_OR_RETURN(
      PgResult rows, conn->Exec(fmt::format("SELECT {} FROM artifact_versions v WHERE v.name = $1 AND (v.state = 'ready'"
                                            " OR ($2 AND v.state = 'deleted')) ORDER BY v.version",
                                            kVersionInfoColumns),
                                {n.name, include_deleted ? "true" : "false"}));
  auto by_version = AliasesByVersion(aliases, latest);
  std::vector<runtrack::ArtifactVersionInfo> out;
  for (int i = 0; i < rows.rows(); ++i) {
    RUNTRACK_ASSIGN_OR_RETURN(auto info, VersionInfoFromRow(rows, i, n));
    info.aliases = by_version[info.version];
    out.push_back(std::move(info));
  }
  return out;
}

Result<runtrack::ArtifactVersionInfo> PgArtifactRepository::GetVersion(std::string_view name, int version) {
  RUNTRACK_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  RUNTRACK_ASSIGN_OR_RETURN(auto tx, PgTransaction::Begin(*conn, kSnapshot));
  RUNTRACK_ASSIGN_OR_RETURN(PgArtifactName n, LoadArtifactName(*conn, name));
  RUNTRACK_ASSIGN_OR_RETURN(
      PgResult rows, conn->Exec(fmt::format("SELECT {} FROM artifact_versions v WHERE v.name = $1 AND v.version = $2"
                                            " AND v.state IN ('ready', 'deleted')",
                                            kVersionInfoColumns),
                                {n.name, std::to_string(version)}));
  if (rows.rows() == 0) return VersionNotFound(*conn, n.name, version);
  RUNTRACK_ASSIGN_OR_RETURN(auto aliases, UserAliases(*conn, n.name));
  RUNTRACK_ASSIGN_OR_RETURN(int latest, LatestReady(*conn, n.name));
  RUNTRACK_ASSIGN_OR_RETURN(auto info, VersionInfoFromRow(rows, 0, n));
  info.aliases = AliasesByVersion(aliases, latest)[version];
  return info;
}

Result<runtrack::ArtifactFileList> PgArtifactRepository::ListFiles(std::string_view name, int version) {
  RUNTRACK_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  RUNTRACK_ASSIGN_OR_RETURN(auto tx, PgTransaction::Begin(*conn, kSnapshot));
  RUNTRACK_ASSIGN_OR_RETURN(PgArtifactName n, LoadArtifactName(*conn, name));
  RUNTRACK_ASSIGN_OR_RETURN(
      PgResult row, conn->Exec("SELECT size_bytes, refs::text FROM artifact_versions WHERE name = $1 AND version = $2"
                               " AND state IN ('ready', 'deleted')",
                               {n.name, std::to_string(version)}));
  if (row.rows() == 0) return VersionNotFound(*conn, n.name, version);
  RUNTRACK_ASSIGN_OR_RETURN(
      PgResult files, conn->Exec("SELECT path, size, digest, num_chunks FROM artifact_files WHERE name = $1 AND"
                                 " version = $2 ORDER BY ordinal",
                                 {n.name, std::to_string(version)}));
  runtrack::ArtifactFileList out;
  out.artifact = ArtifactSpec(n.name, version);
  out.total_size = Number<uint64_t>(row.Get(0, 0));
  for (int i = 0; i < files.rows(); ++i) {
    out.files.push_back(runtrack::ArtifactFileInfo{std::string(files.Get(i, 0)), Number<uint64_t>(files.Get(i, 1)),
                                                   std::string(files.Get(i, 2)), Number<uint64_t>(files.Get(i, 3))});
  }
  boost::system::error_code ec;
  boost::json::value refs = runtrack::ParseJson(row.Get(0, 1), ec);
  if (ec || !refs.is_array())
    return Status::Corruption(fmt::format("artifact_versions.refs of {} is not a list", out.artifact));
  for (const auto& r : refs.as_array()) {
    const boost::json::object* o = r.if_object();
    const boost::json::value* uri = o ? o->if_contains("uri") : nullptr;
    if (uri == nullptr || !uri->is_string())
      return Status::Corruption(fmt::format("artifact_versions.refs of {} holds a reference without uri", out.artifact));
    runtrack::ArtifactReferenceInfo ref;
    ref.uri = uri->as_string();
    if (const auto* c = o->if_contains("checksum"); c && c->is_string()) ref.checksum = std::string(c->as_string());
    if (const auto* z = o->if_contains("size"); z && z->is_number()) ref.size = z->to_number<uint64_t>();
    out.references.push_back(std::move(ref));
  }
  return out;
}

Result<runtrack::ArtifactHandle> PgArtifactRepository::Resolve(std::string_view spec) {
  size_t colon = spec.find(':');
  std::string_view name_part = spec.substr(0, colon);
  std::string_view selector = colon == std::string_view::npos ? "latest" : spec.substr(colon + 1);
  RUNTRACK_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  RUNTRACK_ASSIGN_OR_RETURN(auto tx, PgTransaction::Begin(*conn, kSnapshot));
  RUNTRACK_ASSIGN_OR_RETURN(PgArtifactName n, LoadArtifactName(*conn, name_part));
  RUNTRACK_ASSIGN_OR_RETURN(auto aliases, UserAliases(*conn, n.name));
  RUNTRACK_ASSIGN_OR_RETURN(int latest, LatestReady(*conn, n.name));
  // The embedded store's rules and messages (ArtifactStore::Use).
  int version = 0;
  if (selector == "latest") {
    if (latest == 0) {
      RUNTRACK_ASSIGN_OR_RETURN(std::string existing, DescribeVersions(*conn, n.name));
      return Status::NotFound(
          fmt::format("artifact '{}' has no ready version; existing versions: {}", n.name, existing));
    }
    version = latest;
  } else if (!ParseVersionToken(selector, &version)) {
    auto it = aliases.find(std::string(selector));
    if (!runtrack::ValidateAliasName(selector).ok() || it == aliases.end()) {
      std::string list = latest ? fmt::format("latest -> v{}", latest) : "";
      for (const auto& [alias, v] : aliases) list += fmt::format("{}{} -> v{}", list.empty() ? "" : ", ", alias, v);
      RUNTRACK_ASSIGN_OR_RETURN(std::string existing, DescribeVersions(*conn, n.name));
      return Status::NotFound(fmt::format("alias or version '{}' of '{}' not found; existing aliases: {}; existing "
                                          "versions: {}",
                                          selector, n.name, list.empty() ? "none" : list, existing));
    }
    version = it->second;
  }
  RUNTRACK_ASSIGN_OR_RETURN(
      PgResult row, conn->Exec("SELECT state, manifest FROM artifact_versions WHERE name = $1 AND version = $2",
                               {n.name, std::to_string(version)}));
  std::string_view state = row.rows() == 1 ? row.Get(0, 0) : std::string_view();
  if (state == "deleted")
    return Status::FailedPrecondition(fmt::format("{} is deleted; restore it before using it", ArtifactSpec(n.name, version)));
  if (state != "ready") return VersionNotFound(*conn, n.name, version);
  auto handle = chunks_.HandleFromManifest(row.Get(0, 1), AliasesByVersion(aliases, latest)[version]);
  if (!handle.ok())
    return Status(handle.status().code(), fmt::format("{}: {}", ArtifactSpec(n.name, version), handle.status().message()));
  if (handle->info().name != n.name || handle->info().version != version || handle->info().type != n.type)
    return Status::Corruption(fmt::format("{}: the stored manifest belongs to {}", ArtifactSpec(n.name, version),
                                          ArtifactSpec(handle->info().name, handle->info().version)));
  if (options_.missing_chunks) return handle->ReadingMissingChunksFrom(options_.missing_chunks);
  return handle;
}

Status PgArtifactRepository::Delete(std::string_view name, int version, runtrack::DeleteMode mode) {
  RUNTRACK_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  RUNTRACK_ASSIGN_OR_RETURN(auto tx, PgTransaction::Begin(*conn));
  RUNTRACK_ASSIGN_OR_RETURN(PgArtifactName n, LoadArtifactName(*conn, name));
  RUNTRACK_ASSIGN_OR_RETURN(std::string state, VersionState(*conn, n.name, version, "FOR UPDATE"));
  if (state != "ready" && state != "deleted") return VersionNotFound(*conn, n.name, version);
  const PgParams key = {n.name, std::to_string(version)};
  if (mode == runtrack::DeleteMode::kSoft) {
    if (state == "deleted")
      return Status::FailedPrecondition(fmt::format("{} is already deleted", ArtifactSpec(n.name, version)));
    RUNTRACK_RETURN_IF_ERROR(conn->Exec("UPDATE artifact_versions SET state = 'deleted', deleted_at = $3"
                                        " WHERE name = $1 AND version = $2",
                                        {n.name, std::to_string(version), PgFloat(NowSeconds())})
                                 .status());
    return tx.Commit();
  }
  // The number stays taken (the row stays, as a purged tombstone); what it held goes, and user
  // aliases may not dangle ("latest" is computed and moves by itself).
  RUNTRACK_RETURN_IF_ERROR(conn->Exec("DELETE FROM artifact_aliases WHERE name = $1 AND version = $2", key).status());
  RUNTRACK_RETURN_IF_ERROR(conn->Exec("DELETE FROM artifact_files WHERE name = $1 AND version = $2", key).status());
  RUNTRACK_RETURN_IF_ERROR(conn->Exec("DELETE FROM artifact_chunks WHERE name = $1 AND version = $2", key).status());
  RUNTRACK_RETURN_IF_ERROR(conn->Exec("UPDATE artifact_versions SET state = 'purged', manifest = NULL, deleted_at = $3"
                                      " WHERE name = $1 AND version = $2",
                                      {n.name, std::to_string(version), PgFloat(NowSeconds())})
                               .status());
  return tx.Commit();
}

Status PgArtifactRepository::Restore(std::string_view name, int version) {
  RUNTRACK_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  RUNTRACK_ASSIGN_OR_RETURN(auto tx, PgTransaction::Begin(*conn));
  RUNTRACK_ASSIGN_OR_RETURN(PgArtifactName n, LoadArtifactName(*conn, name));
  RUNTRACK_ASSIGN_OR_RETURN(std::string state, VersionState(*conn, n.name, version, "FOR UPDATE"));
  if (state == "ready") return Status::FailedPrecondition(fmt::format("{} is not deleted", ArtifactSpec(n.name, version)));
  if (state == "purged")
    return Status::NotFound(
        fmt::format("{} was permanently deleted and cannot be restored", ArtifactSpec(n.name, version)));
  if (state != "deleted") return VersionNotFound(*conn, n.name, version);
  RUNTRACK_RETURN_IF_ERROR(conn->Exec("UPDATE artifact_versions SET state = 'ready', deleted_at = NULL"
                                      " WHERE name = $1 AND version = $2",
                                      {n.name, std::to_string(version)})
                               .status());
  return tx.Commit();
}

Result<std::map<std::string, int>> PgArtifactRepository::Aliases(std::string_view name) {
  RUNTRACK_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  RUNTRACK_ASSIGN_OR_RETURN(auto tx, PgTransaction::Begin(*conn, kSnapshot));
  RUNTRACK_ASSIGN_OR_RETURN(PgArtifactName n, LoadArtifactName(*conn, name));
  RUNTRACK_ASSIGN_OR_RETURN(auto aliases, UserAliases(*conn, n.name));
  RUNTRACK_ASSIGN_OR_RETURN(int latest, LatestReady(*conn, n.name));
  if (latest) aliases["latest"] = latest;
  return aliases;
}

Status PgArtifactRepository::SetAlias(std::string_view name, std::string_view alias, int version) {
  RUNTRACK_RETURN_IF_ERROR(runtrack::ValidateAliasName(alias));
  RUNTRACK_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  RUNTRACK_ASSIGN_OR_RETURN(auto tx, PgTransaction::Begin(*conn));
  RUNTRACK_ASSIGN_OR_RETURN(PgArtifactName n, LoadArtifactName(*conn, name));
  // Share lock: a permanent delete of the target waits for this move (and then drops the alias),
  // and this move never aliases a version purged meanwhile.
  RUNTRACK_ASSIGN_OR_RETURN(std::string state, VersionState(*conn, n.name, version, "FOR SHARE"));
  if (state == "deleted")
    return Status::FailedPrecondition(
        fmt::format("{} is deleted; restore it before aliasing it", ArtifactSpec(n.name, version)));
  if (state != "ready") return VersionNotFound(*conn, n.name, version);
  RUNTRACK_RETURN_IF_ERROR(conn->Exec("INSERT INTO artifact_aliases (name, alias, version) VALUES ($1, $2, $3)"
                                      " ON CONFLICT (name, alias) DO UPDATE SET version = EXCLUDED.version",
                                      {n.name, std::string(alias), std::to_string(version)})
                               .status());
  return tx.Commit();
}

Status PgArtifactRepository::RemoveAlias(std::string_view name, std::string_view alias) {
  RUNTRACK_RETURN_IF_ERROR(runtrack::ValidateAliasName(alias));
  RUNTRACK_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  RUNTRACK_ASSIGN_OR_RETURN(PgArtifactName n, LoadArtifactName(*conn, name));
  RUNTRACK_ASSIGN_OR_RETURN(PgResult r, conn->Exec("DELETE FROM artifact_aliases WHERE name = $1 AND alias = $2",
                                                   {n.name, std::string(alias)}));
  if (r.AffectedRows() == 0)
    return Status::NotFound(fmt::format("alias '{}' of '{}' does not exist", alias, n.name));
  return Status::Ok();
}

Result<runtrack::GcReport> PgArtifactRepository::Gc(std::chrono::seconds, const runtrack::ProgressCallback&) {
  return Status::FailedPrecondition(
      "artifact chunks of a PostgreSQL catalog live in the object store: collect them with "
      "`runicorn gc --objects s3://...`");
}

Result<int> PgArtifactRepository::ClaimVersion(std::string_view name, runtrack::ArtifactType type) {
  RUNTRACK_RETURN_IF_ERROR(runtrack::ValidateArtifactName(name));
  const std::string type_name(runtrack::ArtifactTypeName(type));
  RUNTRACK_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  RUNTRACK_ASSIGN_OR_RETURN(auto tx, PgTransaction::Begin(*conn));
  // One statement: creates the name at 1 or bumps last_version under the row's lock, so a racing
  // claim waits for this transaction and then reads the bumped number.
  RUNTRACK_ASSIGN_OR_RETURN(
      PgResult claimed,
      conn->Exec("INSERT INTO artifact_names (name, type, last_version) VALUES ($1, $2, 1)"
                 " ON CONFLICT (name) DO UPDATE SET last_version = artifact_names.last_version + 1"
                 " WHERE artifact_names.type = EXCLUDED.type RETURNING last_version",
                 {std::string(name), type_name}));
  if (claimed.rows() == 0) {
    RUNTRACK_ASSIGN_OR_RETURN(PgArtifactName n, LoadArtifactName(*conn, name));
    return Status::AlreadyExists(fmt::format("artifact name '{}' is already used by type {}", name,
                                             runtrack::ArtifactTypeName(n.type)));
  }
  const int version = Number<int>(claimed.Get(0, 0));
  RUNTRACK_RETURN_IF_ERROR(conn->Exec("INSERT INTO artifact_versions (name, version, state, created_at)"
                                      " VALUES ($1, $2, 'pending', $3)",
                                      {std::string(name), std::to_string(version), PgFloat(NowSeconds())})
                               .status());
  RUNTRACK_RETURN_IF_ERROR(tx.Commit());
  return version;
}

Status PgArtifactRepository::PublishVersion(std::string_view name, const runtrack::ExportedArtifactVersion& v) {
  const std::string spec = ArtifactSpec(name, v.version);
  if (v.state != "ready") return Status::InvalidArgument(fmt::format("{}: only a ready version can be published", spec));
  // The manifest must be one a handle accepts, for this very version, before anyone can see it.
  RUNTRACK_ASSIGN_OR_RETURN(auto handle, chunks_.HandleFromManifest(v.manifest_text, {}));
  if (handle.info().name != name || handle.info().version != v.version || handle.info().type != v.info.type ||
      handle.info().manifest_digest != v.info.manifest_digest)
    return Status::InvalidArgument(fmt::format("{}: the manifest describes {} ({})", spec,
                                               ArtifactSpec(handle.info().name, handle.info().version),
                                               runtrack::ArtifactTypeName(handle.info().type)));
  RUNTRACK_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  RUNTRACK_ASSIGN_OR_RETURN(auto tx, PgTransaction::Begin(*conn));
  RUNTRACK_ASSIGN_OR_RETURN(PgArtifactName n, LoadArtifactName(*conn, name));
  if (n.type != v.info.type)
    return Status::AlreadyExists(fmt::format("artifact name '{}' is already used by type {}", name,
                                             runtrack::ArtifactTypeName(n.type)));
  RUNTRACK_ASSIGN_OR_RETURN(std::string state, VersionState(*conn, n.name, v.version, "FOR UPDATE"));
  if (state != "pending")
    return Status::FailedPrecondition(
        fmt::format("{} is {}; only a claimed, unpublished version can be published", spec,
                    state.empty() ? "not claimed" : state));
  RUNTRACK_RETURN_IF_ERROR(conn->Exec("DELETE FROM artifact_versions WHERE name = $1 AND version = $2",
                                      {n.name, std::to_string(v.version)})
                               .status());
  RUNTRACK_ASSIGN_OR_RETURN(bool inserted, InsertVersion(*conn, n, v));
  if (!inserted) return Status::Internal(fmt::format("{}: publishing lost its row", spec));
  return tx.Commit();
}

Result<std::vector<std::string>> PgArtifactRepository::ReferencedChunks() {
  RUNTRACK_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  RUNTRACK_ASSIGN_OR_RETURN(PgResult rows, conn->Exec("SELECT DISTINCT sha256 FROM artifact_chunks ORDER BY sha256"));
  std::vector<std::string> out;
  for (int i = 0; i < rows.rows(); ++i) out.emplace_back(rows.Get(i, 0));
  return out;
}

}  // namespace runicorn::service::pg
