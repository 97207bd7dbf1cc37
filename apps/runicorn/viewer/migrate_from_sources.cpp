// Reading the team back end for `runicorn migrate --from` (migrate_from_sources.h).
// Built only with the PostgreSQL back end (RUNICORN_HAVE_PG), like the command that uses it.
#ifdef RUNICORN_HAVE_PG
#include "viewer/migrate_from_sources.h"

#include <charconv>

#include <fmt/format.h>

#include "service/pg/pg_connection.h"
#include "service/s3/object_segment_references.h"

namespace runicorn::viewer {

using runtrack::Result;
using runtrack::Status;
using service::pg::PgConnection;
using service::pg::PgResult;
using service::pg::PgTransaction;

namespace {

Result<int64_t> Int(std::string_view text, std::string_view what) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size())
    return Status::Corruption(fmt::format("PostgreSQL: {} '{}' is not an integer", what, text));
  return v;
}

uint64_t Hex(std::string_view text) {
  uint64_t v = 0;
  std::from_chars(text.data(), text.data() + text.size(), v, 16);
  return v;
}

}  // namespace

Result<bool> HasRunicornSchema(const std::string& conninfo) {
  RUNTRACK_ASSIGN_OR_RETURN(auto conn, PgConnection::Connect(conninfo));
  RUNTRACK_ASSIGN_OR_RETURN(PgResult rows, conn->Exec("SELECT to_regclass('runs') IS NOT NULL"));
  return rows.rows() == 1 && rows.Get(0, 0) == "t";
}

Result<PgArtifactSnapshot> ReadPgArtifacts(const std::string& conninfo) {
  RUNTRACK_ASSIGN_OR_RETURN(auto conn, PgConnection::Connect(conninfo));
  // One snapshot: a version row, its uses and the aliases on it are read as of one moment.
  RUNTRACK_ASSIGN_OR_RETURN(auto tx, PgTransaction::Begin(*conn, "ISOLATION LEVEL REPEATABLE READ READ ONLY"));
  PgArtifactSnapshot out;
  std::map<std::string, size_t> index;
  RUNTRACK_ASSIGN_OR_RETURN(PgResult names,
                            conn->Exec("SELECT name, type, last_version FROM artifact_names ORDER BY name"));
  for (int i = 0; i < names.rows(); ++i) {
    PgArtifactExport e;
    e.name.name = std::string(names.Get(i, 0));
    auto type = runtrack::ParseArtifactType(names.Get(i, 1));
    if (!type.ok()) return Status::Corruption(fmt::format("PostgreSQL: artifact {}: {}", e.name.name, type.status().message()));
    e.name.type = *type;
    RUNTRACK_ASSIGN_OR_RETURN(int64_t last, Int(names.Get(i, 2), "last_version"));
    e.last_version = static_cast<int>(last);
    index[e.name.name] = out.names.size();
    out.names.push_back(std::move(e));
  }
  RUNTRACK_ASSIGN_OR_RETURN(
      PgResult versions,
      conn->Exec("SELECT name, version, state, coalesce(manifest, ''), created_by_run FROM artifact_versions "
                 "ORDER BY name, version"));
  std::map<std::pair<std::string, int>, runtrack::ExportedArtifactVersion*> by_version;
  for (int i = 0; i < versions.rows(); ++i) {
    auto it = index.find(std::string(versions.Get(i, 0)));
    if (it == index.end()) continue;  // a version row without its name row cannot exist (FK)
    PgArtifactExport& e = out.names[it->second];
    runtrack::ExportedArtifactVersion v;
    RUNTRACK_ASSIGN_OR_RETURN(int64_t number, Int(versions.Get(i, 1), "version"));
    v.version = static_cast<int>(number);
    v.state = std::string(versions.Get(i, 2));
    if (v.state != "pending" && v.state != "ready" && v.state != "deleted" && v.state != "purged")
      return Status::Corruption(fmt::format("PostgreSQL: {}:v{} has unknown state '{}'", e.name.name, v.version, v.state));
    if (v.state == "ready" || v.state == "deleted") {
      v.manifest_text = std::string(versions.Get(i, 3));
      if (std::string run(versions.Get(i, 4)); !run.empty())
        out.produced[run].push_back({e.name.name, std::string(runtrack::ArtifactTypeName(e.name.type)), v.version});
    }
    e.name.versions.push_back(std::move(v));
  }
  for (auto& e : out.names)
    for (auto& v : e.name.versions) by_version[{e.name.name, v.version}] = &v;
  RUNTRACK_ASSIGN_OR_RETURN(PgResult uses,
                            conn->Exec("SELECT name, version, run_id FROM artifact_uses ORDER BY name, version, run_id"));
  for (int i = 0; i < uses.rows(); ++i) {
    RUNTRACK_ASSIGN_OR_RETURN(int64_t number, Int(uses.Get(i, 1), "version"));
    auto it = by_version.find({std::string(uses.Get(i, 0)), static_cast<int>(number)});
    if (it == by_version.end()) continue;
    const std::string run(uses.Get(i, 2));
    it->second->used_by_runs.push_back(run);
    const auto& e = out.names[index[it->first.first]];
    out.used[run].push_back({e.name.name, std::string(runtrack::ArtifactTypeName(e.name.type)), it->first.second});
  }
  RUNTRACK_ASSIGN_OR_RETURN(PgResult aliases, conn->Exec("SELECT name, alias, version FROM artifact_aliases"));
  for (int i = 0; i < aliases.rows(); ++i) {
    auto it = index.find(std::string(aliases.Get(i, 0)));
    if (it == index.end()) continue;
    RUNTRACK_ASSIGN_OR_RETURN(int64_t number, Int(aliases.Get(i, 2), "version"));
    out.names[it->second].name.aliases[std::string(aliases.Get(i, 1))] = static_cast<int>(number);
  }
  RUNTRACK_RETURN_IF_ERROR(tx.Commit());
  return out;
}

