// Journal shipping, the receiving end (docs/REMOTE.md): a writer on another machine sends the
// bytes of its run's journal; they land in this store's run folder, where the indexer reads them
// like a local run's.
//
// Unlike the other services this one keeps state: the JournalReceiver's open journals and
// per-run locks, which serialise concurrent appends to one run.
//
// Thread safety: any number of threads at once.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>

#include "runtrack/layout.h"
#include "runtrack/remote.h"
#include "runtrack/status.h"
#include "service/run_sealing.h"

namespace runicorn::service {

struct IngestAck {
  bool gap = false;      // true: resend from `offset`
  uint64_t offset = 0;   // the durable length of the server's copy
};

// GET /api/ingest/{run}/state (docs/REMOTE.md "Sealed confirmation"): what a writer needs to know
// before it stops keeping a finished run for resends.
struct IngestState {
  uint64_t durable_offset = 0;  // this server's copy of the stream (a compacted journal: its original length)
  bool seal_required = false;   // a team back end: the run counts as safe only once `sealed`
  RunSealState seal;            // only with seal_required
};

class IngestService {
 public:
  explicit IngestService(const runtrack::StoreLayout& layout) : layout_(layout), receiver_(layout) {}

  // Largest decompressed body accepted: the biggest record plus its frame and the header.
  static constexpr size_t kMaxRawBytes = (64u << 20) + 64;

  // `offset_text` is the raw ?offset= value; `body` the zstd frame (empty: a probe for the
  // durable offset). InvalidArgument for a bad id, stream, offset or body.
  runtrack::Result<IngestAck> Ingest(std::string_view run_id, std::string_view stream,
                                     std::string_view offset_text, std::string_view body);

  // The stream's durable length here and, with a team back end, whether the run is sealed and
  // published. InvalidArgument for a bad id or stream; NotFound (404) when this server has no copy
  // of the stream (a writer then resends: a replica that took the run over has nothing of it).
  runtrack::Result<IngestState> State(std::string_view run_id, std::string_view stream) const;
  // A team back end's sealing (viewer_command.cpp); set before serving, never changed after.
  void SetSealing(std::shared_ptr<RunSealing> sealing) { sealing_ = std::move(sealing); }

  // How long a run still arriving may stay silent before it is judged dead (ReceiverOptions::lease;
  // 0: never), and the check itself (a background thread runs it every second).
  void SetLease(std::chrono::milliseconds lease) { receiver_.SetLease(lease); }
  void SetLinger(std::chrono::milliseconds linger) { receiver_.SetLinger(linger); }
  int ExpireLeases() { return receiver_.ExpireLeases(); }
  runtrack::JournalReceiver::Stats stats() const { return receiver_.stats(); }
  // A run compacted in another store, installed over this store's copy (SSH pull sync of a
  // compacted run, docs/REMOTE.md): under the receiver's lock of that run.
  runtrack::Result<runtrack::CompactedInstall> InstallCompactedRun(std::string_view run_id,
                                                                   const runtrack::CompactedRunFiles& run) {
    return receiver_.InstallCompactedRun(run_id, run);
  }

 private:
  runtrack::StoreLayout layout_;
  runtrack::JournalReceiver receiver_;
  std::shared_ptr<RunSealing> sealing_;
};

}  // namespace runicorn::service
