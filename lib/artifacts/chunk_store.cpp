#include "artifacts/chunk_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "util/files.h"

namespace runtrack::artifacts {

Result<bool> ChunkStore::Put(const std::string& hex, const void* data, size_t n,
                             std::set<fs::path>* dirty_dirs) {
  fs::path path = layout_.blob_path(hex);
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && static_cast<size_t>(st.st_size) == n) {
    // Reused: mark it recently wanted so a concurrent Gc() keeps it through its grace period.
    if (::utimensat(AT_FDCWD, path.c_str(), nullptr, 0) == 0) return false;
    if (errno != ENOENT) return util::ErrnoStatus("utimensat", path, errno);
    // Removed by a Gc() between stat and utimensat: write it again below.
  }
  // A wrong-sized file is a chunk torn by a crash without sync: the rename below replaces it.
  fs::path dir = path.parent_path();
  fs::path tmp = dir / util::UniqueTmpName(hex);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0 && errno == ENOENT) {
    RUNTRACK_RETURN_IF_ERROR(util::CreateDirectories(dir));
    fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  }
  if (fd < 0) return util::ErrnoStatus("create", tmp, errno);
  Status s = util::WriteAll(fd, data, n, tmp);
  if (s.ok() && sync_ && ::fdatasync(fd) != 0) s = util::ErrnoStatus("fdatasync", tmp, errno);
  ::close(fd);
  if (s.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) s = util::ErrnoStatus("rename", tmp, errno);
  if (!s.ok()) {
    ::unlink(tmp.c_str());
    return s;
  }
  if (dirty_dirs != nullptr) dirty_dirs->insert(dir);
  return true;
}

Status ChunkStore::SyncDirs(const std::set<fs::path>& dirty_dirs) const {
  if (!sync_) return Status::Ok();
  for (const auto& dir : dirty_dirs) RUNTRACK_RETURN_IF_ERROR(util::SyncDir(dir));
  return Status::Ok();
}

}  // namespace runtrack::artifacts
