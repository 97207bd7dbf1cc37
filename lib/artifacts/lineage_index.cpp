#include "artifacts/lineage_index.h"

#include <algorithm>
#include <system_error>

#include "util/files.h"

namespace runtrack::artifacts {
namespace {

Status Mark(const fs::path& dir, const std::string& entry) {
  RUNTRACK_RETURN_IF_ERROR(util::CreateDirectories(dir));
  return util::TouchFile(dir / entry);
}

std::vector<std::string> Entries(const fs::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
    out.push_back(it->path().filename().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

Status RecordProduced(const Layout& layout, const std::string& run_id, ArtifactType type,
                      const std::string& name, int version) {
  return Mark(layout.lineage_run_dir(run_id) / "produced", LineageKey(type, name, version));
}

Status RecordUse(const Layout& layout, const std::string& run_id, ArtifactType type, const std::string& name,
                 int version) {
  RUNTRACK_RETURN_IF_ERROR(Mark(layout.version_dir(type, name, version) / Layout::kUsesDir, run_id));
  return Mark(layout.lineage_run_dir(run_id) / "used", LineageKey(type, name, version));
}

std::vector<IndexedVersion> VersionsOfRun(const Layout& layout, const std::string& run_id, bool produced) {
  std::vector<IndexedVersion> out;
  for (const auto& key : Entries(layout.lineage_run_dir(run_id) / (produced ? "produced" : "used"))) {
    IndexedVersion v{};
    if (ParseLineageKey(key, &v.type, &v.name, &v.version)) out.push_back(std::move(v));
  }
  return out;
}

std::vector<std::string> RunsUsing(const Layout& layout, ArtifactType type, const std::string& name, int version) {
  std::vector<std::string> out;
  for (auto& run : Entries(layout.version_dir(type, name, version) / Layout::kUsesDir)) {
    if (ValidateRunId(run).ok()) out.push_back(std::move(run));
  }
  return out;
}

}  // namespace runtrack::artifacts
