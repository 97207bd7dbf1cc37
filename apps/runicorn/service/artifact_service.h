// Use cases on artifacts: listing, versions, files (streamed), lineage with run details, deletion,
// aliases, chunk collection. Every name, version, alias and file path from outside is validated
// here before the repository sees it, so nothing from a request can name a file outside the store.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "runtrack/artifacts.h"
#include "runtrack/catalog.h"
#include "service/storage.h"

namespace runicorn::service {

// A version as a request names it; `type` is an optional hint that must match the artifact.
struct VersionRef {
  std::string name;
  int version = 0;
  std::optional<runtrack::ArtifactType> type;
};

// "3" or "v3" (1..10^9); InvalidArgument "Invalid version: expected v<N> with N >= 1" otherwise.
runtrack::Result<int> ParseVersion(std::string_view text);

struct FileDownload {
  std::string filename;  // the last path component, safe inside a quoted header value
  runtrack::ArtifactFileReader reader;
};

struct LineageView {
  runtrack::LineageGraph graph;
  std::map<std::string, runtrack::RunSummary> runs;  // run nodes the catalog knows, by id
  // created_at of each artifact node's version, by node id ("name:vN"); for lineage edges'
  // created_at (Runicorn's field).
  std::map<std::string, double> version_created_at;
};

// What `gc --dry-run` reports: the collection a Gc could do now.
struct GcPreview {
  uint64_t blob_pool_bytes = 0;
  uint64_t referenced_bytes = 0;
  uint64_t unreferenced_bytes = 0;
};

class ArtifactService {
 public:
  // `runs` may be null (commands that work without the catalog); lineage then has no run details.
  ArtifactService(ArtifactRepository& artifacts, const RunCatalog* runs) : artifacts_(artifacts), runs_(runs) {}

  runtrack::Result<std::vector<runtrack::ArtifactSummary>> List(std::optional<runtrack::ArtifactType> type);
  runtrack::Result<runtrack::ArtifactStats> Stats();
  // NotFound "Artifact not found: NAME" when `type` is given and differs.
  runtrack::Result<std::vector<runtrack::ArtifactVersionInfo>> Versions(const std::string& name,
                                                                       std::optional<runtrack::ArtifactType> type,
                                                                       bool include_deleted);
  runtrack::Result<runtrack::ArtifactVersionInfo> Version(const VersionRef& ref);
  runtrack::Result<runtrack::ArtifactFileList> Files(const VersionRef& ref);
  // One file, streamed with bounded memory (ArtifactFileReader). InvalidArgument "Invalid file
  // path: ..." for a path that could leave the artifact.
  runtrack::Result<FileDownload> OpenFile(const VersionRef& ref, const std::string& path);
  runtrack::Result<LineageView> Lineage(const VersionRef& ref, int max_depth);
  runtrack::Status Delete(const VersionRef& ref, bool permanent);
  runtrack::Status Restore(const VersionRef& ref);
  runtrack::Result<std::map<std::string, int>> Aliases(const std::string& name);
  // Returns the aliases after the change.
  runtrack::Result<std::map<std::string, int>> SetAlias(const std::string& name, const std::string& alias, int version);
  runtrack::Status RemoveAlias(const std::string& name, const std::string& alias);
  // "name", "name:vN", "name:latest" or "name:<alias>", without recording lineage.
  runtrack::Result<runtrack::ArtifactHandle> Resolve(const std::string& spec);

  runtrack::Result<GcPreview> PreviewGc();
  runtrack::Result<runtrack::GcReport> Gc(std::chrono::seconds grace, const runtrack::ProgressCallback& progress);

 private:
  // Validates the name and checks the type hint against the stored version.
  runtrack::Status CheckRef(const VersionRef& ref, bool check_type);

  ArtifactRepository& artifacts_;
  const RunCatalog* runs_;
};

}  // namespace runicorn::service
