#include "artifacts/referenced_chunks.h"

#include "artifacts/store_reader.h"

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
