// InstallArtifactChunk, ManifestChunks and ImportArtifactName (include/runtrack/store_install.h):
// artifact names copied into an embedded store in its own layout (docs/FORMATS-artifacts.md),
// the reverse of ArtifactStore::Export. The order of effects per version is the writer's: chunks
// first (the caller), lineage "produced", then the manifest — the rename that makes a version
// exist; a soft-deleted version's marker precedes its manifest, so it never shows as ready.
#include <filesystem>
#include <set>
#include <system_error>

#include <fmt/format.h>

#include "artifacts/alias_table.h"
#include "artifacts/layout.h"
#include "artifacts/lineage_index.h"
#include "artifacts/manifest.h"
#include "artifacts/sha256.h"
#include "artifacts/version_registry.h"
#include "runtrack/store_install.h"
#include "util/files.h"
#include "artifacts/names.h"

namespace runtrack {
namespace fs = std::filesystem;
using artifacts::Layout;
using artifacts::VersionState;

namespace {

constexpr auto& kAllTypes = artifacts::kAllArtifactTypes;

// The manifest of version `v` of `name`, parsed and checked to be that version.
Result<artifacts::Manifest> CheckedManifest(const ExportedArtifactName& name, const ExportedArtifactVersion& v) {
  const std::string spec = fmt::format("{}:v{}", name.name, v.version);
  auto parsed = artifacts::ParseManifest(v.manifest_text);
  if (!parsed.ok()) return Status::Corruption(spec + ": " + parsed.status().message());
  if (parsed->name != name.name || parsed->version != v.version || parsed->type != name.type)
    return Status::Corruption(fmt::format("{}: the manifest belongs to {}:v{}", spec, parsed->name, parsed->version));
  if (!parsed->created_by_run.empty()) RUNTRACK_RETURN_IF_ERROR(ValidateRunId(parsed->created_by_run));
  return parsed;
}

Status CheckChunksPresent(const Layout& layout, const std::string& spec, const artifacts::Manifest& m) {
  for (const auto& f : m.files)
    for (const auto& c : f.chunks) {
      std::error_code ec;
      const auto size = fs::file_size(layout.blob_path(c.sha256), ec);
      if (ec || size != c.size)
        return Status::FailedPrecondition(
            fmt::format("{}: chunk {} of file '{}' is not in blobs/ (install the chunks first)", spec, c.sha256, f.path));
    }
  return Status::Ok();
}

}  // namespace

Result<bool> InstallArtifactChunk(const fs::path& root, std::string_view sha256_hex, std::string_view bytes) {
  if (!artifacts::IsSha256Hex(sha256_hex))
    return Status::InvalidArgument(fmt::format("'{}' is not a chunk name (64 lower-case hex digits)", sha256_hex));
  if (artifacts::Sha256Hex(bytes) != sha256_hex)
    return Status::Corruption(fmt::format("chunk {}: its {} bytes hash to {}", sha256_hex, bytes.size(),
                                          artifacts::Sha256Hex(bytes)));
  const Layout layout(root);
  const fs::path path = layout.blob_path(std::string(sha256_hex));
  std::error_code ec;
  if (fs::file_size(path, ec) == bytes.size() && !ec) return false;  // named by content: same bytes
  RUNTRACK_RETURN_IF_ERROR(util::CreateDirectories(path.parent_path()));
  RUNTRACK_RETURN_IF_ERROR(util::WriteFileAtomic(path, bytes));
  return true;
}

bool ArtifactChunkPresent(const fs::path& root, std::string_view sha256_hex, uint64_t size) {
  if (!artifacts::IsSha256Hex(sha256_hex)) return false;
  std::error_code ec;
  return fs::file_size(Layout(root).blob_path(std::string(sha256_hex)), ec) == size && !ec;
}

Result<std::map<std::string, uint64_t>> ManifestChunks(std::string_view manifest_text) {
  RUNTRACK_ASSIGN_OR_RETURN(artifacts::Manifest m, artifacts::ParseManifest(manifest_text));
  std::map<std::string, uint64_t> out;
  for (const auto& f : m.files)
    for (const auto& c : f.chunks) out.emplace(c.sha256, c.size);
  return out;
}

Result<ArtifactImportReport> ImportArtifactName(const fs::path& root, const ExportedArtifactName& name,
                                                int last_version) {
  RUNTRACK_RETURN_IF_ERROR(ValidateArtifactName(name.name));
  const Layout layout(root);
  std::error_code ec;
  for (ArtifactType t : kAllTypes)
    if (t != name.type && fs::exists(layout.name_dir(t, name.name), ec))
      return Status::AlreadyExists(fmt::format("artifact '{}' exists in this store as a {}, not a {}", name.name,
                                               ArtifactTypeName(t), ArtifactTypeName(name.type)));
  const fs::path name_dir = layout.name_dir(name.type, name.name);
  RUNTRACK_RETURN_IF_ERROR(util::CreateDirectories(name_dir));
  RUNTRACK_ASSIGN_OR_RETURN(auto present, artifacts::ScanVersions(name_dir));
  std::map<int, VersionState> state_of;
  for (const auto& e : present) state_of[e.version] = e.state;

  ArtifactImportReport report;
  std::set<int> exported;
  for (const ExportedArtifactVersion& v : name.versions) {
    if (v.version < 1) return Status::InvalidArgument(fmt::format("{}: version {} is not >= 1", name.name, v.version));
    exported.insert(v.version);
    const std::string spec = fmt::format("{}:v{}", name.name, v.version);
    const fs::path dir = layout.version_dir(name.type, name.name, v.version);
    auto have = state_of.find(v.version);
    if (have != state_of.end() && have->second != VersionState::kPending) {
      if (artifacts::VersionStateName(have->second) != v.state)
        return Status::FailedPrecondition(fmt::format("{} is {} in this store but {} in the copy; nothing overwritten",
                                                      spec, artifacts::VersionStateName(have->second), v.state));
      ++report.versions_present;
    } else if (v.state == "pending") {
      RUNTRACK_RETURN_IF_ERROR(util::CreateDirectories(dir));
      ++report.numbers_reserved;
    } else if (v.state == "purged") {
      RUNTRACK_RETURN_IF_ERROR(util::CreateDirectories(dir));
      RUNTRACK_RETURN_IF_ERROR(util::WriteFileAtomic(dir / Layout::kPurgedTombstone, "purged_at (copied)\n"));
      ++report.versions_installed;
    } else if (v.state == "ready" || v.state == "deleted") {
      RUNTRACK_ASSIGN_OR_RETURN(artifacts::Manifest m, CheckedManifest(name, v));
      RUNTRACK_RETURN_IF_ERROR(CheckChunksPresent(layout, spec, m));
      RUNTRACK_RETURN_IF_ERROR(util::CreateDirectories(dir));
      if (!m.created_by_run.empty())
        RUNTRACK_RETURN_IF_ERROR(artifacts::RecordProduced(layout, m.created_by_run, name.type, name.name, v.version));
      if (v.state == "deleted") RUNTRACK_RETURN_IF_ERROR(util::TouchFile(dir / Layout::kDeletedMarker));
      RUNTRACK_RETURN_IF_ERROR(util::WriteFileAtomic(dir / Layout::kManifest, v.manifest_text));
      ++report.versions_installed;
    } else {
      return Status::InvalidArgument(fmt::format("{}: unknown state '{}'", spec, v.state));
    }
    for (const std::string& run : v.used_by_runs) {
      RUNTRACK_RETURN_IF_ERROR(ValidateRunId(run));
      const bool known = fs::exists(dir / Layout::kUsesDir / run, ec);
      RUNTRACK_RETURN_IF_ERROR(artifacts::RecordUse(layout, run, name.type, name.name, v.version));
      if (!known) ++report.uses_recorded;
    }
  }
  // Numbers claimed in the copy without a version row (a writer that never published): taken here
  // too. A few crashed writers burn a few numbers; a gap of more is a bad row, not a claim.
  constexpr int kMaxReservedGap = 100000;
  const int highest = exported.empty() ? 0 : *exported.rbegin();
  if (last_version - highest > kMaxReservedGap)
    return Status::InvalidArgument(fmt::format("{}: last claimed number {} is {} above the highest version {}",
                                               name.name, last_version, last_version - highest, highest));
  for (int n = 1; n <= last_version; ++n) {
    if (exported.count(n) || state_of.count(n)) continue;
    RUNTRACK_RETURN_IF_ERROR(util::CreateDirectories(layout.version_dir(name.type, name.name, n)));
    ++report.numbers_reserved;
  }
  RUNTRACK_ASSIGN_OR_RETURN(auto aliases, artifacts::ReadAliases(layout.aliases_dir(name.type, name.name)));
  for (const auto& [alias, version] : name.aliases) {
    RUNTRACK_RETURN_IF_ERROR(ValidateAliasName(alias));
    auto it = aliases.find(alias);
    if (it != aliases.end() && it->second == version) continue;
    RUNTRACK_RETURN_IF_ERROR(util::CreateDirectories(layout.aliases_dir(name.type, name.name)));
    RUNTRACK_RETURN_IF_ERROR(
        artifacts::WriteAlias(layout.aliases_dir(name.type, name.name), alias, version, /*sync=*/true));
    ++report.aliases_written;
  }
  return report;
}

}  // namespace runtrack
