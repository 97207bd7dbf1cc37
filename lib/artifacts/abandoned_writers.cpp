#include "artifacts/abandoned_writers.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>
#include <vector>

#include "artifacts/referenced_chunks.h"
#include "artifacts/sha256.h"
#include "artifacts/writer_claim.h"
#include "util/files.h"

namespace runtrack::artifacts {
namespace {

// An flock taken without creating the file (util::FileLock creates it): a claim file that
// vanished belongs to a writer that retired.
class ProbeLock {
 public:
  ProbeLock() = default;
  ProbeLock(ProbeLock&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  ProbeLock& operator=(ProbeLock&&) = delete;
  ~ProbeLock() {
    if (fd_ >= 0) ::close(fd_);
  }
  enum class State { kTaken, kBusy, kGone };
  State Try(const fs::path& path) {
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);  // files and directories alike
    if (fd_ < 0) return State::kGone;
    if (::flock(fd_, LOCK_EX | LOCK_NB) == 0) return State::kTaken;
    ::close(fd_);
    fd_ = -1;
    return State::kBusy;
  }

 private:
  int fd_ = -1;
};

struct Abandoned {
  std::string token;
  fs::path path;
  ProbeLock lock;  // held until its files are gone, so no other collector treats it as abandoned
  std::vector<std::string> chunks;
};

bool IsClaimName(const std::string& name) { return !name.empty() && name[0] != '.'; }

uint64_t SizeOf(const fs::path& p) {
  struct stat st {};
  return ::lstat(p.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

// A collector that crashed between quarantine and deletion: its candidates may have been claimed
// since, so they all go back; abandoned ones are found again next time.
void RestoreQuarantine(const Layout& layout, const fs::path& quarantine) {
  std::error_code ec;
  for (fs::directory_iterator it(quarantine, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
    std::string hex = it->path().filename().string();
    if (!IsSha256Hex(hex)) continue;
    ::rename(it->path().c_str(), layout.blob_path(hex).c_str());
  }
}

}  // namespace

Result<ReclaimReport> ReclaimAbandonedWriters(const Layout& layout, std::unordered_set<std::string>* live_claims) {
  ReclaimReport report;
  const fs::path dir = WritersDir(layout);
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return report;
  ProbeLock collector;  // on the directory itself, so no lock file is left behind
  bool only_collector = collector.Try(dir) == ProbeLock::State::kTaken;
  const fs::path quarantine = dir / ".quarantine";
  if (only_collector) RestoreQuarantine(layout, quarantine);

  // 2. Live and abandoned claims.
  std::vector<Abandoned> abandoned;
  std::vector<fs::path> live;
  for (fs::directory_iterator it(dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
    std::string name = it->path().filename().string();
    bool claim = IsClaimName(name);
    bool unnamed_claim = name.rfind(".tmp-", 0) == 0;  // created, not yet linked to its name
    if (!claim && !unnamed_claim) continue;
    ProbeLock lock;
    ProbeLock::State state = lock.Try(it->path());
    if (state == ProbeLock::State::kGone) continue;
    if (state == ProbeLock::State::kBusy) {
      if (claim) live.push_back(it->path());
      continue;
    }
    if (!only_collector) continue;
    if (unnamed_claim) {  // its writer died before claiming anything
      ::unlink(it->path().c_str());
      continue;
    }
    RUNTRACK_ASSIGN_OR_RETURN(auto chunks, ReadClaim(it->path()));
    abandoned.push_back({name, it->path(), std::move(lock), std::move(chunks)});
  }
  if (ec) return Status::IOError("list " + dir.string() + ": " + ec.message());
  if (live_claims == nullptr && abandoned.empty()) return report;  // the common case for Log()
  std::unordered_set<std::string> claimed_live;
  for (const fs::path& path : live) {
    auto chunks = ReadClaim(path);  // NotFound: the writer retired meanwhile
    if (chunks.ok()) claimed_live.insert(chunks->begin(), chunks->end());
  }
  if (live_claims != nullptr) live_claims->insert(claimed_live.begin(), claimed_live.end());
  if (abandoned.empty()) return report;

  // 3. Candidates: claimed by a dead writer only.
  RUNTRACK_ASSIGN_OR_RETURN(auto referenced, ReferencedChunks(layout));
  std::unordered_set<std::string> candidates;
  for (const auto& a : abandoned) {
    for (const auto& hex : a.chunks) {
      if (referenced.count(hex) == 0 && claimed_live.count(hex) == 0) candidates.insert(hex);
    }
  }

  // 4. Quarantine.
  std::vector<std::string> quarantined;
  Status failure;  // stops the quarantine; what is already in it still goes through step 5
  if (!candidates.empty()) RUNTRACK_RETURN_IF_ERROR(util::CreateDirectories(quarantine));
  for (const auto& hex : candidates) {
    fs::path held = quarantine / hex;
    if (::rename(layout.blob_path(hex).c_str(), held.c_str()) == 0) {
      quarantined.push_back(hex);
    } else if (errno == EXDEV) {
      break;  // blobs/ on another file system: leave these to Gc()'s grace period
    } else if (errno != ENOENT) {  // ENOENT: the writer died before storing it
      failure = util::ErrnoStatus("rename", layout.blob_path(hex), errno);
      break;
    }
  }

  // 5. Claimed or referenced since? Then it goes back.
  if (!quarantined.empty()) {
    std::unordered_set<std::string> claimed_now;
    for (fs::directory_iterator it(dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
      std::string name = it->path().filename().string();
      if (!IsClaimName(name)) continue;
      bool dead = false;
      for (const auto& a : abandoned) dead = dead || a.token == name;
      if (dead) continue;
      auto chunks = ReadClaim(it->path());
      if (chunks.ok()) claimed_now.insert(chunks->begin(), chunks->end());
    }
    Result<std::unordered_set<std::string>> referenced_now =
        ec ? Result<std::unordered_set<std::string>>(Status::IOError("list " + dir.string() + ": " + ec.message()))
           : ReferencedChunks(layout);
    for (const auto& hex : quarantined) {
      fs::path held = quarantine / hex;
      bool keep = !referenced_now.ok() || claimed_now.count(hex) != 0 || referenced_now->count(hex) != 0;
      if (keep) {
        if (::rename(held.c_str(), layout.blob_path(hex).c_str()) != 0)
          return util::ErrnoStatus("put back", layout.blob_path(hex), errno);
        continue;
      }
      uint64_t size = SizeOf(held);
      if (::unlink(held.c_str()) == 0) {
        report.chunks_removed++;
        report.bytes_freed += size;
      }
    }
    if (!referenced_now.ok()) return referenced_now.status();  // everything went back
  }
  RUNTRACK_RETURN_IF_ERROR(failure);

  // 6. The dead writers' temporaries and claim files.
  for (auto& a : abandoned) {
    for (const auto& hex : a.chunks) {
      fs::path tmp = ChunkTmpPath(layout, hex, a.token);
      uint64_t size = SizeOf(tmp);
      if (::unlink(tmp.c_str()) == 0) {
        report.temporaries_removed++;
        report.bytes_freed += size;
      }
    }
    ::unlink(a.path.c_str());
    report.abandoned_writers++;
  }
  return report;
}

}  // namespace runtrack::artifacts
