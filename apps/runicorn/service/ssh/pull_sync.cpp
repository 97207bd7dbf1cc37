#include "service/ssh/pull_sync.h"

#include <algorithm>

#include "runtrack/layout.h"
#include "runtrack/validation.h"

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

Status PullRun(SshSession& session, const runtrack::StoreLayout& remote, const std::string& run_id,
               const JournalAppender& append, const PullSyncOptions& options, PulledRun* out) {
  const std::string path = remote.journal_path(run_id).generic_string();
  RUNTRACK_ASSIGN_OR_RETURN(RemoteEntry st, session.Stat(path));
  out->remote_size = st.size;
  RUNTRACK_ASSIGN_OR_RETURN(uint64_t local, append(run_id, 0, {}));
  out->local_before = out->local_after = local;
  if (local > st.size)
    return Status::FailedPrecondition("the local copy (" + std::to_string(local) + " bytes) is longer than the remote journal (" +
                                      std::to_string(st.size) + "): not the same run");
  uint64_t want = options.batch_bytes;
  while (local < st.size) {
    RUNTRACK_ASSIGN_OR_RETURN(std::string bytes, session.ReadRange(path, local, std::min(want, st.size - local)));
    out->bytes_fetched += bytes.size();
    if (bytes.empty()) break;  // truncated remotely since the stat
    const Cut cut = CutAtWholeRecords(bytes, local);
    if (cut.bad) {
      // A length no writer produces: the receiver, which verifies frames, says what is wrong.
      RUNTRACK_ASSIGN_OR_RETURN(uint64_t ignored, append(run_id, local, bytes));
      (void)ignored;
      return Status::Corruption("bad record length in the remote journal at offset " + std::to_string(local + cut.whole));
    }
    if (cut.whole == 0) {
      // No whole record in this read: a record longer than the read (read it whole), or a writer
      // mid-append (the rest comes next time).
      if (cut.next_record > bytes.size() && local + cut.next_record <= st.size) {
        want = cut.next_record;
        continue;
      }
      break;
    }
    RUNTRACK_ASSIGN_OR_RETURN(uint64_t durable, append(run_id, local, std::string_view(bytes).substr(0, cut.whole)));
    if (durable <= local) break;
    local = durable;
    out->local_after = local;
    // A record running past the remote end is a torn tail: do not read it again now.
    if (cut.next_record > 0 && local + cut.next_record > st.size) break;
  }
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
    Status st = PullRun(session, remote, id, append, options, &run);
    report.bytes_fetched += run.bytes_fetched;
    if (!st.ok()) {
      report.skipped.push_back(id + ": " + st.message());
      continue;
    }
    report.runs.push_back(std::move(run));
  }
  return report;
}

}  // namespace runicorn::service::ssh
