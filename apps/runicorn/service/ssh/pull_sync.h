// Pull sync: mirrors the run journals of a store on an SSH host into the local store, with the
// offset idea of journal shipping (docs/REMOTE.md) turned around. For each remote run, the local
// copy's durable length is the offset; only the remote bytes past it are read (SFTP), cut at the
// last whole record (a live remote writer may be mid-append) and handed to the journal receiver,
// which verifies every frame (CRC) before appending. So a sync is incremental and resumable: one
// that is killed half-way leaves whole verified records, and the next one fetches the rest.
//
// Every stream of a multi-process run is mirrored (docs/REMOTE.md "Streams"): `journal` is stream
// "0" (or, on a writer's node, the stream named in the run's `stream` file) and `journal.<S>` is
// stream S; each stream has its own offset, so the protocol above holds per (run, stream).
//
// Remote run ids and stream names are validated (ValidateRunId, ValidateJournalStream) before any
// local path is built from them, so a hostile remote listing cannot place a file outside the local
// store's runs folder.
//
// A run whose journal the remote store compacted (docs/FORMATS.md "Compacted journal": its points
// are only in the remote run's sealed segment and LOD files) cannot be mirrored by offsets. With
// PullSyncOptions::compacted set, it is brought over as one unit instead (pull_compacted.h): the
// compacted journal and every file its Compacted record names, checked whole and installed
// atomically, replacing a partly pulled local copy (docs/REMOTE.md "Pull sync of a compacted run").
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtrack/compacted_run.h"
#include "runtrack/layout.h"
#include "runtrack/status.h"
#include "service/ssh/ssh_session.h"

namespace runicorn::service::ssh {

// Appends verified journal bytes at `offset` of one stream of a local run and returns that
// stream's durable length (empty bytes: only returns it). The viewer passes its IngestService, so
// pulled runs and shipped runs share one receiver (and its per-run locks).
using JournalAppender = std::function<runtrack::Result<uint64_t>(std::string_view run_id, std::string_view stream,
                                                                 uint64_t offset, std::string_view bytes)>;

struct PulledStream {
  std::string stream;          // "0" is the run's journal
  uint64_t local_before = 0;   // local length of this stream before this sync
  uint64_t local_after = 0;    // ... and after
  uint64_t remote_size = 0;    // remote length seen
  uint64_t bytes_fetched = 0;  // bytes read over SFTP for this stream
  // A run compacted remotely: true, and how many of its sealed files were fetched and installed
  // (0 when the local store already had it whole). local_after is then the journal's original
  // length (what the receiver answers for a compacted journal), remote_size the compacted file's.
  bool compacted = false;
  uint64_t files_fetched = 0;
};

struct PulledRun {
  std::string run_id;
  // Sums over `streams` (for a single-process run: its journal's figures).
  uint64_t local_before = 0;
  uint64_t local_after = 0;
  uint64_t remote_size = 0;
  uint64_t bytes_fetched = 0;
  std::vector<PulledStream> streams;  // that synced without error; "0" first, then by name
};

struct PullSyncReport {
  std::vector<PulledRun> runs;
  uint64_t bytes_fetched = 0;
  // Remote entries not synced, with why: "<name>: <reason>", or "<run_id> stream <S>: <reason>"
  // for one stream of a run (the run's other streams are synced and listed in `runs`).
  std::vector<std::string> skipped;
};

// Installs a run compacted on the remote host into the local store (checked whole, atomically;
// runtrack/compacted_run.h). The viewer passes its IngestService, so the install takes the same
// per-run lock as appends (IngestInstaller in remote_service.h).
using CompactedRunInstaller = std::function<runtrack::Result<runtrack::CompactedInstall>(
    std::string_view run_id, const runtrack::CompactedRunFiles& run)>;

struct CompactedRunTarget {
  runtrack::StoreLayout local;  // only read: a run installed before is not fetched again
  CompactedRunInstaller install;
};

struct PullSyncOptions {
  uint64_t batch_bytes = 4u << 20;  // SFTP read size (a longer record is read whole)
  // Empty: every run of the remote store; otherwise only these ids.
  std::vector<std::string> run_ids;
  // Unset: a run compacted remotely is skipped with the receiver's error ("this journal was
  // compacted where it was written ...").
  std::optional<CompactedRunTarget> compacted;
};

// `remote_root` is the remote store's root (as the SSH server resolves it: relative to home).
runtrack::Result<PullSyncReport> PullSync(SshSession& session, const std::string& remote_root,
                                          const JournalAppender& append, const PullSyncOptions& options = {});

}  // namespace runicorn::service::ssh
