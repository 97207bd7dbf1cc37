// LocalJournalEnded (include/runtrack/compacted_run.h): is a local journal whole (its last record
// the run's final Status record), read from its tail only, so the check costs the same for any
// journal length.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>

#include "journal/journal_format.h"
#include "runtrack/compacted_run.h"
#include "runtrack/validation.h"
#include "util/crc32c.h"
#include "util/files.h"

namespace runtrack {
namespace {
// A Status record is a small JSON object (status, ended_at, exit_reason): far below this.
constexpr uint64_t kTailWindow = 64 * 1024;
}  // namespace

Result<bool> LocalJournalEnded(const StoreLayout& layout, std::string_view run_id) {
  RUNTRACK_RETURN_IF_ERROR(ValidateRunId(run_id));
  const std::string path = layout.journal_path(run_id).string();
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return false;
    return util::ErrnoStatus("open", path, errno);
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    Status s = util::ErrnoStatus("stat", path, errno);
    ::close(fd);
    return s;
  }
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  if (size < journal::kHeaderSize + journal::kRecordHeaderSize) {
    ::close(fd);
    return false;
  }
  const uint64_t from = std::max<uint64_t>(journal::kHeaderSize, size > kTailWindow ? size - kTailWindow : 0);
  std::string tail(size - from, '\0');
  const ssize_t got = ::pread(fd, tail.data(), tail.size(), static_cast<off_t>(from));
  const int err = errno;
  ::close(fd);
  if (got < 0) return util::ErrnoStatus("read", path, err);
  if (static_cast<uint64_t>(got) != tail.size()) return false;  // shrank meanwhile: not judged whole
  // The last record starts at some p with length(p) == end - p - 8; only such a p is CRC-checked.
  for (uint64_t p = tail.size() - journal::kRecordHeaderSize + 1; p-- > 0;) {
    const uint32_t length = journal::GetU32(tail.data() + p);
    if (uint64_t{length} + 8 != tail.size() - p) continue;
    std::string_view body(tail.data() + p + 8, length);
    if (util::Crc32c(body) != journal::GetU32(tail.data() + p + 4)) continue;
    return static_cast<journal::RecordType>(body[0]) == journal::RecordType::kStatus;
  }
  return false;
}

}  // namespace runtrack
