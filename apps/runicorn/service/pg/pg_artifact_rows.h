// Statements and row decoding shared by PgArtifactRepository's files (repository, lineage, copy):
// the name and version lookups with the embedded store's error messages, a version row into
// ArtifactVersionInfo, and the insert of a whole version (row, files, chunks, uses).
//
// Every function runs on the connection it is given, inside the caller's transaction if any.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "runtrack/artifacts.h"
#include "service/pg/pg_connection.h"

namespace runicorn::service::pg {

struct PgArtifactName {
  std::string name;
  runtrack::ArtifactType type = runtrack::ArtifactType::kCustom;
};

// "name:vN".
std::string ArtifactSpec(std::string_view name, int version);

// Validates `name` (InvalidArgument) and reads its row; NotFound lists the existing names, as
// the embedded store does.
runtrack::Result<PgArtifactName> LoadArtifactName(PgConnection& conn, std::string_view name);
// The state of one version ("pending", "ready", "deleted", "purged"; "" when never claimed).
// `lock`: a constant row-lock clause appended to the SELECT ("FOR UPDATE", "FOR SHARE" or "").
runtrack::Result<std::string> VersionState(PgConnection& conn, std::string_view name, int version,
                                           std::string_view lock);
// NotFound for a missing, pending or purged version, listing the existing ones (embedded text).
runtrack::Status VersionNotFound(PgConnection& conn, std::string_view name, int version);
// "v1, v2 (deleted)" over ready and soft-deleted versions, or "none".
runtrack::Result<std::string> DescribeVersions(PgConnection& conn, std::string_view name);

// User aliases of a name (alias -> version) and its latest ready version (0: none).
runtrack::Result<std::map<std::string, int>> UserAliases(PgConnection& conn, std::string_view name);
runtrack::Result<int> LatestReady(PgConnection& conn, std::string_view name);
// Aliases per version (user aliases plus "latest"), each list sorted.
std::map<int, std::vector<std::string>> AliasesByVersion(const std::map<std::string, int>& aliases, int latest);

// The columns VersionInfoFromRow reads, from version row alias `v`.
extern const char* const kVersionInfoColumns;
runtrack::Result<runtrack::ArtifactVersionInfo> VersionInfoFromRow(const PgResult& rows, int row,
                                                                   const PgArtifactName& name);

// Inserts one version (row, files, chunks) unless its number is already stored; returns whether
// it did. `v.state` "ready", "deleted" or "purged" (then only the number is kept).
runtrack::Result<bool> InsertVersion(PgConnection& conn, const PgArtifactName& name,
                                     const runtrack::ExportedArtifactVersion& v);
// Records that each run used the version (lineage "uses"); returns how many edges were new.
runtrack::Result<uint64_t> InsertUses(PgConnection& conn, std::string_view name, int version,
                                      const std::vector<std::string>& run_ids);

}  // namespace runicorn::service::pg
