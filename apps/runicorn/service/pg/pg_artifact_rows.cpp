#include "service/pg/pg_artifact_rows.h"

#include <algorithm>
#include <charconv>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>
#include "runtrack/json_parse.h"

namespace runicorn::service::pg {
using runtrack::Result;
using runtrack::Status;

namespace {

template <typename T>
T Number(std::string_view text) {
  T v{};
  std::from_chars(text.data(), text.data() + text.size(), v);
  return v;
}

// A bigint[] parameter.
template <typename Seq, typename Get>
std::string IntArray(const Seq& items, Get get) {
  std::string out = "{";
  for (const auto& item : items) {
    if (out.size() > 1) out += ',';
    out += std::to_string(get(item));
  }
  return out + "}";
}

}  // namespace

std::string ArtifactSpec(std::string_view name, int version) { return fmt::format("{}:v{}", name, version); }

Result<PgArtifactName> LoadArtifactName(PgConnection& conn, std::string_view name) {
  RUNTRACK_RETURN_IF_ERROR(runtrack::ValidateArtifactName(name));
  RUNTRACK_ASSIGN_OR_RETURN(PgResult row,
                            conn.Exec("SELECT type FROM artifact_names WHERE name = $1", {std::string(name)}));
  if (row.rows() == 1) {
    RUNTRACK_ASSIGN_OR_RETURN(auto type, runtrack::ParseArtifactType(row.Get(0, 0)));
    return PgArtifactName{std::string(name), type};
  }
  // The embedded store's text: the first 50 names, then how many more there are.
  RUNTRACK_ASSIGN_OR_RETURN(PgResult all, conn.Exec("SELECT name, count(*) OVER () FROM artifact_names ORDER BY name LIMIT 50"));
  std::string list;
  for (int i = 0; i < all.rows(); ++i) list += fmt::format("{}{}", i ? ", " : "", all.Get(i, 0));
  if (all.rows() > 0 && Number<size_t>(all.Get(0, 1)) > 50)
    list += fmt::format(", ... ({} more)", Number<size_t>(all.Get(0, 1)) - 50);
  if (list.empty()) list = "none";
  return Status::NotFound(fmt::format("artifact '{}' not found; existing artifacts: {}", name, list));
}

Result<std::string> VersionState(PgConnection& conn, std::string_view name, int version, std::string_view lock) {
  RUNTRACK_ASSIGN_OR_RETURN(
      PgResult row, conn.Exec(fmt::format("SELECT state FROM artifact_versions WHERE name = $1 AND version = $2 {}", lock),
                              {std::string(name), std::to_string(version)}));
  return row.rows() == 1 ? std::string(row.Get(0, 0)) : std::string();
}

Result<std::string> DescribeVersions(PgConnection& conn, std::string_view name) {
  RUNTRACK_ASSIGN_OR_RETURN(
      PgResult rows, conn.Exec("SELECT version, state FROM artifact_versions WHERE name = $1 AND state IN "
                               "('ready', 'deleted') ORDER BY version",
                               {std::string(name)}));
  std::string out;
  for (int i = 0; i < rows.rows(); ++i) {
    out += fmt::format("{}v{}{}", out.empty() ? "" : ", ", rows.Get(i, 0), rows.Get(i, 1) == "deleted" ? " (deleted)" : "");
  }
  return out.empty() ? std::string("none") : out;
}

Status VersionNotFound(PgConnection& conn, std::string_view name, int version) {
  RUNTRACK_ASSIGN_OR_RETURN(std::string existing, DescribeVersions(conn, name));
  return Status::NotFound(
      fmt::format("version v{} of '{}' not found; existing versions: {}", version, name, existing));
}

Result<std::map<std::string, int>> UserAliases(PgConnection& conn, std::string_view name) {
  RUNTRACK_ASSIGN_OR_RETURN(PgResult rows, conn.Exec("SELECT alias, version FROM artifact_aliases WHERE name = $1",
                                                     {std::string(name)}));
  std::map<std::string, int> out;
  for (int i = 0; i < rows.rows(); ++i) out[std::string(rows.Get(i, 0))] = Number<int>(rows.Get(i, 1));
  return out;
}

Result<int> LatestReady(PgConnection& conn, std::string_view name) {
  RUNTRACK_ASSIGN_OR_RETURN(
      PgResult row, conn.Exec("SELECT coalesce(max(version), 0) FROM artifact_versions WHERE name = $1 AND state = 'ready'",
                              {std::string(name)}));
  return Number<int>(row.Get(0, 0));
}

std::map<int, std::vector<std::string>> AliasesByVersion(const std::map<std::string, int>& aliases, int latest) {
  std::map<int, std::vector<std::string>> out;
  for (const auto& [alias, v] : aliases) out[v].push_back(alias);
  if (latest > 0) out[latest].push_back("latest");
  for (auto& [v, list] : out) std::sort(list.begin(), list.end());
  return out;
}

const char* const kVersionInfoColumns =
    "v.version, v.state, v.created_at, v.created_by_run, v.size_bytes, v.num_files, v.num_references,"
    " v.description, v.metadata::text, to_json(v.tags)::text, v.manifest_digest";

Result<runtrack::ArtifactVersionInfo> VersionInfoFromRow(const PgResult& r, int row, const PgArtifactName& name) {
  runtrack::ArtifactVersionInfo info;
  info.name = name.name;
  info.type = name.type;
  info.version = Number<int>(r.Get(row, 0));
  info.status = r.Get(row, 1);
  info.created_at = Number<double>(r.Get(row, 2));
  info.created_by_run = r.Get(row, 3);
  info.size_bytes = Number<uint64_t>(r.Get(row, 4));
  info.num_files = Number<uint64_t>(r.Get(row, 5));
  info.num_references = Number<uint64_t>(r.Get(row, 6));
  info.description = r.Get(row, 7);
  boost::system::error_code ec;
  boost::json::value metadata = runtrack::ParseJson(r.Get(row, 8), ec);
  if (ec || !metadata.is_object())
    return Status::Corruption(fmt::format("artifact_versions.metadata of {} is not a JSON object",
                                          ArtifactSpec(name.name, info.version)));
  info.metadata = std::move(metadata.as_object());
  boost::json::value tags = runtrack::ParseJson(r.Get(row, 9), ec);
  if (ec || !tags.is_array())
    return Status::Corruption(fmt::format("artifact_versions.tags of {} is not a list", ArtifactSpec(name.name, info.version)));
  for (const auto& t : tags.as_array()) {
    if (t.is_string()) info.tags.emplace_back(t.as_string());
  }
  info.manifest_digest = r.Get(row, 10);
  return info;
}

Result<bool> InsertVersion(PgConnection& conn, const PgArtifactName& name, const runtrack::ExportedArtifactVersion& v) {
  const bool retained = v.state == "ready" || v.state == "deleted";
  if (!retained && v.state != "purged")
    return Status::InvalidArgument(fmt::format("{} has state '{}'; only ready, deleted or purged versions are stored",
                                               ArtifactSpec(name.name, v.version), v.state));
  const std::string version = std::to_string(v.version);
  PgResult inserted;
  if (!retained) {
    RUNTRACK_ASSIGN_OR_RETURN(inserted, conn.Exec("INSERT INTO artifact_versions (name, version, state) VALUES "
                                                  "($1, $2, 'purged') ON CONFLICT (name, version) DO NOTHING",
                                                  {name.name, version}));
    return inserted.AffectedRows() == 1;
  }
  const runtrack::ArtifactVersionInfo& i = v.info;
  boost::json::array refs;
  for (const auto& r : v.references) {
    boost::json::object o;
    o["uri"] = r.uri;
    o["checksum"] = r.checksum ? boost::json::value(*r.checksum) : boost::json::value(nullptr);
    o["size"] = r.size ? boost::json::value(*r.size) : boost::json::value(nullptr);
    refs.push_back(std::move(o));
  }
  RUNTRACK_ASSIGN_OR_RETURN(
      inserted,
      conn.Exec("INSERT INTO artifact_versions (name, version, state, created_at, created_by_run, size_bytes, num_files,"
                " num_references, description, metadata, tags, refs, manifest_digest, manifest)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
                " ON CONFLICT (name, version) DO NOTHING",
                {name.name, version, v.state, PgFloat(i.created_at), i.created_by_run, std::to_string(i.size_bytes),
                 std::to_string(v.files.size()), std::to_string(v.references.size()), i.description,
                 boost::json::serialize(i.metadata), PgTextArray(i.tags), boost::json::serialize(refs),
                 i.manifest_digest, v.manifest_text}));
  if (inserted.AffectedRows() == 0) return false;
  // Whole lists as array parameters: one statement per table, whatever the number of files.
  std::vector<std::string> paths, digests;
  for (const auto& f : v.files) {
    paths.push_back(f.path);
    digests.push_back(f.digest);
  }
  RUNTRACK_RETURN_IF_ERROR(
      conn.Exec("INSERT INTO artifact_files (name, version, ordinal, path, size, digest, num_chunks)"
                " SELECT $1, $2, f.ord - 1, f.path, f.size, f.digest, f.n"
                " FROM unnest($3::text[], $4::bigint[], $5::text[], $6::bigint[]) WITH ORDINALITY"
                " AS f(path, size, digest, n, ord)",
                {name.name, version, PgTextArray(paths), IntArray(v.files, [](const auto& f) { return f.size; }),
                 PgTextArray(digests), IntArray(v.files, [](const auto& f) { return f.num_chunks; })})
          .status());
  std::vector<std::string> hashes;
  for (const auto& [sha, size] : v.chunks) hashes.push_back(sha);
  RUNTRACK_RETURN_IF_ERROR(
      conn.Exec("INSERT INTO artifact_chunks (name, version, sha256, size)"
                " SELECT $1, $2, c.sha256, c.size FROM unnest($3::text[], $4::bigint[]) AS c(sha256, size)",
                {name.name, version, PgTextArray(hashes), IntArray(v.chunks, [](const auto& c) { return c.second; })})
          .status());
  return true;
}

Result<uint64_t> InsertUses(PgConnection& conn, std::string_view name, int version,
                            const std::vector<std::string>& run_ids) {
  if (run_ids.empty()) return uint64_t{0};
  for (const auto& id : run_ids) RUNTRACK_RETURN_IF_ERROR(runtrack::ValidateRunId(id));
  RUNTRACK_ASSIGN_OR_RETURN(
      PgResult r, conn.Exec("INSERT INTO artifact_uses (name, version, run_id) SELECT $1, $2, u"
                            " FROM unnest($3::text[]) AS u ON CONFLICT DO NOTHING",
                            {std::string(name), std::to_string(version), PgTextArray(run_ids)}));
  return r.AffectedRows();
}

}  // namespace runicorn::service::pg