Result<std::map<std::string, std::vector<runtrack::SealedObjectRef>>> ListBucketSeries(
    service::s3::ObjectSegmentStore& bucket) {
  RUNTRACK_ASSIGN_OR_RETURN(auto objects, bucket.client().ListAll(bucket.SegmentsPrefix()));
  // name -> ref (both sizes), then per (run, series) the candidates.
  std::map<std::string, runtrack::SealedObjectRef> refs;
  for (const auto& o : objects) {
    auto name = bucket.NameOfKey(o.key);
    if (!name) continue;
    runtrack::SealedObjectRef& ref = refs[*name];
    const std::string_view rest = std::string_view(*name).substr(name->find('/') + 1);  // series-count-crc
    ref.run_id = name->substr(0, name->find('/'));
    ref.series = static_cast<uint32_t>(Hex(rest.substr(0, 8)));
    ref.point_count = Hex(rest.substr(9, 16));
    ref.footer_crc32c = static_cast<uint32_t>(Hex(rest.substr(26, 8)));
    (o.key.ends_with(".seg") ? ref.segment_size : ref.lod_size) = o.size;
  }
  std::map<std::pair<std::string, uint32_t>, std::vector<const runtrack::SealedObjectRef*>> newest;
  for (const auto& [name, ref] : refs) {
    if (ref.segment_size == 0) continue;  // a LOD object without its segment holds no points
    auto& best = newest[{ref.run_id, ref.series}];
    if (best.empty() || best.front()->point_count < ref.point_count) best = {&ref};
    else if (best.front()->point_count == ref.point_count) best.push_back(&ref);
  }
  std::optional<service::s3::BucketSegmentReferences> lists;
  std::map<std::string, std::vector<runtrack::SealedObjectRef>> out;
  for (auto& [key, candidates] : newest) {
    const runtrack::SealedObjectRef* chosen = candidates.front();
    if (candidates.size() > 1) {
      // Two sealings with the same count: the one a store lists as its own is the live one.
      if (!lists) {
        RUNTRACK_ASSIGN_OR_RETURN(auto read, service::s3::ReadSegmentReferences(bucket));
        lists = std::move(read);
      }
      std::vector<const runtrack::SealedObjectRef*> listed;
      for (const auto* c : candidates)
        if (lists->names.count(service::s3::ObjectSegmentStore::NameOf(*c))) listed.push_back(c);
      if (listed.size() != 1)
        return Status::FailedPrecondition(fmt::format(
            "run {} series {:08x}: the bucket holds {} sealings of {} points ({} and {}) and the segment reference "
            "lists do not say which is current",
            key.first, key.second, candidates.size(), chosen->point_count,
            service::s3::ObjectSegmentStore::NameOf(*candidates[0]),
            service::s3::ObjectSegmentStore::NameOf(*candidates[1])));
      chosen = listed.front();
    }
    out[key.first].push_back(*chosen);
  }
  return out;
}

}  // namespace runicorn::viewer
#endif  // RUNICORN_HAVE_PG
