// One step of journal shipping: read what the server has not acknowledged, send one batch, record
// the answer. ShipRun (`runicorn sync`) and the JournalShipper thread both loop over it, so the
// online and the offline path are the same code (docs/REMOTE.md).
#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>

#include "remote/ingest_client.h"
#include "runtrack/layout.h"
#include "runtrack/remote.h"
#include "runtrack/status.h"

namespace runtrack::remote {

struct StepOutcome {
  enum Kind {
    kCaughtUp,  // the server has every whole record of the local journal
    kProgress,  // something moved (bytes acknowledged, or the offset corrected); step again
    kRetry,     // a transient failure: wait (at least `retry_after`) and step again
    kFatal,     // retrying cannot help (refused body, bad token, damaged local journal)
  } kind = kCaughtUp;
  Status error;                              // kRetry / kFatal: why
  std::chrono::milliseconds retry_after{0};  // kRetry: the server's Retry-After, if any
};

// `batch_bytes` may be halved (on 413). `progress` is updated (acknowledged, local, bytes_sent,
// requests).
StepOutcome ShipStep(const StoreLayout& layout, std::string_view run_id, IngestClient& client,
                     size_t* batch_bytes, ShipProgress* progress);

// An empty PUT at the acknowledged offset: renews the viewer's lease on a live run that has
// nothing new (ShipperOptions::heartbeat). kCaughtUp when answered 200, else as ShipStep.
StepOutcome ProbeStep(const StoreLayout& layout, std::string_view run_id, IngestClient& client,
                      ShipProgress* progress);

// What a PUT's answer means for the run: records an acknowledged offset (or the server's expected
// one after a gap) in <run dir>/shipped, halves `batch_bytes` on 413.
StepOutcome Answer(const StoreLayout& layout, std::string_view run_id, const IngestReply& reply,
                   size_t* batch_bytes, ShipProgress* progress);

// A reply that is not the success the caller expected (artifact, alias and version-state sends):
// kRetry for what may pass later (no answer, 408, 429, 5xx; with its Retry-After), kFatal for the
// rest; the error is "<what>: HTTP <status>: <the body's detail>".
StepOutcome FailedReply(const IngestReply& reply, std::string_view what);

// min(max, min * 2^failures) scaled by a random factor in [0.5, 1.5), and at least `floor`.
std::chrono::milliseconds Backoff(const ShipperOptions& options, int failures, std::chrono::milliseconds floor);

}  // namespace runtrack::remote
