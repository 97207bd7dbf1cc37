// Sealed confirmation (docs/REMOTE.md): after the server acknowledged a finished run's whole
// journal, the writer asks `GET /api/ingest/{run}/state` whether the run is durable beyond the disk
// of the replica that received it. Until it is, the writer keeps the run (its journal uncompacted,
// the run checked again by the next shipper on the root or `runicorn sync`), because a team
// replica that dies before sealing takes the only other copy of the acknowledged tail with it.
#pragma once

#include <chrono>
#include <string_view>

#include "remote/ingest_client.h"
#include "runtrack/layout.h"
#include "runtrack/remote.h"
#include "runtrack/status.h"

namespace runtrack::remote {

struct ConfirmOutcome {
  enum Kind {
    kConfirmed,  // sealed beyond the owner's disk, or a server that offers no sealing: recorded
    kResend,     // the server has less than was acknowledged (a replica took the run over): ship again
    kNotFinal,   // the server's copy has not ended (a writer that died): nothing to confirm now
    kPending,    // acknowledged, not sealed yet: ask again later
    kRetry,      // transient failure (as ShipStep's)
    kFatal,      // refused (bad token, damaged local files)
  } kind = kPending;
  Status error;                              // kRetry / kFatal: why
  std::chrono::milliseconds retry_after{0};  // kRetry: the server's Retry-After
};

// Writes <run dir>/ship-confirmed = 0 unless it exists: the run is one this node ships, and from now
// on it counts as unconfirmed until the server confirms it (runs shipped by an older build have no
// such file and are never asked about).
Status MarkAwaitingConfirmation(const StoreLayout& layout, std::string_view run_id);

// One question to the server about a run whose journal it acknowledged whole (<run dir>/shipped).
// When the server's durable offset is below the acknowledged one, an empty PUT at that offset lets
// the receiver decide (409 expected_offset rewinds <run dir>/shipped: kResend; an acknowledgement
// means its copy is whole, e.g. compacted there). kConfirmed writes <run dir>/ship-confirmed.
ConfirmOutcome ConfirmStep(const StoreLayout& layout, std::string_view run_id, IngestClient& client,
                           ShipProgress* progress);

}  // namespace runtrack::remote
