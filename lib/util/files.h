// Small POSIX file helpers shared by every module: errno -> Status, atomic publication of small
// files (tmp + fdatasync + rename + directory fsync), whole-file reads, flock-based locks.
// Thread-safe (no shared state beyond an atomic counter).
#pragma once

#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>

#include "runtrack/status.h"

namespace runtrack::util {

// "<op> <path>: <strerror(err)>": NotFound for ENOENT, IOError otherwise.
Status ErrnoStatus(std::string_view op, const std::filesystem::path& path, int err = errno);

// A name no other process or thread will pick: ".tmp-<stem>-<pid>-<counter>".
std::string UniqueTmpName(std::string_view stem);

// Writes all of `n` bytes, retrying on EINTR and short writes.
Status WriteAll(int fd, const void* data, size_t n, const std::filesystem::path& path_for_errors);
// The same at file offset `offset` (pwrite), so several threads can fill one file.
Status PwriteAll(int fd, const void* data, size_t n, uint64_t offset, const std::filesystem::path& path_for_errors);

// Writes `content` to a temporary file beside `path`, optionally fdatasyncs it, renames it over
// `path` and (with `sync`) fsyncs the directory: readers see the old file or the whole new one.
Status WriteFileAtomic(const std::filesystem::path& path, std::string_view content, bool sync = true);

// Like WriteFileAtomic, but publishes with link() instead of rename(): AlreadyExists, and
// `path` untouched, if it exists. Of several processes creating one file, exactly one wins.
Status CreateFileExclusive(const std::filesystem::path& path, std::string_view content, bool sync = true);

// Creates `path` (empty) if absent; ok if it exists.
Status TouchFile(const std::filesystem::path& path);
// fsync a directory so a rename or creation inside it survives a crash.
Status SyncDir(const std::filesystem::path& dir);
// The whole file; NotFound when it does not exist.
Result<std::string> ReadFile(const std::filesystem::path& path);
// mkdir -p; an existing directory is fine.
Status CreateDirectories(const std::filesystem::path& dir);

// An exclusive flock(2) on a file, held until destruction. flock locks belong to the open file
// description, so the lock also excludes other descriptors of the same process, and the kernel
// drops it when the holder dies: a free lock means no live holder.
class FileLock {
 public:
  FileLock() = default;
  FileLock(FileLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  FileLock& operator=(FileLock&& other) noexcept;
  ~FileLock();

  // Blocks until the lock is held; creates the file if missing.
  static Result<FileLock> Acquire(const std::filesystem::path& path);
  // Returns true and holds the lock if nobody else does, false if someone does.
  static Result<bool> TryAcquire(const std::filesystem::path& path, FileLock* out);

  bool held() const { return fd_ >= 0; }
  void Release();

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

// Seconds since the Unix epoch, with sub-microsecond resolution.
double NowSeconds();

}  // namespace runtrack::util
