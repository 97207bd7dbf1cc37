#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <map>
#include <mutex>

#include <fmt/format.h>

#include "journal/journal_format.h"
#include "remote/frame_scan.h"
#include "runtrack/remote.h"
#include "runtrack/validation.h"
#include "util/files.h"

namespace runtrack {
namespace fs = std::filesystem;
namespace {

// The server's copy of one run's journal while the receiver has it open.
struct Sink {
  std::mutex mu;
  int fd = -1;
  uint64_t size = 0;  // whole verified records: everything below this is durable
  util::FileLock lock;

  ~Sink() { Close(); }
  void Close() {
    if (fd >= 0) ::close(fd);
    fd = -1;
    lock.Release();
  }
};

Result<std::string> ReadRange(int fd, uint64_t offset, uint64_t n, const fs::path& path) {
  std::string buf(n, '\0');
  size_t got = 0;
  while (got < n) {
    ssize_t r = ::pread(fd, buf.data() + got, n - got, static_cast<off_t>(offset + got));
    if (r < 0) {
      if (errno == EINTR) continue;
      return util::ErrnoStatus("read", path);
    }
    if (r == 0) break;
    got += static_cast<size_t>(r);
  }
  buf.resize(got);
  return buf;
}

// The length of the longest prefix of whole valid records, read in slices so a large journal
// costs bounded memory.
struct Prefix {
  uint64_t end = 0;
  bool has_status = false;  // the run's final record is in it
};
Result<Prefix> ValidPrefix(int fd, uint64_t file_size, const fs::path& path) {
  uint64_t at = 0;
  bool has_status = false;
  uint64_t want = 8u << 20;
  while (at < file_size) {
    const uint64_t start = at;
    const uint64_t n = std::min(file_size - start, want);
    RUNTRACK_ASSIGN_OR_RETURN(std::string bytes, ReadRange(fd, start, n, path));
    RUNTRACK_ASSIGN_OR_RETURN(remote::FrameScan scan, remote::ScanFrames(bytes, start));
    if (scan.boundaries.empty()) {  // no valid header
      if (scan.incomplete) return Prefix{};
      return Status::FailedPrecondition(fmt::format("{}: {}", path.string(), scan.stop_reason));
    }
    at = scan.valid_end;
    has_status = has_status || scan.has_status;
    if (scan.stop_reason.empty()) continue;
    // Damage inside the file is not ours to repair (the copy may predate this receiver): refuse
    // rather than cut off records. A torn tail at end of file is what our own crash leaves.
    if (!scan.incomplete)
      return Status::FailedPrecondition(fmt::format("{} is damaged ({}); not appending to it", path.string(), scan.stop_reason));
    if (start + n >= file_size) break;
    // A record runs past this slice: read again from it, with room for the largest record.
    if (at == start) want = std::min<uint64_t>(want * 2, journal::kMaxRecordLength + 8);
  }
  return Prefix{at, has_status};
}

}  // namespace

struct JournalReceiver::Impl {
  explicit Impl(StoreLayout l) : layout(std::move(l)) {}
  StoreLayout layout;
  std::mutex mu;
  std::map<std::string, std::shared_ptr<Sink>, std::less<>> sinks;

  std::shared_ptr<Sink> SinkFor(std::string_view run_id) {
    std::lock_guard l(mu);
    auto it = sinks.find(run_id);
    if (it == sinks.end()) it = sinks.emplace(std::string(run_id), std::make_shared<Sink>()).first;
    return it->second;
  }

  // Opens the run's journal (creating the folder and file), takes its lock and cuts off a torn
  // tail a crash mid-append may have left. Requires sink.mu.
  Status Open(std::string_view run_id, Sink& sink) {
    const fs::path dir = layout.run_dir(run_id);
    bool created_dir = ::mkdir(dir.c_str(), 0755) == 0;
    if (!created_dir && errno != EEXIST) return util::ErrnoStatus("create run directory", dir);
    util::FileLock lock;
    RUNTRACK_ASSIGN_OR_RETURN(bool got, util::FileLock::TryAcquire(layout.lock_path(run_id), &lock));
    if (!got)
      return Status::FailedPrecondition(
          fmt::format("run {} is being written by a process on the server's machine", run_id));
    const fs::path path = layout.journal_path(run_id);
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return util::ErrnoStatus("open", path);
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
      Status s = util::ErrnoStatus("stat", path);
      ::close(fd);
      return s;
    }
    auto valid = ValidPrefix(fd, static_cast<uint64_t>(st.st_size), path);
    if (!valid.ok()) {
      ::close(fd);
      return valid.status();
    }
    if (valid->end < static_cast<uint64_t>(st.st_size)) {
      // Only ever a torn append of ours (every byte was verified before it was written): it was
      // never acknowledged, so cutting it off loses nothing a client relies on.
      if (::ftruncate(fd, static_cast<off_t>(valid->end)) != 0 || ::fdatasync(fd) != 0) {
        Status s = util::ErrnoStatus("truncate torn tail of", path);
        ::close(fd);
        return s;
      }
    }
    if (created_dir) {
      RUNTRACK_RETURN_IF_ERROR(util::SyncDir(layout.runs_dir()));
    }
    sink.fd = fd;
    sink.size = valid->end;
    sink.lock = std::move(lock);
    if (valid->has_status) {
      Complete(run_id, sink);  // already complete: a resend, nothing will be appended
      return Status::Ok();
    }
    return util::TouchFile(layout.receiving_marker(run_id));
  }

