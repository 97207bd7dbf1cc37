#include "journal/journal_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <optional>
#include <string>

#include <fmt/format.h>

#include "util/crc32c.h"
#include "util/files.h"

namespace runtrack::journal {
namespace {

constexpr uint64_t kWindowBytes = 4u << 20;

// A journal opened for one ReadJournal call. Its size is taken once at open, so bytes a live
// writer appends during the call are left for the next call. Records are served from a sliding
// window, so consecutive small records cost no system call.
class JournalFile {
 public:
  JournalFile(int fd, std::filesystem::path path, uint64_t size)
      : fd_(fd), path_(std::move(path)), size_(size) {}
  JournalFile(const JournalFile&) = delete;
  JournalFile& operator=(const JournalFile&) = delete;
  ~JournalFile() { ::close(fd_); }

  uint64_t size() const { return size_; }

  // Bytes [offset, offset + n), which must lie inside the file; valid until the next View.
  Result<std::string_view> View(uint64_t offset, uint64_t n) {
    if (offset < window_start_ || offset + n > window_start_ + window_.size()) {
      // Refilled in place: a fresh multi-MiB buffer per refill would cost page faults.
      RUNTRACK_RETURN_IF_ERROR(ReadInto(&window_, offset, std::max(n, std::min(kWindowBytes, size_ - offset))));
      window_start_ = offset;
      if (window_.size() < n) return Status::IOError(fmt::format("{} shrank while being read", path_.string()));
    }
    return std::string_view(window_).substr(offset - window_start_, n);
  }

  // A private copy of [offset, offset + n) (shorter at end of file); leaves the window alone.
  Result<std::string> ReadAt(uint64_t offset, uint64_t n) const {
    std::string buf;
    RUNTRACK_RETURN_IF_ERROR(ReadInto(&buf, offset, n));
    return buf;
  }

 private:
  Status ReadInto(std::string* out, uint64_t offset, uint64_t n) const {
    std::string& buf = *out;
    buf.resize(n);
    size_t got = 0;
    while (got < n) {
      ssize_t r = ::pread(fd_, buf.data() + got, n - got, static_cast<off_t>(offset + got));
      if (r < 0) {
        if (errno == EINTR) continue;
        return util::ErrnoStatus("read", path_);
      }
      if (r == 0) break;
      got += static_cast<size_t>(r);
    }
    buf.resize(got);
    return Status::Ok();
  }

