// PgArtifactRepository::CopyFrom: an embedded store's artifacts into PostgreSQL (the loader behind
// `runicorn migrate`). Resumable by construction: each name is one transaction, every insert is
// "unless already there", and a name's last_version only grows, so an interrupted copy leaves
// whole names behind and a re-run adds only what is missing (a version published or used in the
// source since then included).
#include <algorithm>

#include <fmt/format.h>

#include "service/pg/pg_artifact_repository.h"
#include "service/pg/pg_artifact_rows.h"

namespace runicorn::service::pg {
using runtrack::Result;
using runtrack::Status;

namespace {

Status CopyName(PgConnection& conn, const runtrack::ExportedArtifactName& src, ArtifactCopyReport* report) {
  RUNTRACK_ASSIGN_OR_RETURN(auto tx, PgTransaction::Begin(conn));
  const std::string type(runtrack::ArtifactTypeName(src.type));
  // Every claimed number of the source stays taken here, pending and purged ones included.
  const int last = src.versions.empty() ? 0 : src.versions.back().version;
  RUNTRACK_ASSIGN_OR_RETURN(
      PgResult named, conn.Exec("INSERT INTO artifact_names (name, type, last_version) VALUES ($1, $2, $3)"
                                " ON CONFLICT (name) DO UPDATE SET last_version ="
                                " greatest(artifact_names.last_version, EXCLUDED.last_version)"
                                " WHERE artifact_names.type = EXCLUDED.type RETURNING 1",
                                {src.name, type, std::to_string(last)}));
  if (named.rows() == 0)
    return Status::AlreadyExists(
        fmt::format("artifact name '{}' ({}) is stored in PostgreSQL with another type", src.name, type));
  const PgArtifactName name{src.name, src.type};
  std::vector<int> retained;
  for (const auto& v : src.versions) {
    if (v.state == "pending") {
      report->versions_pending++;
      continue;
    }
    RUNTRACK_ASSIGN_OR_RETURN(bool inserted, InsertVersion(conn, name, v));
    (inserted ? report->versions_copied : report->versions_skipped)++;
    RUNTRACK_ASSIGN_OR_RETURN(uint64_t uses, InsertUses(conn, src.name, v.version, v.used_by_runs));
    report->uses_copied += uses;
    if (v.state == "ready" || v.state == "deleted") retained.push_back(v.version);
  }
  for (const auto& [alias, version] : src.aliases) {
    // An alias on a version that holds no data cannot exist in the source's rules; skip it
    // rather than fail the name (the foreign key would refuse it).
    if (std::find(retained.begin(), retained.end(), version) == retained.end()) continue;
    RUNTRACK_ASSIGN_OR_RETURN(PgResult r, conn.Exec("INSERT INTO artifact_aliases (name, alias, version)"
                                                    " VALUES ($1, $2, $3) ON CONFLICT (name, alias) DO NOTHING",
                                                    {src.name, alias, std::to_string(version)}));
    report->aliases_copied += r.AffectedRows();
  }
  return tx.Commit();
}

}  // namespace

Result<ArtifactCopyReport> PgArtifactRepository::CopyFrom(runtrack::ArtifactStore& source) {
  RUNTRACK_ASSIGN_OR_RETURN(auto names, source.Export());
  RUNTRACK_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  ArtifactCopyReport report;
  for (const auto& n : names) {
    ArtifactCopyReport one;
    Status copied = CopyName(*conn, n, &one);
    if (!copied.ok())
      return Status(copied.code(), fmt::format("copying artifact '{}': {}", n.name, copied.message()));
    report.names++;
    report.versions_copied += one.versions_copied;
    report.versions_skipped += one.versions_skipped;
    report.versions_pending += one.versions_pending;
    report.aliases_copied += one.aliases_copied;
    report.uses_copied += one.uses_copied;
  }
  return report;
}

}  // namespace runicorn::service::pg
