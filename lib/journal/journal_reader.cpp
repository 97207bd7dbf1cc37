#include "journal/journal_reader.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include <fmt/format.h>

#include "util/crc32c.h"
#include "util/files.h"

namespace runtrack::journal {
namespace {

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { if (fd_ >= 0) ::close(fd_); }
  int get() const { return fd_; }

 private:
  int fd_;
};

Result<std::string> ReadAt(int fd, uint64_t offset, uint64_t max, const std::filesystem::path& path) {
  std::string buf(max, '\0');
  size_t got = 0;
  while (got < max) {
    ssize_t n = ::pread(fd, buf.data() + got, max - got, static_cast<off_t>(offset + got));
    if (n < 0) {
      if (errno == EINTR) continue;
      return util::ErrnoStatus("read", path);
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  buf.resize(got);
  return buf;
}

}  // namespace

Result<ReadOutcome> ReadJournal(const std::filesystem::path& path, uint64_t offset,
                                const RecordCallback& on_record, uint64_t max_bytes) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) return Status::NotFound(fmt::format("journal {} does not exist", path.string()));
    return util::ErrnoStatus("open", path);
  }
  ReadOutcome outcome;
  outcome.next_offset = offset;
  if (offset == 0) {
    RUNTRACK_ASSIGN_OR_RETURN(std::string header, ReadAt(fd.get(), 0, kHeaderSize, path));
    if (header.size() < kHeaderSize) {
      outcome.torn_tail = true;  // the writer has not finished creating the file yet
      return outcome;
    }
    if (std::memcmp(header.data(), kMagic, sizeof kMagic) != 0)
      return Status::Corruption(fmt::format("{} is not a runtrack journal", path.string()));
    if (GetU32(header.data() + 8) != kFormatVersion)
      return Status::Corruption(fmt::format("{} has unsupported format version {}", path.string(),
                                            GetU32(header.data() + 8)));
    outcome.next_offset = kHeaderSize;
  }

  uint64_t budget = max_bytes;
  while (budget > 0) {
    // Read a window; records that straddle its end are re-read in the next window.
    uint64_t window = std::min<uint64_t>(budget + kRecordHeaderSize, 4u << 20);
    RUNTRACK_ASSIGN_OR_RETURN(std::string buf, ReadAt(fd.get(), outcome.next_offset, window, path));
    if (buf.empty()) return outcome;
    size_t pos = 0;
    while (pos + kRecordHeaderSize <= buf.size()) {
      uint32_t length = GetU32(buf.data() + pos);
      uint32_t crc = GetU32(buf.data() + pos + 4);
      if (length == 0 || length > kMaxRecordLength) {
        outcome.corrupt = true;
        return outcome;
      }
      if (pos + 8 + length > buf.size()) break;  // record continues past this window
      std::string_view body(buf.data() + pos + 8, length);
      if (util::Crc32c(body) != crc) {
        outcome.corrupt = true;
        return outcome;
      }
      RUNTRACK_RETURN_IF_ERROR(on_record(static_cast<RecordType>(body[0]), body.substr(1)));
      pos += 8 + length;
      outcome.next_offset += 8 + length;
      budget = budget > 8 + length ? budget - (8 + length) : 0;
      if (budget == 0) return outcome;
    }
    if (pos == 0) {
      // Not even one whole record fits in what the file holds past this offset: either the
      // record is bigger than the window, or the tail is torn.
      uint32_t length = buf.size() >= 4 ? GetU32(buf.data()) : 0;
      if (buf.size() >= kRecordHeaderSize && 8 + uint64_t{length} > buf.size() &&
          buf.size() == window && length <= kMaxRecordLength) {
        RUNTRACK_ASSIGN_OR_RETURN(std::string big, ReadAt(fd.get(), outcome.next_offset, 8 + length, path));
        if (big.size() == 8 + length) {
          std::string_view body(big.data() + 8, length);
          if (util::Crc32c(body) != GetU32(big.data() + 4)) {
            outcome.corrupt = true;
            return outcome;
          }
          RUNTRACK_RETURN_IF_ERROR(on_record(static_cast<RecordType>(body[0]), body.substr(1)));
          outcome.next_offset += 8 + length;
          budget = budget > 8 + length ? budget - (8 + length) : 0;
          continue;
        }
      }
      outcome.torn_tail = true;
      return outcome;
    }
  }
  return outcome;
}

}  // namespace runtrack::journal
