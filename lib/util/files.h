// Small POSIX file helpers shared by the journal, the store and the catalog.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "runtrack/status.h"

namespace runtrack::util {

// "open <path>: Permission denied" from errno.
Status ErrnoStatus(std::string_view what, const std::filesystem::path& path);

Result<std::string> ReadFile(const std::filesystem::path& path);

// Writes `data` to a temporary file beside `path`, fsyncs it and renames it over `path`, so readers
// see either the old or the new content, never a mix.
Status WriteFileAtomic(const std::filesystem::path& path, std::string_view data);

// Creates `dir` and its parents; an existing directory is fine.
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
