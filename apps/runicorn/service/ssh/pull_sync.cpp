#include "service/ssh/pull_sync.h"

#include <algorithm>
#include <filesystem>

#include "runtrack/layout.h"
#include "runtrack/remote.h"
#include "runtrack/validation.h"
#include "service/ssh/pull_compacted.h"

namespace runicorn::service::ssh {
using runtrack::Result;
using runtrack::Status;

namespace {

constexpr uint64_t kHeaderSize = 12;          // docs/FORMATS.md: magic (8) + format version (4)
constexpr uint64_t kRecordHeaderSize = 8;     // u32 length + u32 crc32c
constexpr uint64_t kMaxRecordLength = 64u << 20;

uint32_t LoadU32(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return uint32_t{u[0]} | uint32_t{u[1]} << 8 | uint32_t{u[2]} << 16 | uint32_t{u[3]} << 24;
}

// Where the last whole record of `bytes` (at `offset` in the journal) ends, and the size of the
// record cut short after it (0: none). Only lengths are looked at: checking the frames is the
// receiver's job, and a bad length is left in so the receiver reports it.
struct Cut {
  uint64_t whole = 0;
  uint64_t next_record = 0;
  bool bad = false;
};
Cut CutAtWholeRecords(std::string_view bytes, uint64_t offset) {
  Cut c;
  uint64_t at = 0;
  if (offset == 0) {
    if (bytes.size() < kHeaderSize) return c;
    at = kHeaderSize;
  }
  c.whole = at;
  while (at < bytes.size()) {
    if (bytes.size() - at < kRecordHeaderSize) break;
    const uint32_t length = LoadU32(bytes.data() + at);
    if (length == 0 || length > kMaxRecordLength) {
      c.bad = true;
      break;
    }
    if (at + kRecordHeaderSize + length > bytes.size()) {
      c.next_record = kRecordHeaderSize + length;
      break;
    }
    at += kRecordHeaderSize + length;
    c.whole = at;
  }
  return c;
}

// Pulls one stream: the remote file `path` (`remote_size` bytes when listed) into the local copy
// of (run_id, stream), from the local copy's durable length on.
Status PullStream(SshSession& session, const std::string& path, const std::string& run_id, const std::string& stream,
                  uint64_t remote_size, const JournalAppender& append, const PullSyncOptions& options,
                  PulledStream* out) {
  out->stream = stream;
  out->remote_size = remote_size;
  RUNTRACK_ASSIGN_OR_RETURN(uint64_t local, append(run_id, stream, 0, {}));
  out->local_before = out->local_after = local;
  if (local > remote_size)
    return Status::FailedPrecondition("the local copy (" + std::to_string(local) + " bytes) is longer than the remote journal (" +
                                      std::to_string(remote_size) + "): not the same run");
  uint64_t want = options.batch_bytes;
  while (local < remote_size) {
    RUNTRACK_ASSIGN_OR_RETURN(std::string bytes, session.ReadRange(path, local, std::min(want, remote_size - local)));
    out->bytes_fetched += bytes.size();
    if (bytes.empty()) break;  // truncated remotely since the listing
    const Cut cut = CutAtWholeRecords(bytes, local);
    if (cut.bad) {
      // A length no writer produces: the receiver, which verifies frames, says what is wrong.
      RUNTRACK_ASSIGN_OR_RETURN(uint64_t ignored, append(run_id, stream, local, bytes));
      (void)ignored;
      return Status::Corruption("bad record length in the remote journal at offset " + std::to_string(local + cut.whole));
    }
    if (cut.whole == 0) {
      // No whole record in this read: a record longer than the read (read it whole), or a writer
      // mid-append (the rest comes next time).
      if (cut.next_record > bytes.size() && local + cut.next_record <= remote_size) {
        want = cut.next_record;
        continue;
      }
      break;
    }
    RUNTRACK_ASSIGN_OR_RETURN(uint64_t durable,
                              append(run_id, stream, local, std::string_view(bytes).substr(0, cut.whole)));
    if (durable <= local) break;
    local = durable;
    out->local_after = local;
    // A record running past the remote end is a torn tail: do not read it again now.
    if (cut.next_record > 0 && local + cut.next_record > remote_size) break;
  }
  return Status::Ok();
}

struct RemoteStream {
  std::string stream;
  std::string path;
  uint64_t size = 0;
};

// The journal files of one remote run, from one listing of its folder. Stream files whose name is
// no valid stream are reported in `skipped` and left out.
Result<std::vector<RemoteStream>> ListRemoteStreams(SshSession& session, const runtrack::StoreLayout& remote,
                                                    const std::string& run_id, std::vector<std::string>* skipped,
                                                    bool* has_segments) {
  const std::string dir = remote.run_dir(run_id).generic_string();
  RUNTRACK_ASSIGN_OR_RETURN(auto entries, session.ListDirectory(dir));
  const std::string journal = remote.journal_path(run_id).filename().string();
  const std::string marker = remote.shipping_stream_path(run_id).filename().string();
  const std::string_view prefix = runtrack::StoreLayout::journal_stream_prefix();
  std::vector<RemoteStream> streams;
  bool has_marker = false;
  const std::string segments = remote.segments_dir(run_id).filename().string();
  for (const auto& e : entries) {
    if (e.is_dir && e.name == segments) *has_segments = true;
    if (e.is_dir) continue;
    if (e.name == marker) has_marker = true;
    if (e.name == journal) {
      streams.push_back({std::string(runtrack::kDefaultJournalStream), dir + "/" + e.name, e.size});
    } else if (e.name.size() > prefix.size() && e.name.compare(0, prefix.size(), prefix) == 0) {
      std::string name = e.name.substr(prefix.size());
      if (Status v = runtrack::ValidateJournalStream(name); !v.ok()) {
        skipped->push_back(run_id + "/" + e.name + ": " + v.message());
        continue;
      }
      streams.push_back({std::move(name), dir + "/" + e.name, e.size});
    }
  }
  if (has_marker) {
    // A writer's node: its `journal` ships as the stream its `stream` file names (rank S of a
    // multi-process run), so it is mirrored as that stream.
    RUNTRACK_ASSIGN_OR_RETURN(std::string text,
                              session.ReadRange(remote.shipping_stream_path(run_id).generic_string(), 0, 128));
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    if (Status v = runtrack::ValidateJournalStream(text); !v.ok())
      return Status::Corruption("the run's stream file: " + v.message());
    for (auto& s : streams)
      if (s.path == dir + "/" + journal) s.stream = text;
  }
  // Stream "0" last: the receiver lets a run go once stream "0" and every stream it has seen so
  // far ended, so the other ranks must be there before rank 0's final record arrives.
  std::sort(streams.begin(), streams.end(), [](const RemoteStream& a, const RemoteStream& b) {
    const bool a0 = a.stream == runtrack::kDefaultJournalStream, b0 = b.stream == runtrack::kDefaultJournalStream;
    return a0 != b0 ? b0 : a.stream < b.stream;
  });
  for (size_t i = 1; i < streams.size(); ++i)
    if (streams[i].stream == streams[i - 1].stream)
      return Status::Corruption("two remote files hold stream '" + streams[i].stream + "'");
  if (streams.empty()) return Status::NotFound("no remote file '" + remote.journal_path(run_id).generic_string() + "'");
  return streams;
}

// Run-level failures (the folder cannot be listed, a lone journal fails) are returned; a failing
// stream of a multi-stream run goes to `skipped` and the other streams carry on.
Status PullRun(SshSession& session, const runtrack::StoreLayout& remote, const std::string& run_id,
               const JournalAppender& append, const PullSyncOptions& options, PulledRun* out,
               std::vector<std::string>* skipped) {
  bool has_segments = false;
  RUNTRACK_ASSIGN_OR_RETURN(std::vector<RemoteStream> streams,
                            ListRemoteStreams(session, remote, run_id, skipped, &has_segments));
  // Only a sealed single-journal run can have been compacted (pull_compacted.h).
  const bool maybe_compacted = options.compacted && has_segments && streams.size() == 1 &&
                               streams[0].stream == runtrack::kDefaultJournalStream;
  for (const auto& s : streams) {
    PulledStream pulled;
    pulled.stream = s.stream;
    if (maybe_compacted) {
      // The receiver's probe would create the run here: not for a run that may be refused whole.
      std::error_code ec;
      uint64_t local = 0;
      if (std::filesystem::exists(options.compacted->local.journal_path(run_id), ec)) {
        RUNTRACK_ASSIGN_OR_RETURN(local, append(run_id, s.stream, 0, {}));
      }
      auto handled = PullIfCompacted(session, remote, run_id, s.path, s.size, local, *options.compacted, &pulled);
      if (!handled.ok()) {
        out->bytes_fetched += pulled.bytes_fetched;
        return handled.status();  // the run is one unit: "<id>: <why>"
      }
      if (*handled) {
        out->bytes_fetched += pulled.bytes_fetched;
        out->local_before += pulled.local_before;
        out->local_after += pulled.local_after;
        out->remote_size += pulled.remote_size;
        out->streams.push_back(std::move(pulled));
        continue;
      }
    }
    // (pulled.bytes_fetched already counts the head read that told it was not compacted.)
    Status st = PullStream(session, s.path, run_id, s.stream, s.size, append, options, &pulled);
    out->bytes_fetched += pulled.bytes_fetched;
    if (!st.ok()) {
      if (streams.size() == 1) return st;  // reported as "<id>: <why>", as for any failed run
      skipped->push_back(run_id + " stream " + s.stream + ": " + st.message());
      continue;
    }
    out->local_before += pulled.local_before;
    out->local_after += pulled.local_after;
    out->remote_size += pulled.remote_size;
    out->streams.push_back(std::move(pulled));
  }
  // Reported "0" first, then by name (the order of GET /api/runs/{id}/streams).
  std::sort(out->streams.begin(), out->streams.end(), [](const PulledStream& a, const PulledStream& b) {
    const bool a0 = a.stream == runtrack::kDefaultJournalStream, b0 = b.stream == runtrack::kDefaultJournalStream;
    return a0 != b0 ? a0 : a.stream < b.stream;
  });
  return Status::Ok();
}

}  // namespace

Result<PullSyncReport> PullSync(SshSession& session, const std::string& remote_root, const JournalAppender& append,
                                const PullSyncOptions& options) {
  if (remote_root.empty()) return Status::InvalidArgument("remote_root is required");
  const runtrack::StoreLayout remote(remote_root);
  std::vector<std::string> ids = options.run_ids;
  if (ids.empty()) {
    RUNTRACK_ASSIGN_OR_RETURN(auto entries, session.ListDirectory(remote.runs_dir().generic_string()));
    for (const auto& e : entries)
      if (e.is_dir) ids.push_back(e.name);
  }
  PullSyncReport report;
  for (const auto& id : ids) {
    if (Status v = runtrack::ValidateRunId(id); !v.ok()) {
      report.skipped.push_back(id + ": " + v.message());
      continue;
    }
    PulledRun run;
    run.run_id = id;
    Status st = PullRun(session, remote, id, append, options, &run, &report.skipped);
    report.bytes_fetched += run.bytes_fetched;
    if (!st.ok()) {
      report.skipped.push_back(id + ": " + st.message());
      continue;
    }
    if (!run.streams.empty()) report.runs.push_back(std::move(run));
  }
  return report;
}

}  // namespace runicorn::service::ssh
