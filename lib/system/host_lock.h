// HostRunLock: at most one process per host and run holds it, so a multi-process run (DDP ranks
// sharing a machine, each with its own store root) gets one system-metrics stream per host.
#pragma once

#include <filesystem>
#include <memory>
#include <string_view>

#include "runtrack/status.h"

namespace runtrack::telemetry {

// An flock(2) on `<dir>/runicorn-system-<run_id>.lock`. `dir` is host-wide rather than inside a
// store root, because the ranks of one run on one host write to different roots. A holder that
// dies releases it with its file descriptor, so a crashed rank never blocks a later run.
// The file is removed when released; an acquirer checks that the file it locked is still the one
// at the path (the classic unlink race), so two holders can never coexist.
class HostRunLock {
 public:
  // `run_id` must be valid (ValidateRunId): it becomes part of a file name.
  // Returns null when another process holds the lock; IOError when `dir` is unusable.
  static Result<std::unique_ptr<HostRunLock>> TryAcquire(const std::filesystem::path& dir, std::string_view run_id);
  // Where TryAcquire looks when given an empty dir: $TMPDIR, else /tmp.
  static std::filesystem::path DefaultDir();
  ~HostRunLock();  // unlinks the file, then closes (releases) it
  HostRunLock(const HostRunLock&) = delete;
  HostRunLock& operator=(const HostRunLock&) = delete;

  const std::filesystem::path& path() const { return path_; }

 private:
  HostRunLock(std::filesystem::path path, int fd) : path_(std::move(path)), fd_(fd) {}
  std::filesystem::path path_;
  int fd_;
};

}  // namespace runtrack::telemetry
