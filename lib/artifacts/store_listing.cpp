// ArtifactStore listings: artifacts, versions of one name, version detail, files of a version.
#include "artifacts/alias_table.h"
#include "artifacts/store_reader.h"
#include "util/guard.h"
#include "artifacts/names.h"

namespace runtrack {
using namespace artifacts;

namespace {

constexpr auto& kAllTypes = artifacts::kAllArtifactTypes;

// Loads one version's public record; a manifest that fails to load yields status "corrupted".
ArtifactVersionInfo InfoOf(const Layout& layout, const NameRef& ref, const VersionEntry& e,
                           std::map<int, std::vector<std::string>>& aliases_by_version) {
  auto m = LoadManifest(layout, ref, e.version);
  if (!m.ok()) return CorruptedVersionInfo(ref, e.version);
  return MakeVersionInfo(*m, e.state, aliases_by_version[e.version]);
}

struct NameState {
  NameRef ref;
  std::vector<VersionEntry> entries;
  std::map<std::string, int> aliases;
  int latest = 0;
};

Result<NameState> LoadNameState(const Layout& layout, std::string_view name) {
  NameState st;
  RUNTRACK_ASSIGN_OR_RETURN(st.ref, ResolveName(layout, name));
  RUNTRACK_ASSIGN_OR_RETURN(st.entries, ScanVersions(layout.name_dir(st.ref.type, st.ref.name)));
  RUNTRACK_ASSIGN_OR_RETURN(st.aliases, ReadAliases(layout.aliases_dir(st.ref.type, st.ref.name)));
  st.latest = LatestReady(st.entries);
  return st;
}

}  // namespace

Result<std::vector<ArtifactSummary>> ArtifactStore::ListArtifacts(std::optional<ArtifactType> type) {
  return util::GuardStatus("list artifacts", [&]() -> Result<std::vector<ArtifactSummary>> {
    Layout layout(root_);
    std::vector<ArtifactSummary> out;
    for (ArtifactType t : kAllTypes) {
      if (type && *type != t) continue;
      RUNTRACK_ASSIGN_OR_RETURN(auto names, ListNames(layout, t));
      for (const auto& name : names) {
        NameRef ref{t, name};
        RUNTRACK_ASSIGN_OR_RETURN(auto entries, ScanVersions(layout.name_dir(t, name)));
        ArtifactSummary s;
        s.name = name;
        s.type = t;
        for (const auto& e : entries) {
          if (e.state != VersionState::kReady) continue;
          auto m = LoadManifest(layout, ref, e.version);
          if (!m.ok()) continue;  // corrupted versions show up in ListVersions only
          if (s.num_versions == 0) s.created_at = m->created_at;
          s.num_versions++;
          s.latest_version = e.version;
          s.size_bytes = m->size_bytes;
          s.updated_at = m->created_at;
        }
        if (s.num_versions == 0) continue;
        RUNTRACK_ASSIGN_OR_RETURN(auto aliases, ReadAliases(layout.aliases_dir(t, name)));
        s.aliases = std::move(aliases);
        s.aliases["latest"] = s.latest_version;
        out.push_back(std::move(s));
      }
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    return out;
  });
}

Result<std::vector<ArtifactVersionInfo>> ArtifactStore::ListVersions(std::string_view name, bool include_deleted) {
  return util::GuardStatus("list versions", [&]() -> Result<std::vector<ArtifactVersionInfo>> {
    Layout layout(root_);
    RUNTRACK_ASSIGN_OR_RETURN(NameState st, LoadNameState(layout, name));
    auto by_version = AliasesByVersion(st.aliases, st.latest);
    std::vector<ArtifactVersionInfo> out;
    for (const auto& e : st.entries) {
      if (e.state == VersionState::kReady || (include_deleted && e.state == VersionState::kDeleted)) {
        out.push_back(InfoOf(layout, st.ref, e, by_version));
      }
    }
    return out;
  });
}

Result<ArtifactVersionInfo> ArtifactStore::GetVersion(std::string_view name, int version) {
  return util::GuardStatus("get version", [&]() -> Result<ArtifactVersionInfo> {
    Layout layout(root_);
    RUNTRACK_ASSIGN_OR_RETURN(NameState st, LoadNameState(layout, name));
    auto by_version = AliasesByVersion(st.aliases, st.latest);
    for (const auto& e : st.entries) {
      if (e.version == version && (e.state == VersionState::kReady || e.state == VersionState::kDeleted)) {
        return InfoOf(layout, st.ref, e, by_version);
      }
    }
    return VersionNotFound(st.ref, version, st.entries);
  });
}

Result<ArtifactFileList> ArtifactStore::ListFiles(std::string_view name, int version) {
  return util::GuardStatus("list files", [&]() -> Result<ArtifactFileList> {
    Layout layout(root_);
    RUNTRACK_ASSIGN_OR_RETURN(NameRef ref, ResolveName(layout, name));
    VersionState state = StateOf(layout.version_dir(ref.type, ref.name, version));
    if (state != VersionState::kReady && state != VersionState::kDeleted) {
      RUNTRACK_ASSIGN_OR_RETURN(auto entries, ScanVersions(layout.name_dir(ref.type, ref.name)));
      return VersionNotFound(ref, version, entries);
    }
    RUNTRACK_ASSIGN_OR_RETURN(Manifest m, LoadManifest(layout, ref, version));
    ArtifactFileList out;
    out.artifact = ref.name + ":v" + std::to_string(version);
    for (const auto& f : m.files) out.files.push_back(MakeFileInfo(f));
    out.references = m.references;
    out.total_size = m.size_bytes;
    return out;
  });
}

}  // namespace runtrack
