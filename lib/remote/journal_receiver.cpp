#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include <fmt/format.h>

#include "journal/journal_compaction.h"
#include "journal/journal_format.h"
#include "remote/frame_scan.h"
#include "runtrack/remote.h"
#include "runtrack/validation.h"
#include "util/files.h"

namespace runtrack {
namespace fs = std::filesystem;
namespace {
using Clock = std::chrono::steady_clock;

// The server's copy of one stream of a run while the receiver has it open.
struct StreamSink {
  int fd = -1;        // open for appending; -1 once the stream's final record is in
  uint64_t size = 0;  // whole verified records: everything below this is durable
  bool ended = false; // the stream's final (Status) record is in

  ~StreamSink() { Close(); }
  StreamSink() = default;
  StreamSink(const StreamSink&) = delete;
  StreamSink& operator=(const StreamSink&) = delete;
  void Close() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
};

// One run: its lock (held while any stream may still grow) and its streams. `mu` serialises
// every append to the run, whatever the stream.
struct RunSink {
  std::mutex mu;
  util::FileLock lock;
  bool open = false;  // streams on disk were loaded and the lock was taken (or the run is complete)
  std::map<std::string, std::unique_ptr<StreamSink>, std::less<>> streams;
  Clock::time_point last_put = Clock::now();
  std::optional<Clock::time_point> complete_since;  // every stream ended; released after the linger

  void CloseAll() {
    for (auto& [name, s] : streams) s->Close();
    streams.clear();
    lock.Release();
    open = false;
  }
  // Rank 0 owns the run's status: the run is complete when stream "0" ended and every other
  // stream known here did too.
  bool Complete() const {
    auto zero = streams.find(kDefaultJournalStream);
    if (zero == streams.end() || !zero->second->ended) return false;
    for (const auto& [name, s] : streams)
      if (!s->ended) return false;
    return true;
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

Status ValidateJournalStream(std::string_view stream) {
  auto shown = [&] {
    std::string s(stream.substr(0, 64));
    for (char& c : s)
      if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = '?';
    return s;
  };
  if (stream.empty() || stream.size() > 64)
    return Status::InvalidArgument(fmt::format("Invalid stream '{}': it must be 1-64 characters", shown()));
  if (stream[0] == '.')
    return Status::InvalidArgument(fmt::format("Invalid stream '{}': it must not start with '.'", shown()));
  for (char c : stream) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
              c == '.' || c == ':' || c == '-';
    if (!ok)
      return Status::InvalidArgument(fmt::format(
          "Invalid stream '{}': use a rank (\"0\", \"1\", ...) or host:pid, characters [A-Za-z0-9_.:-]", shown()));
  }
  return Status::Ok();
}

struct JournalReceiver::Impl {
  Impl(StoreLayout l, ReceiverOptions o) : layout(std::move(l)), options(o) {}
  StoreLayout layout;
  std::mutex mu;  // guards `runs`, `options` and `stats`
  ReceiverOptions options;
  JournalReceiver::Stats stats;
  void Count(uint64_t appended, uint64_t resent) {
    std::lock_guard l(mu);
    stats.requests += 1;
    stats.bytes_appended += appended;
    stats.bytes_resent += resent;
  }
  std::map<std::string, std::shared_ptr<RunSink>, std::less<>> runs;
  // The lease sweeper (ExpireLeases every second).
  std::mutex sweep_mu;
  std::condition_variable sweep_cv;
  bool stopping = false;
  std::thread sweeper;

  std::shared_ptr<RunSink> RunFor(std::string_view run_id) {
    std::lock_guard l(mu);
    auto it = runs.find(run_id);
    if (it == runs.end()) it = runs.emplace(std::string(run_id), std::make_shared<RunSink>()).first;
    return it->second;
  }

  // The stream names with a journal in the run's folder ("0" for `journal`).
  std::vector<std::string> StreamsOnDisk(std::string_view run_id) {
    std::vector<std::string> out;
    std::error_code ec;
    const std::string prefix(StoreLayout::journal_stream_prefix());
    const std::string main = layout.journal_path(run_id).filename().string();
    for (const auto& e : fs::directory_iterator(layout.run_dir(run_id), ec)) {
      const std::string name = e.path().filename().string();
      if (name == main) out.emplace_back(kDefaultJournalStream);
      else if (name.rfind(prefix, 0) == 0 && ValidateJournalStream(name.substr(prefix.size())).ok())
        out.push_back(name.substr(prefix.size()));
    }
    return out;
  }