  // The run's final record arrived: it no longer needs its lock after a restart.
  void Complete(std::string_view run_id, Sink& sink) {
    std::error_code ec;
    fs::remove(layout.receiving_marker(run_id), ec);
    sink.Close();
  }

  // A restarted viewer: takes the locks of runs still arriving again before the indexer's first
  // pass, so it does not judge them crashed while their writers reconnect.
  void Reclaim() {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(layout.runs_dir(), ec)) {
      const std::string id = e.path().filename().string();
      std::error_code exists_ec;
      if (!ValidateRunId(id).ok() || !fs::exists(layout.receiving_marker(id), exists_ec)) continue;
      std::shared_ptr<Sink> sink = SinkFor(id);
      std::lock_guard l(sink->mu);
      if (sink->fd >= 0) continue;
      if (Status s = Open(id, *sink); !s.ok())
        std::fprintf(stderr, "runicorn viewer: run %s: cannot resume receiving: %s\n", id.c_str(), s.ToString().c_str());
    }
  }
};

JournalReceiver::JournalReceiver(StoreLayout layout) : impl_(std::make_unique<Impl>(std::move(layout))) {
  impl_->Reclaim();
}
JournalReceiver::~JournalReceiver() = default;

Result<IngestOutcome> JournalReceiver::Append(std::string_view run_id, std::string_view stream, uint64_t offset,
                                              std::string_view bytes) {
  RUNTRACK_RETURN_IF_ERROR(ValidateRunId(run_id));
  if (stream != kDefaultJournalStream)
    return Status::InvalidArgument(
        fmt::format("unsupported journal stream '{}': this server accepts only stream \"{}\"", stream,
                    kDefaultJournalStream));
  // Verified before anything is touched: a bad body never reaches the disk.
  RUNTRACK_ASSIGN_OR_RETURN(remote::FrameScan scan, remote::ScanFrames(bytes, offset));
  if (!scan.stop_reason.empty() || scan.valid_end != offset + bytes.size())
    return Status::InvalidArgument(fmt::format("ingest body refused: {}", scan.stop_reason));

  std::shared_ptr<Sink> sink = impl_->SinkFor(run_id);
  std::lock_guard l(sink->mu);
  if (sink->fd < 0) RUNTRACK_RETURN_IF_ERROR(impl_->Open(run_id, *sink));
  if (sink->fd < 0) {  // complete already (Open found the final record): only a resend can match
    if (offset > sink->size) return IngestOutcome{true, sink->size};
    if (offset + bytes.size() > sink->size)
      return Status::FailedPrecondition(fmt::format("run {} has ended: nothing may follow its final record", run_id));
    const fs::path journal = impl_->layout.journal_path(run_id);
    int fd = ::open(journal.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return util::ErrnoStatus("open", journal);
    auto stored = ReadRange(fd, offset, bytes.size(), journal);
    ::close(fd);
    if (!stored.ok()) return stored.status();
    if (*stored != bytes)
      return Status::FailedPrecondition(fmt::format(
          "run {}: bytes at offset {} differ from the server's copy of its journal", run_id, offset));
    return IngestOutcome{false, sink->size};
  }
  const fs::path path = impl_->layout.journal_path(run_id);
  const uint64_t have = sink->size;
  const uint64_t end = offset + bytes.size();
  if (offset > have) return IngestOutcome{true, have};

  // The part the server already has must be the same bytes: a resend, not another journal.
  uint64_t overlap_end = std::min(end, have);
  if (overlap_end > offset) {
    RUNTRACK_ASSIGN_OR_RETURN(std::string stored, ReadRange(sink->fd, offset, overlap_end - offset, path));
    if (stored != bytes.substr(0, overlap_end - offset))
      return Status::FailedPrecondition(fmt::format(
          "run {}: bytes at offset {} differ from the server's copy of its journal", run_id, offset));
  }
  if (end <= have) return IngestOutcome{false, have};

  // The new part must start on a record boundary of the body (it does when the overlap matched a
  // copy made of the same records; otherwise the journals differ).
  bool aligned = have == offset;
  for (uint64_t b : scan.boundaries) aligned = aligned || b == have;
  if (!aligned)
    return Status::FailedPrecondition(
        fmt::format("run {}: the server's copy ends at {}, inside a record of this body", run_id, have));
  std::string_view fresh = bytes.substr(have - offset);
  Status written = util::PwriteAll(sink->fd, fresh.data(), fresh.size(), have, path);
  if (written.ok() && ::fdatasync(sink->fd) != 0) written = util::ErrnoStatus("fdatasync", path);
  if (!written.ok()) {
    // What was written (if anything) is not acknowledged; reopening cuts it off again.
    sink->Close();
    return written;
  }
  sink->size = end;
  if (scan.has_status) impl_->Complete(run_id, *sink);  // the run has ended: free its lock
  return IngestOutcome{false, end};
}

}  // namespace runtrack
