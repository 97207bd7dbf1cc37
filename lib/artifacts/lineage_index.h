// Lineage edges as empty marker files, written by the process that creates the edge:
//   produces: <root>/artifacts/.lineage/runs/<run>/produced/<type>:<name>:v<N>
//             (the reverse direction is the manifest's created_by_run)
//   uses:     <root>/artifacts/.lineage/runs/<run>/used/<type>:<name>:v<N>
//             plus <version dir>/uses/<run>
// Creating a marker is idempotent and needs no lock, so any number of writers may record edges
// at once; both directions are stored so that a walk never scans every run or every version.
#pragma once

#include <string>
#include <vector>

#include "artifacts/layout.h"
#include "runtrack/status.h"

namespace runtrack::artifacts {

struct IndexedVersion {
  ArtifactType type;
  std::string name;
  int version;
};

Status RecordProduced(const Layout& layout, const std::string& run_id, ArtifactType type,
                      const std::string& name, int version);
Status RecordUse(const Layout& layout, const std::string& run_id, ArtifactType type, const std::string& name,
                 int version);

// Versions the run used / produced according to its index (unsorted, may include purged ones).
std::vector<IndexedVersion> VersionsOfRun(const Layout& layout, const std::string& run_id, bool produced);
// Runs that used one version (sorted).
std::vector<std::string> RunsUsing(const Layout& layout, ArtifactType type, const std::string& name, int version);

}  // namespace runtrack::artifacts
