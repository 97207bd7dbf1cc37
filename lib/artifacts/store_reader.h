// Read-side helpers shared by the ArtifactStore methods: find which type holds a name, load and
// verify a manifest, turn a manifest into the public version record, and build NotFound messages
// that list what does exist.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "artifacts/layout.h"
#include "artifacts/manifest.h"
#include "artifacts/version_registry.h"
#include "runtrack/artifacts.h"

namespace runtrack::artifacts {

struct NameRef {
  ArtifactType type;
  std::string name;
};

// Every artifact name directory of one type (validated names only), sorted.
Result<std::vector<std::string>> ListNames(const Layout& layout, ArtifactType type);
// Validates `name` and finds the one type directory holding it. NotFound lists existing names.
Result<NameRef> ResolveName(const Layout& layout, std::string_view name);
// Reads and verifies v<N>/manifest.json (NotFound if absent, Corruption if bad).
Result<Manifest> LoadManifest(const Layout& layout, const NameRef& ref, int version);
// NotFound for a version that is missing, pending or purged; lists the existing versions.
Status VersionNotFound(const NameRef& ref, int version, const std::vector<VersionEntry>& entries);

// Aliases of each version: user aliases plus "latest", sorted by name.
std::map<int, std::vector<std::string>> AliasesByVersion(const std::map<std::string, int>& user_aliases,
                                                         int latest);
ArtifactVersionInfo MakeVersionInfo(const Manifest& m, VersionState state, std::vector<std::string> aliases);
ArtifactVersionInfo CorruptedVersionInfo(const NameRef& ref, int version);
ArtifactFileInfo MakeFileInfo(const FileRecord& f);

}  // namespace runtrack::artifacts

namespace runtrack::artifacts {

// One version that still holds data (ready or soft-deleted), for GC and stats.
struct RetainedVersion {
  NameRef ref;
  int version = 0;
  VersionState state = VersionState::kReady;
  Status load_status;  // non-ok: the manifest could not be read or verified
  Manifest manifest;
};
// Every retained version of every name of every type.
Result<std::vector<RetainedVersion>> ScanRetained(const Layout& layout);

}  // namespace runtrack::artifacts
