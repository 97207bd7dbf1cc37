#include "service/path_service.h"

#include <algorithm>
#include <filesystem>
#include <set>
#include <system_error>

#include <fmt/format.h>

namespace runicorn::service {
namespace fs = std::filesystem;
using runtrack::Result;
using runtrack::Status;

namespace {

constexpr size_t kMaxPathChars = 200;

std::string Shown(std::string_view path) {
  std::string shown;
  for (char c : path.substr(0, 64)) shown.push_back(static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? '?' : c);
  if (path.size() > 64) shown += "...";
  return shown;
}

Result<std::vector<runtrack::RunSummary>> LiveRuns(const RunCatalog& catalog) {
  RUNTRACK_ASSIGN_OR_RETURN(runtrack::RunPage page, catalog.ListRuns(runtrack::RunQuery{}));
  return std::move(page.runs);
}

// Regular files under `dir` (not following symbolic links); a folder that vanishes mid-walk
// counts what was seen.
void AddTree(const fs::path& dir, uint64_t* bytes, uint64_t* files) {
  std::error_code ec;
  fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    std::error_code fec;
    if (!it->is_regular_file(fec) || it->is_symlink(fec)) continue;
    uint64_t size = it->file_size(fec);
    if (fec) continue;
    *bytes += size;
    ++*files;
  }
}

}  // namespace

Result<std::string> PathService::NormalizePath(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (char c : raw) {
    if (c == '\\') c = '/';
    if (c == '/' && (out.empty() || out.back() == '/')) continue;
    out.push_back(c);
  }
  if (!out.empty() && out.back() == '/') out.pop_back();
  for (unsigned char c : out)
    if (c < 0x20 || c == 0x7f)
      return Status::InvalidArgument(fmt::format("Invalid path '{}': control characters are not allowed", Shown(raw)));
  if (out.size() > kMaxPathChars)
    return Status::InvalidArgument(fmt::format("Invalid path '{}': longer than {} characters", Shown(raw), kMaxPathChars));
  for (size_t begin = 0; begin < out.size();) {
    size_t end = std::min(out.find('/', begin), out.size());
    std::string_view segment = std::string_view(out).substr(begin, end - begin);
    if (segment == "." || segment == "..")
      return Status::InvalidArgument(fmt::format("Invalid path '{}': '.' and '..' segments are not allowed", Shown(raw)));
    begin = end + 1;
  }
  return out;
}

std::string PathService::PathOf(const runtrack::RunSummary& run) {
  // The path the v0.6 SDK recorded; else Runicorn's v0.5 -> v0.6 rule: <project>/<name>/runs/<id>
  // is reported with path project/name.
  return run.path.value_or(run.project + "/" + run.name);
}

std::vector<std::string> PathService::Prefixes(const std::string& path) {
  std::vector<std::string> out;
  if (path.empty()) return out;
  for (size_t i = path.find('/'); i != std::string::npos; i = path.find('/', i + 1)) out.push_back(path.substr(0, i));
  out.push_back(path);
  return out;
}

bool PathService::Selects(const PathSelection& selection, const std::string& path) {
  if (selection.exact) return path == selection.path;
  if (selection.path.empty()) return true;
  return path == selection.path ||
         (path.size() > selection.path.size() && path.compare(0, selection.path.size(), selection.path) == 0 &&
          path[selection.path.size()] == '/');
}

Result<PathListing> PathService::List() const {
  RUNTRACK_ASSIGN_OR_RETURN(auto runs, LiveRuns(catalog_));
  PathListing out;
  std::set<std::string> paths;
  for (const auto& run : runs) {
    const std::string path = PathOf(run);
    paths.insert(path);
    for (const std::string& p : Prefixes(path)) {
      PathStats& s = out.stats[p];
      ++s.total;
      if (run.status == runtrack::RunStatus::kRunning) ++s.running;
      else if (run.status == runtrack::RunStatus::kFinished) ++s.finished;
      else ++s.failed;  // failed and interrupted: ended without finishing
    }
  }
  out.paths.assign(paths.begin(), paths.end());
  return out;
}

Result<std::vector<runtrack::RunSummary>> PathService::Runs(const PathSelection& selection) const {
  RUNTRACK_ASSIGN_OR_RETURN(auto runs, LiveRuns(catalog_));
  std::vector<runtrack::RunSummary> out;
  for (auto& run : runs)
    if (Selects(selection, PathOf(run))) out.push_back(std::move(run));
  return out;
}

Result<PathSoftDelete> PathService::SoftDelete(const PathSelection& selection) {
  if (selection.path.empty() && !selection.exact)
    return Status::InvalidArgument("path is required: soft-deleting the root would delete every run");
  RUNTRACK_ASSIGN_OR_RETURN(auto runs, Runs(selection));
  std::vector<std::string> ids;
  for (const auto& run : runs) ids.push_back(run.id);
  RUNTRACK_ASSIGN_OR_RETURN(BatchOutcome outcome, runs_.SoftDelete(ids, ids.size()));
  PathSoftDelete out;
  out.deleted = static_cast<uint64_t>(outcome.succeeded);
  for (const auto& [id, status] : outcome.results)
    if (!status.ok()) out.errors.push_back(fmt::format("{}: {}", id, status.message()));
  return out;
}

Result<std::vector<runtrack::RunDetail>> PathService::Export(const PathSelection& selection) const {
  RUNTRACK_ASSIGN_OR_RETURN(auto runs, Runs(selection));
  std::vector<runtrack::RunDetail> out;
  out.reserve(runs.size());
  for (const auto& run : runs) {
    auto detail = catalog_.GetRun(run.id);
    if (!detail.ok() && detail.status().code() == runtrack::StatusCode::kNotFound) continue;  // deleted meanwhile
    if (!detail.ok()) return detail.status();
    out.push_back(std::move(*detail));
  }
  return out;
}

Result<StorageUsage> PathService::Storage() const {
  StorageUsage out;
  out.root = layout_.root().string();
  AddTree(layout_.runs_dir(), &out.runs_bytes, &out.runs_files);
  AddTree(layout_.artifacts_dir(), &out.artifacts_bytes, &out.artifacts_files);
  AddTree(layout_.blobs_dir(), &out.blobs_bytes, &out.blobs_files);
  AddTree(layout_.catalog_dir(), &out.catalog_bytes, &out.catalog_files);
  uint64_t total_files = 0;
  AddTree(layout_.root(), &out.total_bytes, &total_files);
  RUNTRACK_ASSIGN_OR_RETURN(auto runs, LiveRuns(catalog_));
  std::set<std::string> projects, experiments;
  for (const auto& run : runs) {
    projects.insert(run.project);
    experiments.insert(run.project + '\0' + run.name);
  }
  out.projects = projects.size();
  out.experiments = experiments.size();
  out.runs = runs.size();
  return out;
}

}  // namespace runicorn::service
