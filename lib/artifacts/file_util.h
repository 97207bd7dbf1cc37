// Small POSIX file helpers shared by the artifacts module: errno -> Status, atomic publication of
// small files (tmp + fsync + rename), whole-file reads. Thread-safe (no shared state).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "runtrack/status.h"

namespace runtrack::artifacts {

namespace fs = std::filesystem;

// IOError (or NotFound for ENOENT) naming the operation, the path and strerror(err).
Status ErrnoStatus(std::string_view op, const fs::path& path, int err);

// A name no other process or thread will pick: ".tmp-<stem>-<pid>-<counter>".
std::string UniqueTmpName(std::string_view stem);

// Writes `content` to a temporary file in the same directory, optionally fdatasyncs it, then
// renames it over `path`: readers see the old file or the whole new one, never a part.
Status WriteFileAtomic(const fs::path& path, std::string_view content, bool sync);
// Creates `path` (empty) if absent; ok if it exists.
Status TouchFile(const fs::path& path);
// fsync a directory so a rename or creation inside it survives a crash.
Status SyncDir(const fs::path& dir);
Result<std::string> ReadWholeFile(const fs::path& path);
// mkdir -p that treats "already exists" as success.
Status MakeDirs(const fs::path& dir);
// Writes all of `n` bytes, retrying on EINTR and short writes.
Status WriteAll(int fd, const void* data, size_t n, const fs::path& path_for_errors);

// Seconds since the Unix epoch, with sub-second precision.
double NowSeconds();

}  // namespace runtrack::artifacts
