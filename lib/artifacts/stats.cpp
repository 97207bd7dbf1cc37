// ArtifactStore::Stats: logical versus stored bytes, computed from the manifests (the source of
// truth) rather than from counters that a crashed writer could leave wrong.
#include <sys/stat.h>

#include <set>
#include <system_error>
#include <unordered_map>

#include "artifacts/store_reader.h"
#include "util/guard.h"

namespace runtrack {
using namespace artifacts;

Result<ArtifactStats> ArtifactStore::Stats() {
  return util::GuardStatus("stats", [&]() -> Result<ArtifactStats> {
    Layout layout(root_);
    RUNTRACK_ASSIGN_OR_RETURN(auto retained, ScanRetained(layout));
    ArtifactStats s;
    std::set<std::pair<ArtifactType, std::string>> names;
    std::unordered_map<std::string, uint64_t> chunks;  // distinct chunk -> size
    for (const auto& rv : retained) {
      if (!rv.load_status.ok()) continue;  // corrupted versions are reported by the listings
      const Manifest& m = rv.manifest;
      ArtifactTypeStats& t = s.by_type[std::string(ArtifactTypeName(rv.ref.type))];
      if (names.insert({rv.ref.type, rv.ref.name}).second) {
        s.total_artifacts++;
        t.count++;
      }
      s.total_versions++;
      t.versions++;
      if (rv.state == VersionState::kDeleted) s.deleted_versions++;
      s.total_files += m.files.size();
      s.total_size_bytes += m.size_bytes;
      t.size_bytes += m.size_bytes;
      for (const auto& f : m.files) {
        for (const auto& c : f.chunks) chunks.emplace(c.sha256, c.size);
      }
    }
    for (const auto& [hex, size] : chunks) s.stored_bytes += size;
    s.space_saved_bytes = s.total_size_bytes - s.stored_bytes;  // stored <= logical by construction
    s.dedup_ratio = s.total_size_bytes == 0
                        ? 0.0
                        : static_cast<double>(s.space_saved_bytes) / static_cast<double>(s.total_size_bytes);
    std::error_code ec;
    for (fs::recursive_directory_iterator it(layout.blobs_dir(), ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
      struct stat st {};
      if (::lstat(it->path().c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
        s.blob_pool_bytes += static_cast<uint64_t>(st.st_size);
      }
    }
    return s;
  });
}

}  // namespace runtrack
