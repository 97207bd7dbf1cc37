#include "service/ssh/pull_compacted.h"

#include <algorithm>
#include <atomic>
#include <filesystem>

namespace runicorn::service::ssh {
namespace fs = std::filesystem;
using runtrack::Result;
using runtrack::Status;

namespace {

// The journal header and the first record's frame header and type: enough to tell a compacted
// journal (its Compacted record is read on in a second request).
constexpr uint64_t kHeadRead = 21;

// The local journal is compacted (installed by an earlier pull, or compacted by the local catalog
// from the whole original); `*whole`: with `remote_size` bytes, as the remote one, and every
// sealed file it names present at its size, so there is nothing to fetch. Compacted journals are
// never appended to, so equal lengths mean the same content.
bool LocalCompacted(const runtrack::StoreLayout& local, const std::string& run_id, uint64_t remote_size, bool* whole) {
  *whole = false;
  uint64_t size = 0;
  auto head = runtrack::ReadLocalCompactedHead(local, run_id, &size);
  if (!head.ok() || !*head) return false;
  if (size != remote_size) return true;
  std::error_code ec;
  for (const auto& f : (*head)->files) {
    const uint64_t have = fs::file_size(local.segments_dir(run_id) / f.name, ec);
    if (ec || have != f.size) return true;  // lost since: installed again
  }
  *whole = true;
  return true;
}

Status Named(const Status& s, const std::string& what) { return Status(s.code(), what + ": " + s.message()); }

std::atomic<uint64_t> largest_sealed_read{0};

void NoteSealedRead(uint64_t n) {
  uint64_t seen = largest_sealed_read.load(std::memory_order_relaxed);
  while (n > seen && !largest_sealed_read.compare_exchange_weak(seen, n, std::memory_order_relaxed)) {
  }
}

}  // namespace

uint64_t LargestSealedFileReadForTesting() { return largest_sealed_read.load(std::memory_order_relaxed); }

Result<bool> PullIfCompacted(SshSession& session, const runtrack::StoreLayout& remote, const std::string& run_id,
                             const std::string& path, uint64_t remote_size, uint64_t local_length,
                             const CompactedRunTarget& target, PulledStream* out) {
  out->remote_size = remote_size;
  out->local_before = out->local_after = local_length;
  bool whole = false;
  const bool local_compacted = LocalCompacted(target.local, run_id, remote_size, &whole);
  if (whole) {
    out->compacted = true;
    return true;
  }
  // As long as the remote journal: nothing new, as for any run — unless the local copy is a prefix
  // (still arriving, or judged crashed) and the remote journal a compacted one of exactly its
  // length. Told apart by content: a local copy whose last record is the run's final Status record
  // is whole (no read); any other is looked at (the remote head, below).
  std::error_code ec;
  if (local_length == remote_size && !fs::exists(target.local.receiving_marker(run_id), ec)) {
    auto ended = runtrack::LocalJournalEnded(target.local, run_id);
    if (!ended.ok() || *ended) return false;
  }

  // The head of the remote journal tells: a Compacted record first, or an ordinary journal.
  RUNTRACK_ASSIGN_OR_RETURN(std::string journal, session.ReadRange(path, 0, std::min(remote_size, kHeadRead)));
  out->bytes_fetched += journal.size();
  uint64_t need = 0;
  auto head = runtrack::ReadCompactedJournalHead(journal, &need);
  if (head.ok() && !*head && need > journal.size() && need <= remote_size) {
    RUNTRACK_ASSIGN_OR_RETURN(std::string more, session.ReadRange(path, journal.size(), need - journal.size()));
    out->bytes_fetched += more.size();
    journal += more;
    head = runtrack::ReadCompactedJournalHead(journal, &need);
  }
  if (!head.ok()) return Named(head.status(), "the remote journal");
  if (!*head) return false;
  const runtrack::CompactedJournalHead& h = **head;
  out->compacted = true;
  // The original journal to its end: complete here already (the local catalog compacts it in turn).
  if (local_length == h.original_length && !local_compacted) return true;
  if (local_length > h.original_length)
    return Status::FailedPrecondition("the local copy (" + std::to_string(local_length) +
                                      " bytes) is longer than the remote journal was before compaction (" +
                                      std::to_string(h.original_length) + "): not the same run");

  // Everything else travels whole: the rest of the journal, then each sealed file it names (one
  // byte more is asked for, so a file longer than recorded is caught by its size).
  if (journal.size() < remote_size) {
    RUNTRACK_ASSIGN_OR_RETURN(std::string rest, session.ReadRange(path, journal.size(), remote_size - journal.size()));
    out->bytes_fetched += rest.size();
    journal += rest;
  }
  if (journal.size() != remote_size)
    return Status::IOError("the remote journal is " + std::to_string(journal.size()) + " bytes now, " +
                           std::to_string(remote_size) + " when listed");
  runtrack::CompactedRunFiles run;
  run.journal = std::move(journal);
  const std::string dir = remote.segments_dir(run_id).generic_string();
  // Each file streams to a stage file in the run's local folder; the stage removes whatever was
  // not installed when it goes (a refused run leaves nothing here).
  RUNTRACK_ASSIGN_OR_RETURN(std::unique_ptr<runtrack::CompactedRunStage> stage,
                            runtrack::CompactedRunStage::Begin(target.local, run_id));
  for (const auto& f : h.files) {
    RUNTRACK_RETURN_IF_ERROR(stage->Start(f.name, f.size + 1));
    const uint64_t want = f.size + 1;  // one byte more than recorded: a longer file is caught by its size
    for (uint64_t at = 0; at < want;) {
      const uint64_t n = std::min(kSealedFileReadBytes, want - at);
      auto piece = session.ReadRange(dir + "/" + f.name, at, n);
      if (!piece.ok()) return Named(piece.status(), "segments/" + f.name);
      NoteSealedRead(piece->size());
      out->bytes_fetched += piece->size();
      RUNTRACK_RETURN_IF_ERROR(stage->Append(*piece));
      at += piece->size();
      if (piece->size() < n) break;  // the file's end
    }
    ++out->files_fetched;
    RUNTRACK_ASSIGN_OR_RETURN(runtrack::CompactedRunFile staged, stage->Finish());
    run.files.push_back(std::move(staged));
  }
  RUNTRACK_ASSIGN_OR_RETURN(runtrack::CompactedInstall installed, target.install(run_id, run));
  (void)installed;
  out->local_after = h.original_length;
  return true;
}

}  // namespace runicorn::service::ssh