  // Opens one stream's journal (creating it), cutting off a torn tail a crash mid-append may have
  // left. Requires run.mu and the run's lock.
  Status OpenStream(std::string_view run_id, std::string_view stream, RunSink& run) {
    const fs::path path = layout.stream_journal_path(run_id, stream);
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
    auto sink = std::make_unique<StreamSink>();
    sink->fd = fd;
    sink->size = valid->end;
    sink->ended = valid->has_status;
    // Compacted by the catalog once the run ended (journal/journal_compaction.h): it still counts
    // in its original offsets, so a resend is answered as before compaction.
    if (auto compacted = journal::ReadCompactionMarker(path); compacted.ok() && *compacted) {
      sink->size = (*compacted)->original_length;
      sink->ended = true;
    }
    if (sink->ended) sink->Close();  // nothing may follow; resends are read back by path
    run.streams[std::string(stream)] = std::move(sink);
    return Status::Ok();
  }

  // Takes the run's lock and loads every stream on disk plus `stream` (created if new). Requires
  // run.mu.
  Status OpenRun(std::string_view run_id, std::string_view stream, RunSink& run) {
    const fs::path dir = layout.run_dir(run_id);
    bool created_dir = ::mkdir(dir.c_str(), 0755) == 0;
    if (!created_dir && errno != EEXIST) return util::ErrnoStatus("create run directory", dir);
    util::FileLock lock;
    RUNTRACK_ASSIGN_OR_RETURN(bool got, util::FileLock::TryAcquire(layout.lock_path(run_id), &lock));
    if (!got)
      return Status::FailedPrecondition(
          fmt::format("run {} is being written by a process on the server's machine", run_id));
    run.streams.clear();
    for (const std::string& name : StreamsOnDisk(run_id)) {
      if (Status s = OpenStream(run_id, name, run); !s.ok()) {
        run.streams.clear();
        return s;
      }
    }
    if (!stream.empty() && run.streams.find(stream) == run.streams.end()) {
      RUNTRACK_RETURN_IF_ERROR(OpenStream(run_id, stream, run));  // a new file: its name must be durable
      RUNTRACK_RETURN_IF_ERROR(util::SyncDir(dir));
    }
    if (created_dir) RUNTRACK_RETURN_IF_ERROR(util::SyncDir(layout.runs_dir()));
    run.lock = std::move(lock);
    run.open = true;
    run.last_put = Clock::now();
    if (run.Complete()) {
      Complete(run_id, run);  // already complete: a resend, nothing will be appended
      run.open = true;        // keep the loaded sizes for resends
      return Status::Ok();
    }
    return util::TouchFile(layout.receiving_marker(run_id));
  }

  // Every stream's final record arrived: the run no longer needs its lock after a restart.
  void Complete(std::string_view run_id, RunSink& run) {
    run.complete_since.reset();
    std::error_code ec;
    fs::remove(layout.receiving_marker(run_id), ec);
    for (auto& [name, s] : run.streams) s->Close();
    run.lock.Release();
  }

  // A restarted viewer: takes the locks of runs still arriving again before the indexer's first
  // pass, so it does not judge them crashed while their writers reconnect.
  void Reclaim() {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(layout.runs_dir(), ec)) {
      const std::string id = e.path().filename().string();
      std::error_code exists_ec;
      if (!ValidateRunId(id).ok() || !fs::exists(layout.receiving_marker(id), exists_ec)) continue;
      std::shared_ptr<RunSink> run = RunFor(id);
      std::lock_guard l(run->mu);
      if (run->open) continue;
      if (Status s = OpenRun(id, {}, *run); !s.ok())
        std::fprintf(stderr, "runicorn viewer: run %s: cannot resume receiving: %s\n", id.c_str(), s.ToString().c_str());
    }
  }

