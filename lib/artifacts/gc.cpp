// ArtifactStore::Gc: removes chunks no retained manifest references.
//
// First, what killed or failed Log() calls left behind is reclaimed at once, whatever its age
// (abandoned_writers.h: liveness from the writers' claim-file locks). Then the sweep: safe against
// concurrent writers without a lock because of the order of operations: the live set is read
// first, then blobs/ is scanned; chunks and temporaries a live writer has claimed are never
// removed, and other unreferenced ones only once their mtime is older than the grace period. A
// writer's new chunks are fresh; chunks it reuses are touched by ChunkStore::Stage before its
// manifest is published; so a chunk a manifest published after the live-set read refers to is
// never old enough to go. (The grace period still matters for chunks of writers from before claim
// files existed, and for writers that start during the sweep.)
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>
#include <unordered_set>
#include <vector>

#include "util/files.h"
#include "artifacts/abandoned_writers.h"
#include "artifacts/referenced_chunks.h"
#include "artifacts/sha256.h"
#include "artifacts/store_reader.h"
#include "util/guard.h"
#include "artifacts/names.h"

namespace runtrack {
using namespace artifacts;

namespace {

bool IsFanoutDir(const std::string& s) {
  return s.size() == 2 && IsSha256Hex(s + std::string(62, '0'));
}

double MtimeSeconds(const struct stat& st) {
  return static_cast<double>(st.st_mtim.tv_sec) + static_cast<double>(st.st_mtim.tv_nsec) * 1e-9;
}

constexpr auto& kAllTypes = artifacts::kAllArtifactTypes;

// A permanent delete that crashed between writing its tombstone and removing the manifest.
void FinishPurges(const Layout& layout) {
  for (ArtifactType t : kAllTypes) {
    auto names = ListNames(layout, t);
    if (!names.ok()) continue;
    for (const auto& name : *names) {
      auto entries = ScanVersions(layout.name_dir(t, name));
      if (!entries.ok()) continue;
      for (const auto& e : *entries) {
        if (e.state != VersionState::kPurged) continue;
        fs::path manifest = layout.version_dir(t, name, e.version) / Layout::kManifest;
        ::unlink(manifest.c_str());
      }
    }
  }
}

}  // namespace

Result<GcReport> ArtifactStore::Gc(std::chrono::seconds grace_period, const ProgressCallback& progress) {
  return util::GuardStatus("gc", [&]() -> Result<GcReport> {
    if (grace_period.count() < 0) return Status::InvalidArgument("grace period must not be negative");
    Layout layout(root_);
    FinishPurges(layout);
    auto referenced = artifacts::ReferencedChunks(layout);
    if (!referenced.ok()) return Status::Corruption("gc refused: " + referenced.status().message());
    const std::unordered_set<std::string>& live = *referenced;
    std::unordered_set<std::string> claimed;  // by live writers
    RUNTRACK_ASSIGN_OR_RETURN(ReclaimReport reclaimed, ReclaimAbandonedWriters(layout, &claimed));
    const double cutoff = util::NowSeconds() - static_cast<double>(grace_period.count());
    GcReport report;
    report.chunks_removed = reclaimed.chunks_removed;
    report.bytes_freed = reclaimed.bytes_freed;
    std::error_code ec;
    std::vector<fs::path> fanout_dirs;
    for (fs::directory_iterator d(layout.blobs_dir(), ec); !ec && d != fs::directory_iterator(); d.increment(ec)) {
      if (IsFanoutDir(d->path().filename().string())) fanout_dirs.push_back(d->path());
    }
    if (ec && ec != std::errc::no_such_file_or_directory) {
      return Status::IOError("list " + layout.blobs_dir().string() + ": " + ec.message());
    }
    if (progress) progress(0, fanout_dirs.size());
    for (size_t i = 0; i < fanout_dirs.size(); ++i) {
      const fs::path& dir = fanout_dirs[i];
      std::error_code ec2;
      for (fs::directory_iterator it(dir, ec2); !ec2 && it != fs::directory_iterator(); it.increment(ec2)) {
        const fs::path& p = it->path();
        std::string file = p.filename().string();
        struct stat st {};
        if (::lstat(p.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
        const bool is_tmp = file.rfind(".tmp-", 0) == 0;
        if (!is_tmp && !IsSha256Hex(file)) continue;  // not ours: leave it alone
        if (!is_tmp && live.count(file) != 0) {
          report.chunks_kept++;
          continue;
        }
        // ".tmp-<hex>-..." or "<hex>" claimed by a live writer: about to be referenced.
        if (claimed.count(is_tmp ? file.substr(5, 64) : file) != 0) {
          if (!is_tmp) report.chunks_in_grace++;
          continue;
        }
        if (MtimeSeconds(st) >= cutoff) {
          if (!is_tmp) report.chunks_in_grace++;
          continue;
        }
        if (::unlink(p.c_str()) != 0) {
          if (errno == ENOENT) continue;  // another GC got there first
          return util::ErrnoStatus("unlink", p, errno);
        }
        report.bytes_freed += static_cast<uint64_t>(st.st_size);
        if (!is_tmp) report.chunks_removed++;
      }
      if (ec2) return Status::IOError("list " + dir.string() + ": " + ec2.message());
      if (progress) progress(i + 1, fanout_dirs.size());
    }
    return report;
  });
}

}  // namespace runtrack
