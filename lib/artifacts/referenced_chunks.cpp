#include "artifacts/referenced_chunks.h"

#include <algorithm>

#include "artifacts/store_reader.h"
#include "util/guard.h"

namespace runtrack::artifacts {

Result<std::unordered_set<std::string>> ReferencedChunks(const Layout& layout) {
  RUNTRACK_ASSIGN_OR_RETURN(auto retained, ScanRetained(layout));
  std::unordered_set<std::string> live;
  for (const auto& rv : retained) {
    if (!rv.load_status.ok()) {
      return Status::Corruption("cannot read " + rv.ref.name + ":v" + std::to_string(rv.version) + " (" +
                                rv.load_status.message() + "), so its chunks are unknown");
    }
    for (const auto& f : rv.manifest.files) {
      for (const auto& c : f.chunks) live.insert(c.sha256);
    }
  }
  return live;
}

}  // namespace runtrack::artifacts

namespace runtrack {

Result<std::vector<std::string>> ArtifactStore::ReferencedChunks() {
  return util::GuardStatus("referenced chunks", [&]() -> Result<std::vector<std::string>> {
    RUNTRACK_ASSIGN_OR_RETURN(auto live, artifacts::ReferencedChunks(artifacts::Layout(root_)));
    std::vector<std::string> out(live.begin(), live.end());
    std::sort(out.begin(), out.end());
    return out;
  });
}

}  // namespace runtrack
