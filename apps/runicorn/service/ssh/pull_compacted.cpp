#include "service/ssh/pull_compacted.h"

#include <algorithm>
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

}  // namespace

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
  // As long as the remote journal: nothing new, as for any run, unless the copy is still arriving
  // (then the remote journal may be a compacted one of exactly its length: looked at).
  std::error_code ec;
  if (local_length == remote_size && !fs::exists(target.local.receiving_marker(run_id), ec)) return false;

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
  for (const auto& f : h.files) {
    auto bytes = session.ReadRange(dir + "/" + f.name, 0, f.size + 1);
    if (!bytes.ok()) return Named(bytes.status(), "segments/" + f.name);
    out->bytes_fetched += bytes->size();
    ++out->files_fetched;
    run.files.push_back({f.name, std::move(*bytes)});
  }
  RUNTRACK_ASSIGN_OR_RETURN(runtrack::CompactedInstall installed, target.install(run_id, run));
  (void)installed;
  out->local_after = h.original_length;
  return true;
}

}  // namespace runicorn::service::ssh
