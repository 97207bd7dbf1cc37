#include "artifacts/chunk_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "util/files.h"

namespace runtrack::artifacts {

Result<std::optional<StagedChunk>> ChunkStore::Stage(const std::string& hex, const void* data, size_t n) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!staged_.insert(hex).second) return std::optional<StagedChunk>();
  }
  if (claim_ != nullptr) RUNTRACK_RETURN_IF_ERROR(claim_->Record(hex));  // before the look-up
  fs::path path = layout_.blob_path(hex);
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && static_cast<size_t>(st.st_size) == n) {
    // Reused: mark it recently wanted so a concurrent Gc() keeps it through its grace period.
    if (::utimensat(AT_FDCWD, path.c_str(), nullptr, 0) == 0) return std::optional<StagedChunk>();
    if (errno != ENOENT) return util::ErrnoStatus("utimensat", path, errno);
    // Removed by a Gc() between stat and utimensat: write it again below.
  }
  // A wrong-sized file is a chunk torn by a crash without sync: Publish's rename replaces it.
  fs::path dir = path.parent_path();
  StagedChunk staged{claim_ != nullptr ? ChunkTmpPath(layout_, hex, claim_->token()) : dir / util::UniqueTmpName(hex),
                     path};
  int fd = ::open(staged.tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0 && errno == ENOENT) {
    RUNTRACK_RETURN_IF_ERROR(util::CreateDirectories(dir));
    fd = ::open(staged.tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  }
  if (fd < 0) return util::ErrnoStatus("create", staged.tmp, errno);
  Status s = util::WriteAll(fd, data, n, staged.tmp);
  // Only a hint: if it fails, fdatasync still does all the work.
  if (s.ok() && sync_) ::sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
  if (::close(fd) != 0 && s.ok()) s = util::ErrnoStatus("close", staged.tmp, errno);
  if (!s.ok()) {
    ::unlink(staged.tmp.c_str());
    return s;
  }
  return std::optional<StagedChunk>(std::move(staged));
}

Status ChunkStore::Publish(const StagedChunk& staged) {
  Status s;
  if (sync_) {
    // fdatasync needs a descriptor, not write access; Stage closed its own so that thousands of
    // staged chunks do not hold thousands of descriptors.
    int fd = ::open(staged.tmp.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) s = util::ErrnoStatus("open", staged.tmp, errno);
    else {
      if (::fdatasync(fd) != 0) s = util::ErrnoStatus("fdatasync", staged.tmp, errno);
      ::close(fd);
    }
  }
  if (s.ok() && ::rename(staged.tmp.c_str(), staged.path.c_str()) != 0) {
    s = util::ErrnoStatus("rename", staged.tmp, errno);
  }
  if (!s.ok()) ::unlink(staged.tmp.c_str());
  return s;
}

Status ChunkStore::SyncDirs(const std::set<fs::path>& dirty_dirs) const {
  if (!sync_) return Status::Ok();
  for (const auto& dir : dirty_dirs) RUNTRACK_RETURN_IF_ERROR(util::SyncDir(dir));
  return Status::Ok();
}

}  // namespace runtrack::artifacts
