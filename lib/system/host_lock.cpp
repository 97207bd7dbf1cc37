#include "system/host_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include <fmt/format.h>

#include "util/files.h"

namespace runtrack::telemetry {
namespace fs = std::filesystem;

fs::path HostRunLock::DefaultDir() {
  const char* tmp = std::getenv("TMPDIR");
  return fs::path(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp");
}

Result<std::unique_ptr<HostRunLock>> HostRunLock::TryAcquire(const fs::path& dir, std::string_view run_id) {
  const fs::path path = (dir.empty() ? DefaultDir() : dir) / fmt::format("runicorn-system-{}.lock", run_id);
  // A holder unlinks the file before releasing it: whoever locked an inode that is no longer at
  // the path lost that race and tries again on the new file.
  for (int attempt = 0; attempt < 16; ++attempt) {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return util::ErrnoStatus("open system-metrics host lock", path);
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      int err = errno;
      ::close(fd);
      if (err == EWOULDBLOCK) return std::unique_ptr<HostRunLock>();
      return util::ErrnoStatus("lock system-metrics host lock", path, err);
    }
    struct stat held {}, at_path {};
    if (::fstat(fd, &held) == 0 && ::stat(path.c_str(), &at_path) == 0 && held.st_ino == at_path.st_ino &&
        held.st_dev == at_path.st_dev)
      return std::unique_ptr<HostRunLock>(new HostRunLock(path, fd));
    ::close(fd);
  }
  return Status::IOError(fmt::format("system-metrics host lock {} keeps being replaced", path.string()));
}

HostRunLock::~HostRunLock() {
  ::unlink(path_.c_str());
  ::close(fd_);
}

}  // namespace runtrack::telemetry
