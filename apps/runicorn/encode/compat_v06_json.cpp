#include "encode/compat_v06_json.h"

#include <fmt/format.h>

#include "runtrack/json_codec.h"

namespace runicorn::encode {
namespace bj = boost::json;
namespace json = runtrack::json;

namespace {

bj::object Size(uint64_t bytes) { return bj::object{{"size_bytes", bytes}, {"size_human", HumanSize(bytes)}}; }

bj::object Size(uint64_t bytes, uint64_t files) {
  bj::object o = Size(bytes);
  o["file_count"] = files;
  return o;
}

bj::object Meta(const runtrack::RunSummary& r, const std::string& path) {
  return bj::object{{"id", r.id},
                    {"project", r.project},
                    {"name", r.name},
                    {"path", path},
                    {"alias", nullptr},
                    {"created_at", json::Number(r.created_at)},
                    {"hostname", r.hostname},
                    {"pid", r.pid},
                    {"tags", json::Strings(r.tags)}};
}

}  // namespace

void AddV06RunFields(const runtrack::RunSummary& run, bj::object& item) {
  if (!item.contains("path")) item["path"] = service::PathService::PathOf(run);
  if (!item.contains("alias")) item["alias"] = nullptr;
  if (!item.contains("assets_count")) item["assets_count"] = run.artifacts_created_count + run.artifacts_used_count;
}

bj::object PathTree(const std::vector<std::string>& paths) {
  bj::object tree;
  for (const auto& path : paths) {
    bj::object* node = &tree;
    for (const std::string& prefix : service::PathService::Prefixes(path)) {
      const size_t slash = prefix.rfind('/');
      const std::string segment = slash == std::string::npos ? prefix : prefix.substr(slash + 1);
      bj::value& child = (*node)[segment];
      if (!child.is_object()) child = bj::object();
      node = &child.as_object();
    }
  }
  return tree;
}

bj::object PathListing(const service::PathListing& listing, bool include_stats) {
  bj::object out{{"paths", json::Strings(listing.paths)}, {"tree", PathTree(listing.paths)}};
  if (include_stats) {
    bj::object stats;
    for (const auto& [path, s] : listing.stats)
      stats[path] = bj::object{{"total", s.total}, {"running", s.running}, {"finished", s.finished}, {"failed", s.failed}};
    out["stats"] = std::move(stats);
  }
  return out;
}

bj::array PathRuns(const std::vector<runtrack::RunSummary>& runs, const runtrack::StoreLayout& layout) {
  bj::array out;
  out.reserve(runs.size());
  for (const auto& r : runs) {
    bj::object item = json::RunListItem(r, layout);
    AddV06RunFields(r, item);
    out.push_back(std::move(item));
  }
  return out;
}

bj::object PathSoftDeleted(const std::string& path, const service::PathSoftDelete& result) {
  return bj::object{{"path", path},
                    {"deleted_count", result.deleted},
                    {"errors", result.errors.empty() ? bj::value(nullptr) : bj::value(json::Strings(result.errors))},
                    {"message", fmt::format("Moved {} runs to recycle bin", result.deleted)}};
}

bj::object PathExport(const service::PathSelection& selection, const std::vector<runtrack::RunDetail>& runs) {
  bj::array items;
  for (const auto& d : runs) {
    const std::string path = service::PathService::PathOf(d.run);
    items.push_back(bj::object{{"run_id", d.run.id},
                               {"path", path},
                               {"alias", nullptr},
                               {"status", runtrack::RunStatusName(d.run.status)},
                               {"created_time", json::Number(d.run.created_at)},
                               {"summary", json::Sanitized(d.summary)},
                               {"meta", Meta(d.run, path)}});
  }
  return bj::object{{"path", selection.path},
                    {"exact", selection.exact},
                    {"total_runs", runs.size()},
                    {"runs", std::move(items)}};
}

std::string PathExportFileName(const std::string& path) {
  std::string name = path.empty() ? "root" : path;
  for (char& c : name)
    if (c == '/') c = '_';
  return "runicorn_export_" + name + ".zip";
}

bj::object StorageStats(const service::StorageUsage& u) {
  bj::object archive = Size(u.artifacts_bytes + u.blobs_bytes);
  archive["blobs"] = Size(u.blobs_bytes, u.blobs_files);
  archive["manifests"] = Size(u.artifacts_bytes, u.artifacts_files);
  bj::object runs = Size(u.runs_bytes);
  runs["file_count"] = u.runs_files;
  runs["projects_count"] = u.projects;
  runs["experiments_count"] = u.experiments;
  runs["runs_count"] = u.runs;
  return bj::object{{"storage_root", u.root},
                    {"total", Size(u.total_bytes)},
                    {"archive", std::move(archive)},
                    {"runs", std::move(runs)},
                    {"index", Size(u.catalog_bytes, u.catalog_files)}};
}

std::string HumanSize(uint64_t bytes) {
  static const char* kUnits[] = {"B", "KB", "MB", "GB", "TB"};
  double v = static_cast<double>(bytes);
  size_t unit = 0;
  while (v >= 1024 && unit + 1 < std::size(kUnits)) {
    v /= 1024;
    ++unit;
  }
  return fmt::format("{:.2f} {}", v, kUnits[unit]);
}

bj::object ArchiveImported(const service::ArchiveImportResult& r, const runtrack::StoreLayout& layout) {
  bj::array dirs, ids;
  for (const auto& run : r.report.imported_runs) {
    ids.emplace_back(run.run_id);
    dirs.emplace_back(layout.run_dir(run.run_id).string());
  }
  bj::array skipped;
  for (const auto& s : r.skipped_members) skipped.push_back(bj::object{{"item", s.item}, {"reason", s.reason}});
  for (const auto& s : r.report.skipped) skipped.push_back(bj::object{{"item", s.item}, {"reason", s.reason}});
  return bj::object{{"ok", true},
                    {"imported_files", r.extracted_files},
                    {"new_run_dirs", std::move(dirs)},
                    {"new_run_ids", std::move(ids)},
                    {"storage", layout.root().string()},
                    {"existing_runs", json::Strings(r.report.existing_runs)},
                    {"imported_artifact_versions", json::Strings(r.report.imported_artifact_versions)},
                    {"skipped", std::move(skipped)}};
}

}  // namespace runicorn::encode
