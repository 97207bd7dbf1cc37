// Where each artifact file lives under a store root (docs/FORMATS-artifacts.md). Every component
// that comes from outside (type, name, version, alias, run id, chunk hash) has been validated
// before it reaches these functions, so none of them can leave the root.
#pragma once

#include <filesystem>
#include <string>

#include "runtrack/artifacts.h"
#include "runtrack/layout.h"

namespace runtrack::artifacts {

namespace fs = std::filesystem;

class Layout {
 public:
  explicit Layout(fs::path root) : root_(std::move(root)) {}

  const fs::path& root() const { return root_; }
  fs::path artifacts_dir() const { return StoreLayout(root_).artifacts_dir(); }
  fs::path blobs_dir() const { return StoreLayout(root_).blobs_dir(); }
  // The chunking parameters the store was created with (see store_chunking.h).
  fs::path chunking_path() const { return artifacts_dir() / "chunking.json"; }
  fs::path type_dir(ArtifactType t) const { return artifacts_dir() / std::string(ArtifactTypeName(t)); }
  fs::path name_dir(ArtifactType t, const std::string& name) const { return type_dir(t) / name; }
  fs::path version_dir(ArtifactType t, const std::string& name, int v) const {
    return name_dir(t, name) / ("v" + std::to_string(v));
  }
  fs::path aliases_dir(ArtifactType t, const std::string& name) const { return name_dir(t, name) / "aliases"; }
  fs::path lineage_run_dir(const std::string& run_id) const {
    return artifacts_dir() / ".lineage" / "runs" / run_id;
  }
  fs::path blob_path(const std::string& hex) const { return blobs_dir() / hex.substr(0, 2) / hex; }

  // File names inside a version directory.
  static constexpr const char* kManifest = "manifest.json";
  static constexpr const char* kDeletedMarker = "deleted";
  static constexpr const char* kPurgedTombstone = "purged";
  static constexpr const char* kUsesDir = "uses";

 private:
  fs::path root_;
};

// "<type>:<name>:v<N>": the entry name of the per-run lineage index (':' cannot occur in names).
std::string LineageKey(ArtifactType t, const std::string& name, int version);
bool ParseLineageKey(const std::string& key, ArtifactType* t, std::string* name, int* version);

}  // namespace runtrack::artifacts