  int fd_;
  std::filesystem::path path_;
  uint64_t size_;
  uint64_t window_start_ = 0;
  std::string window_;
};

bool PlausibleLength(uint32_t length) { return length != 0 && length <= kMaxRecordLength; }
bool KnownType(uint8_t type) {
  return type >= static_cast<uint8_t>(RecordType::kRunStart) && type <= static_cast<uint8_t>(RecordType::kArtifact);
}

enum class FrameState { kValid, kIncomplete, kInvalid };

struct Frame {
  FrameState state = FrameState::kInvalid;
  uint64_t size = 0;  // header + body; also set for an invalid frame whose length fits the file
  RecordType type{};
  std::string_view payload;
};

Result<Frame> ReadFrame(JournalFile& file, uint64_t at) {
  Frame frame;
  uint64_t remaining = file.size() - at;
  if (remaining < kRecordHeaderSize) {
    frame.state = FrameState::kIncomplete;
    return frame;
  }
  RUNTRACK_ASSIGN_OR_RETURN(std::string_view head, file.View(at, 8));
  uint32_t length = GetU32(head.data());
  uint32_t crc = GetU32(head.data() + 4);
  if (!PlausibleLength(length)) return frame;
  if (8 + uint64_t{length} > remaining) {
    frame.state = FrameState::kIncomplete;
    return frame;
  }
  frame.size = 8 + uint64_t{length};
  RUNTRACK_ASSIGN_OR_RETURN(std::string_view body, file.View(at + 8, length));
  if (util::Crc32c(body) != crc) return frame;
  frame.state = FrameState::kValid;
  frame.type = static_cast<RecordType>(body[0]);
  frame.payload = body.substr(1);
  return frame;
}

// The offset of the first record at or after `from` that looks like one a writer framed: a
// plausible length that fits the file, a known type, end of file or another plausible length
// right after it, and a matching checksum. The cheap tests come first, so scanning damaged bytes
// rarely computes a checksum. nullopt when there is none before end of file.
Result<std::optional<uint64_t>> FindNextFrame(JournalFile& file, uint64_t from) {
  const uint64_t size = file.size();
  for (uint64_t p = from; p + kRecordHeaderSize <= size;) {
    uint64_t stretch = std::min<uint64_t>(kWindowBytes, size - p);
    RUNTRACK_ASSIGN_OR_RETURN(std::string bytes, file.ReadAt(p, stretch));
    if (bytes.size() < kRecordHeaderSize) break;
    for (size_t i = 0; i + kRecordHeaderSize <= bytes.size(); ++i) {
      uint32_t length = GetU32(bytes.data() + i);
      uint64_t at = p + i;
      if (!PlausibleLength(length) || at + 8 + length > size) continue;
      if (!KnownType(static_cast<uint8_t>(bytes[i + 8]))) continue;
      uint64_t after = at + 8 + length;
      if (size - after >= 4) {
        RUNTRACK_ASSIGN_OR_RETURN(std::string next_head, file.ReadAt(after, 4));
        if (!PlausibleLength(GetU32(next_head.data()))) continue;
      }
      RUNTRACK_ASSIGN_OR_RETURN(std::string body, file.ReadAt(at + 8, length));
      if (util::Crc32c(body) == GetU32(bytes.data() + i + 4)) return std::optional<uint64_t>(at);
    }
    // Candidates start at most at bytes.size() - kRecordHeaderSize within this stretch.
    p += bytes.size() - kRecordHeaderSize + 1;
  }
  return std::optional<uint64_t>();
}

Result<bool> AllZeroFrom(JournalFile& file, uint64_t from) {
  for (uint64_t p = from; p < file.size();) {
    RUNTRACK_ASSIGN_OR_RETURN(std::string bytes, file.ReadAt(p, std::min<uint64_t>(kWindowBytes, file.size() - p)));
    if (bytes.empty()) break;
    if (std::any_of(bytes.begin(), bytes.end(), [](char c) { return c != 0; })) return false;
    p += bytes.size();
  }
  return true;
}

void NoteDamage(ReadOutcome* outcome, uint64_t at, uint64_t skipped) {
  if (!outcome->corrupt) outcome->corrupt_offset = at;
  outcome->corrupt = true;
  outcome->skipped_bytes += skipped;
}

}  // namespace

Result<ReadOutcome> ReadJournal(const std::filesystem::path& path, uint64_t offset,
                                const RecordCallback& on_record, uint64_t max_bytes) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Status::NotFound(fmt::format("journal {} does not exist", path.string()));
    return util::ErrnoStatus("open", path);
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    Status s = util::ErrnoStatus("stat", path);
    ::close(fd);
    return s;
  }
  JournalFile file(fd, path, static_cast<uint64_t>(st.st_size));

  ReadOutcome outcome;
  outcome.next_offset = offset;
  if (offset == 0) {
    if (file.size() < kHeaderSize) {
      outcome.torn_tail = true;  // the writer has not finished creating the file yet
      return outcome;
    }
    RUNTRACK_ASSIGN_OR_RETURN(std::string_view header, file.View(0, kHeaderSize));
    if (std::memcmp(header.data(), kMagic, sizeof kMagic) != 0)
      return Status::Corruption(fmt::format("{}: not a runtrack journal (bad magic bytes)", path.string()));
    if (GetU32(header.data() + 8) != kFormatVersion)
      return Status::Corruption(fmt::format("{}: unsupported journal format version {}", path.string(),
                                            GetU32(header.data() + 8)));
    outcome.next_offset = kHeaderSize;
  }

  uint64_t budget = max_bytes;
  auto consume = [&](uint64_t n) {
    outcome.next_offset += n;
    budget = budget > n ? budget - n : 0;
  };
  while (budget > 0 && outcome.next_offset < file.size()) {
    const uint64_t at = outcome.next_offset;
    RUNTRACK_ASSIGN_OR_RETURN(Frame frame, ReadFrame(file, at));
    if (frame.state == FrameState::kValid) {
      RUNTRACK_RETURN_IF_ERROR(on_record(frame.type, frame.payload));
      consume(frame.size);
      continue;
    }
    RUNTRACK_ASSIGN_OR_RETURN(std::optional<uint64_t> resync, FindNextFrame(file, at + 1));
    if (resync) {  // damage in the middle: everything after it is still readable
      NoteDamage(&outcome, at, *resync - at);
      consume(*resync - at);
      continue;
    }
    if (frame.state == FrameState::kIncomplete) {
      outcome.torn_tail = true;
      break;
    }
    RUNTRACK_ASSIGN_OR_RETURN(bool zeros, AllZeroFrom(file, at));
    if (zeros) {  // what a crash without fsync can leave: the size grew, the data never came
      outcome.torn_tail = true;
      break;
    }
    if (frame.size > 0) {  // a whole record with a bad checksum: step over it
      NoteDamage(&outcome, at, frame.size);
      consume(frame.size);
      continue;
    }
    NoteDamage(&outcome, at, 0);  // no length to trust and nothing valid after it
    break;
  }
  return outcome;
}

}  // namespace runtrack::journal
