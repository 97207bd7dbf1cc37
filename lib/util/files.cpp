#include "util/files.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <system_error>

namespace runtrack::util {
namespace fs = std::filesystem;

Status ErrnoStatus(std::string_view op, const fs::path& path, int err) {
  std::string msg = std::string(op) + " " + path.string() + ": " + std::strerror(err);
  if (err == ENOENT) return Status::NotFound(std::move(msg));
  return Status::IOError(std::move(msg));
}

std::string UniqueTmpName(std::string_view stem) {
  static std::atomic<uint64_t> counter{0};
  return ".tmp-" + std::string(stem) + "-" + std::to_string(::getpid()) + "-" +
         std::to_string(counter.fetch_add(1));
}

Status WriteAll(int fd, const void* data, size_t n, const fs::path& path_for_errors) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("write", path_for_errors, errno);
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return Status::Ok();
}

Status PwriteAll(int fd, const void* data, size_t n, uint64_t offset, const fs::path& path_for_errors) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    ssize_t w = ::pwrite(fd, p, n, static_cast<off_t>(offset));
    if (w < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("write", path_for_errors, errno);
    }
    p += w;
    n -= static_cast<size_t>(w);
    offset += static_cast<uint64_t>(w);
  }
  return Status::Ok();
}

namespace {

// Writes `content` to a new temporary file beside `path` (fdatasynced with `sync`); returns its
// path. Removes it on failure.
Result<fs::path> WriteTemporaryBeside(const fs::path& path, std::string_view content, bool sync) {
  fs::path tmp = path.parent_path() / UniqueTmpName(path.filename().string());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoStatus("create", tmp, errno);
  Status s = WriteAll(fd, content.data(), content.size(), tmp);
  if (s.ok() && sync && ::fdatasync(fd) != 0) s = ErrnoStatus("fdatasync", tmp, errno);
  ::close(fd);
  if (!s.ok()) {
    ::unlink(tmp.c_str());
    return s;
  }
  return tmp;
}

}  // namespace

Status WriteFileAtomic(const fs::path& path, std::string_view content, bool sync) {
  RUNTRACK_ASSIGN_OR_RETURN(fs::path tmp, WriteTemporaryBeside(path, content, sync));
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    Status s = ErrnoStatus("rename", tmp, errno);
    ::unlink(tmp.c_str());
    return s;
  }
  return sync ? SyncDir(path.parent_path()) : Status::Ok();
}

Status CreateFileExclusive(const fs::path& path, std::string_view content, bool sync) {
  RUNTRACK_ASSIGN_OR_RETURN(fs::path tmp, WriteTemporaryBeside(path, content, sync));
  Status s;
  if (::link(tmp.c_str(), path.c_str()) != 0) {
    s = errno == EEXIST ? Status::AlreadyExists(path.string() + " already exists") : ErrnoStatus("link", path, errno);
  }
  ::unlink(tmp.c_str());
  if (s.ok() && sync) return SyncDir(path.parent_path());
  return s;
}

Status TouchFile(const fs::path& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoStatus("create", path, errno);
  ::close(fd);
  return Status::Ok();
}

Status SyncDir(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("open", dir, errno);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return ErrnoStatus("fsync", dir, err);
  return Status::Ok();
}

Result<std::string> ReadFile(const fs::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("open", path, errno);
  struct stat st {};
  std::string out;
  if (::fstat(fd, &st) == 0 && st.st_size > 0) out.reserve(static_cast<size_t>(st.st_size));
  char buf[65536];
  for (;;) {
    ssize_t r = ::read(fd, buf, sizeof buf);
    if (r < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return ErrnoStatus("read", path, err);
    }
    if (r == 0) break;
    out.append(buf, static_cast<size_t>(r));
  }
  ::close(fd);
  return out;
}

Status CreateDirectories(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec && !fs::is_directory(dir)) return Status::IOError("mkdir " + dir.string() + ": " + ec.message());
  return Status::Ok();
}

FileLock& FileLock::operator=(FileLock&& other) noexcept {
  if (this != &other) {
    Release();
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

FileLock::~FileLock() { Release(); }

void FileLock::Release() {
  if (fd_ >= 0) ::close(fd_);  // closing the description drops the flock
  fd_ = -1;
}

static Result<int> OpenLockFile(const fs::path& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoStatus("open lock", path);
  return fd;
}

Result<FileLock> FileLock::Acquire(const fs::path& path) {
  RUNTRACK_ASSIGN_OR_RETURN(int fd, OpenLockFile(path));
  while (::flock(fd, LOCK_EX) != 0) {
    if (errno == EINTR) continue;
    Status s = ErrnoStatus("flock", path);
    ::close(fd);
    return s;
  }
  return FileLock(fd);
}

Result<bool> FileLock::TryAcquire(const fs::path& path, FileLock* out) {
  RUNTRACK_ASSIGN_OR_RETURN(int fd, OpenLockFile(path));
  if (::flock(fd, LOCK_EX | LOCK_NB) == 0) {
    *out = FileLock(fd);
    return true;
  }
  int err = errno;
  ::close(fd);
  if (err == EWOULDBLOCK) return false;
  errno = err;
  return ErrnoStatus("flock", path);
}

double NowSeconds() {
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}

}  // namespace runtrack::util
