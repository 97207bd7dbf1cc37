#include "artifacts/version_registry.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <system_error>

#include "util/files.h"
#include "artifacts/names.h"

namespace runtrack::artifacts {
namespace {
bool Exists(const fs::path& p) { return ::access(p.c_str(), F_OK) == 0; }
}  // namespace

VersionState StateOf(const fs::path& dir) {
  if (Exists(dir / Layout::kPurgedTombstone)) return VersionState::kPurged;
  if (!Exists(dir / Layout::kManifest)) return VersionState::kPending;
  if (Exists(dir / Layout::kDeletedMarker)) return VersionState::kDeleted;
  return VersionState::kReady;
}

Result<std::vector<VersionEntry>> ScanVersions(const fs::path& name_dir) {
  std::vector<VersionEntry> out;
  std::error_code ec;
  fs::directory_iterator it(name_dir, ec);
  if (ec) {
    if (ec == std::errc::no_such_file_or_directory) return out;
    return Status::IOError("list " + name_dir.string() + ": " + ec.message());
  }
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    int v = 0;
    if (!ParseVersionToken(it->path().filename().string(), &v)) continue;
    out.push_back({v, StateOf(it->path())});
  }
  if (ec) return Status::IOError("list " + name_dir.string() + ": " + ec.message());
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.version < b.version; });
  return out;
}

Result<int> ClaimVersion(const fs::path& name_dir) {
  RUNTRACK_RETURN_IF_ERROR(util::CreateDirectories(name_dir));
  RUNTRACK_ASSIGN_OR_RETURN(auto entries, ScanVersions(name_dir));
  int next = entries.empty() ? 1 : entries.back().version + 1;
  for (;; ++next) {
    fs::path dir = name_dir / ("v" + std::to_string(next));
    if (::mkdir(dir.c_str(), 0755) == 0) return next;
    if (errno != EEXIST) return util::ErrnoStatus("mkdir", dir, errno);
    // Another writer won this number; the next one up may be free.
  }
}

int LatestReady(const std::vector<VersionEntry>& entries) {
  for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
    if (it->state == VersionState::kReady) return it->version;
  }
  return 0;
}

std::string DescribeVersions(const std::vector<VersionEntry>& entries) {
  std::string out;
  for (const auto& e : entries) {
    if (e.state != VersionState::kReady && e.state != VersionState::kDeleted) continue;
    if (!out.empty()) out += ", ";
    out += "v" + std::to_string(e.version);
    if (e.state == VersionState::kDeleted) out += " (deleted)";
  }
  return out.empty() ? "none" : out;
}

const char* VersionStateName(VersionState s) {
  switch (s) {
    case VersionState::kPending: return "pending";
    case VersionState::kReady: return "ready";
    case VersionState::kDeleted: return "deleted";
    case VersionState::kPurged: return "purged";
  }
  return "pending";
}

}  // namespace runtrack::artifacts