  Result<IngestOutcome> AppendLocked(std::string_view run_id, std::string_view stream, uint64_t offset,
                                     std::string_view bytes, const remote::FrameScan& scan, RunSink& run);
};

JournalReceiver::JournalReceiver(StoreLayout layout, ReceiverOptions options)
    : impl_(std::make_unique<Impl>(std::move(layout), options)) {
  impl_->Reclaim();
  impl_->sweeper = std::thread([impl = impl_.get(), this] {
    std::unique_lock l(impl->sweep_mu);
    while (!impl->stopping) {
      impl->sweep_cv.wait_for(l, std::chrono::seconds(1), [&] { return impl->stopping; });
      if (impl->stopping) break;
      l.unlock();
      ExpireLeases();
      l.lock();
    }
  });
}

JournalReceiver::~JournalReceiver() {
  {
    std::lock_guard l(impl_->sweep_mu);
    impl_->stopping = true;
  }
  impl_->sweep_cv.notify_all();
  impl_->sweeper.join();
}

JournalReceiver::Stats JournalReceiver::stats() const {
  std::lock_guard l(impl_->mu);
  return impl_->stats;
}

void JournalReceiver::SetLinger(std::chrono::milliseconds linger) {
  std::lock_guard l(impl_->mu);
  impl_->options.linger = linger;
}

void JournalReceiver::SetLease(std::chrono::milliseconds lease) {
  std::lock_guard l(impl_->mu);
  impl_->options.lease = lease;
}

int JournalReceiver::ExpireLeases() {
  std::vector<std::pair<std::string, std::shared_ptr<RunSink>>> runs;
  std::chrono::milliseconds lease, linger;
  {
    std::lock_guard l(impl_->mu);
    lease = impl_->options.lease;
    linger = impl_->options.linger;
    for (const auto& [id, run] : impl_->runs) runs.emplace_back(id, run);
  }
  int expired = 0;
  const auto now = Clock::now();
  for (auto& [id, run] : runs) {
    std::unique_lock l(run->mu, std::try_to_lock);
    if (!l.owns_lock() || !run->open || !run->lock.held()) continue;
    if (run->complete_since) {
      if (now - *run->complete_since >= linger) impl_->Complete(id, *run);  // ended, linger over
      continue;
    }
    if (lease.count() <= 0 || now - run->last_put < lease) continue;
    // The writers went silent past the lease: judge the run as a dead local writer's would be.
    std::error_code ec;
    fs::remove(impl_->layout.receiving_marker(id), ec);
    run->CloseAll();
    std::fprintf(stderr, "runicorn viewer: run %s: no data from its writers for %lld s; released (it will show as failed)\n",
                 id.c_str(), static_cast<long long>(std::chrono::duration_cast<std::chrono::seconds>(lease).count()));
    ++expired;
  }
  return expired;
}

Result<IngestOutcome> JournalReceiver::Append(std::string_view run_id, std::string_view stream, uint64_t offset,
                                              std::string_view bytes) {
  RUNTRACK_RETURN_IF_ERROR(ValidateRunId(run_id));
  RUNTRACK_RETURN_IF_ERROR(ValidateJournalStream(stream));
  // Verified before anything is touched: a bad body never reaches the disk.
  RUNTRACK_ASSIGN_OR_RETURN(remote::FrameScan scan, remote::ScanFrames(bytes, offset));
  if (!scan.stop_reason.empty() || scan.valid_end != offset + bytes.size())
    return Status::InvalidArgument(fmt::format("ingest body refused: {}", scan.stop_reason));
  if (journal::BeginsWithCompactionMarker(bytes, offset))
    return Status::FailedPrecondition(fmt::format(
        "run {}: this journal was compacted where it was written (its points are in that store's sealed "
        "segments, not in the journal), so it cannot be shipped",
        run_id));
  if (bytes.empty()) {
    // A probe of a stream this store has no file of writes nothing (no run folder, no empty
    // journal, no lock or marker): its length is 0. So a pull that asks first and is then
    // refused (a bad or compacted remote journal) leaves no trace of the run here.
    std::error_code ec;
    if (!fs::exists(impl_->layout.stream_journal_path(run_id, stream), ec) && !ec)
      return IngestOutcome{offset != 0, 0};
  }

  std::shared_ptr<RunSink> run = impl_->RunFor(run_id);
  std::lock_guard l(run->mu);
  return impl_->AppendLocked(run_id, stream, offset, bytes, scan, *run);
}

Result<CompactedInstall> JournalReceiver::InstallCompactedRun(std::string_view run_id, const CompactedRunFiles& run) {
  RUNTRACK_RETURN_IF_ERROR(ValidateRunId(run_id));
  std::shared_ptr<RunSink> sink = impl_->RunFor(run_id);
  std::lock_guard l(sink->mu);
  // The files it has open are about to be replaced: closed once the new ones passed their checks,
  // loaded again by the next Append.
  return runtrack::InstallCompactedRun(impl_->layout, run_id, run, [&] {
    sink->CloseAll();
    sink->complete_since.reset();
  });
}

Result<IngestOutcome> JournalReceiver::Impl::AppendLocked(std::string_view run_id, std::string_view stream,
                                                          uint64_t offset, std::string_view bytes,
                                                          const remote::FrameScan& scan, RunSink& run) {
  // A run let go (complete, or its lease ran out) is taken up again: a resend, a late rank or a
  // writer that came back.
  auto known = run.streams.find(stream);
  const bool resend_of_ended = known != run.streams.end() && known->second->ended;
  if (!run.open || (!run.lock.held() && !resend_of_ended)) {
    RUNTRACK_RETURN_IF_ERROR(OpenRun(run_id, stream, run));
  } else if (known == run.streams.end()) {  // another process of a run already arriving
    RUNTRACK_RETURN_IF_ERROR(OpenStream(run_id, stream, run));
    RUNTRACK_RETURN_IF_ERROR(util::SyncDir(layout.run_dir(run_id)));
    run.complete_since.reset();  // it has not ended: the run is open again
  }
  run.last_put = Clock::now();
  StreamSink& sink = *run.streams.find(stream)->second;
  const fs::path path = layout.stream_journal_path(run_id, stream);
  if (sink.ended) {  // only a resend can match
    // Compacted since it ended: its points are no longer in the file, so a resend below the
    // original length is acknowledged without comparing bytes (it was compared when it arrived).
    auto compacted = journal::ReadCompactionMarker(path);
    if (!compacted.ok()) return compacted.status();
    if (*compacted) {
      const uint64_t original = (*compacted)->original_length;
      if (offset > original) return IngestOutcome{true, original};
      if (offset + bytes.size() > original)
        return Status::FailedPrecondition(fmt::format("run {} has ended: nothing may follow its final record", run_id));
      Count(0, bytes.size());
      return IngestOutcome{false, original};
    }
    if (offset > sink.size) return IngestOutcome{true, sink.size};
    if (offset + bytes.size() > sink.size)
      return Status::FailedPrecondition(fmt::format("run {}{} has ended: nothing may follow its final record", run_id,
                                                    stream == kDefaultJournalStream ? "" : fmt::format(" stream {}", stream)));
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return util::ErrnoStatus("open", path);
    auto stored = ReadRange(fd, offset, bytes.size(), path);
    ::close(fd);
    if (!stored.ok()) return stored.status();
    if (*stored != bytes)
      return Status::FailedPrecondition(fmt::format(
          "run {}: bytes at offset {} differ from the server's copy of its journal", run_id, offset));
    Count(0, bytes.size());
    return IngestOutcome{false, sink.size};
  }
  const uint64_t have = sink.size;
  const uint64_t end = offset + bytes.size();
  if (offset > have) {
    Count(0, 0);
    return IngestOutcome{true, have};
  }

  // The part the server already has must be the same bytes: a resend, not another journal.
  uint64_t overlap_end = std::min(end, have);
  if (overlap_end > offset) {
    RUNTRACK_ASSIGN_OR_RETURN(std::string stored, ReadRange(sink.fd, offset, overlap_end - offset, path));
    if (stored != bytes.substr(0, overlap_end - offset))
      return Status::FailedPrecondition(fmt::format(
          "run {}: bytes at offset {} differ from the server's copy of its journal", run_id, offset));
  }
  if (end <= have) {
    Count(0, bytes.size());
    return IngestOutcome{false, have};
  }

  // The new part must start on a record boundary of the body (it does when the overlap matched a
  // copy made of the same records; otherwise the journals differ).
  bool aligned = have == offset;
  for (uint64_t b : scan.boundaries) aligned = aligned || b == have;
  if (!aligned)
    return Status::FailedPrecondition(
        fmt::format("run {}: the server's copy ends at {}, inside a record of this body", run_id, have));
  std::string_view fresh = bytes.substr(have - offset);
  Status written = util::PwriteAll(sink.fd, fresh.data(), fresh.size(), have, path);
  if (written.ok() && ::fdatasync(sink.fd) != 0) written = util::ErrnoStatus("fdatasync", path);
  if (!written.ok()) {
    // What was written (if anything) is not acknowledged; reopening cuts it off again.
    run.CloseAll();
    return written;
  }
  sink.size = end;
  Count(end - have, have - offset);
  if (scan.has_status) {
    sink.ended = true;
    sink.Close();
    if (run.Complete()) {  // the run has ended: free its lock, now or after the linger
      std::chrono::milliseconds linger;
      {
        std::lock_guard g(mu);
        linger = options.linger;
      }
      if (linger.count() <= 0) Complete(run_id, run);
      else run.complete_since = Clock::now();
    }
  }
  return IngestOutcome{false, end};
}

}  // namespace runtrack
