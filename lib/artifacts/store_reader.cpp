#include "artifacts/store_reader.h"

#include <algorithm>
#include <system_error>

#include "util/files.h"
#include "artifacts/names.h"

namespace runtrack::artifacts {
namespace {
constexpr auto& kAllTypes = artifacts::kAllArtifactTypes;

std::string JoinLimited(const std::vector<std::string>& items, size_t limit) {
  std::string out;
  for (size_t i = 0; i < items.size() && i < limit; ++i) {
    if (i) out += ", ";
    out += items[i];
  }
  if (items.size() > limit) out += ", ... (" + std::to_string(items.size() - limit) + " more)";
  return out.empty() ? "none" : out;
}
}  // namespace

Result<std::vector<std::string>> ListNames(const Layout& layout, ArtifactType type) {
  std::vector<std::string> out;
  fs::path dir = layout.type_dir(type);
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) {
    if (ec == std::errc::no_such_file_or_directory) return out;
    return Status::IOError("list " + dir.string() + ": " + ec.message());
  }
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (ValidateArtifactName(name).ok() && it->is_directory(ec)) out.push_back(std::move(name));
  }
  std::sort(out.begin(), out.end());
  return out;
}

Result<NameRef> ResolveName(const Layout& layout, std::string_view name) {
  RUNTRACK_RETURN_IF_ERROR(ValidateArtifactName(name));
  std::vector<ArtifactType> found;
  std::error_code ec;
  for (ArtifactType t : kAllTypes) {
    if (fs::is_directory(layout.name_dir(t, std::string(name)), ec)) found.push_back(t);
  }
  if (found.size() == 1) return NameRef{found[0], std::string(name)};
  if (found.size() > 1) {
    // Log() refuses a second type, so only two racing first writers can get here.
    return Status::FailedPrecondition("artifact '" + std::string(name) + "' exists under more than one type");
  }
  std::vector<std::string> all;
  for (ArtifactType t : kAllTypes) {
    auto names = ListNames(layout, t);
    if (names.ok()) all.insert(all.end(), names->begin(), names->end());
  }
  std::sort(all.begin(), all.end());
  return Status::NotFound("artifact '" + std::string(name) + "' not found; existing artifacts: " +
                          JoinLimited(all, 50));
}

Result<Manifest> LoadManifest(const Layout& layout, const NameRef& ref, int version) {
  fs::path path = layout.version_dir(ref.type, ref.name, version) / Layout::kManifest;
  RUNTRACK_ASSIGN_OR_RETURN(std::string text, util::ReadFile(path));
  auto m = ParseManifest(text);
  if (!m.ok()) return Status::Corruption(ref.name + ":v" + std::to_string(version) + ": " + m.status().message());
  if (m->name != ref.name || m->version != version || m->type != ref.type) {
    return Status::Corruption(ref.name + ":v" + std::to_string(version) + ": manifest belongs to " + m->name +
                              ":v" + std::to_string(m->version));
  }
  return m;
}

Status VersionNotFound(const NameRef& ref, int version, const std::vector<VersionEntry>& entries) {
  return Status::NotFound("version v" + std::to_string(version) + " of '" + ref.name +
                          "' not found; existing versions: " + DescribeVersions(entries));
}

std::map<int, std::vector<std::string>> AliasesByVersion(const std::map<std::string, int>& user_aliases,
                                                         int latest) {
  std::map<int, std::vector<std::string>> out;
  for (const auto& [alias, v] : user_aliases) out[v].push_back(alias);
  if (latest > 0) out[latest].push_back("latest");
  for (auto& [v, list] : out) std::sort(list.begin(), list.end());
  return out;
}

ArtifactFileInfo MakeFileInfo(const FileRecord& f) {
  return ArtifactFileInfo{f.path, f.size, f.digest, f.chunks.size()};
}

ArtifactVersionInfo MakeVersionInfo(const Manifest& m, VersionState state, std::vector<std::string> aliases) {
  ArtifactVersionInfo info;
  info.name = m.name;
  info.type = m.type;
  info.version = m.version;
  info.created_at = m.created_at;
  info.created_by_run = m.created_by_run;
  info.size_bytes = m.size_bytes;
  info.num_files = m.files.size();
  info.num_references = m.references.size();
  info.status = state == VersionState::kDeleted ? "deleted" : "ready";
  info.metadata = m.metadata;
  info.description = m.description;
  info.tags = m.tags;
  info.aliases = std::move(aliases);
  info.manifest_digest = m.manifest_digest;
  return info;
}

ArtifactVersionInfo CorruptedVersionInfo(const NameRef& ref, int version) {
  ArtifactVersionInfo info;
  info.name = ref.name;
  info.type = ref.type;
  info.version = version;
  info.status = "corrupted";
  return info;
}

std::string LineageKey(ArtifactType t, const std::string& name, int version) {
  return std::string(ArtifactTypeName(t)) + ":" + name + ":v" + std::to_string(version);
}

bool ParseLineageKey(const std::string& key, ArtifactType* t, std::string* name, int* version) {
  size_t a = key.find(':');
  size_t b = key.rfind(':');
  if (a == std::string::npos || a == b) return false;
  auto type = ParseArtifactType(key.substr(0, a));
  if (!type.ok()) return false;
  std::string n = key.substr(a + 1, b - a - 1);
  if (!ValidateArtifactName(n).ok() || !ParseVersionToken(key.substr(b + 1), version)) return false;
  *t = *type;
  *name = std::move(n);
  return true;
}

}  // namespace runtrack::artifacts

namespace runtrack::artifacts {

Result<std::vector<RetainedVersion>> ScanRetained(const Layout& layout) {
  std::vector<RetainedVersion> out;
  for (ArtifactType t : kAllTypes) {
    RUNTRACK_ASSIGN_OR_RETURN(auto names, ListNames(layout, t));
    for (const auto& name : names) {
      NameRef ref{t, name};
      RUNTRACK_ASSIGN_OR_RETURN(auto entries, ScanVersions(layout.name_dir(t, name)));
      for (const auto& e : entries) {
        if (e.state != VersionState::kReady && e.state != VersionState::kDeleted) continue;
        RetainedVersion rv{ref, e.version, e.state, Status::Ok(), {}};
        auto m = LoadManifest(layout, ref, e.version);
        if (m.ok()) {
          rv.manifest = std::move(m).value();
        } else if (m.status().code() == StatusCode::kNotFound) {
          continue;  // purged between the scan and the read
        } else {
          rv.load_status = m.status();
        }
        out.push_back(std::move(rv));
      }
    }
  }
  return out;
}

}  // namespace runtrack::artifacts
