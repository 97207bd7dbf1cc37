// Whether a shipped run is durable beyond the disk of the replica that received it
// (docs/SCALE-OUT.md "Finished runs"): a viewer with a team back end (--catalog + --objects) seals
// a finished run, puts its segments in the bucket and records them in the segment index, and only
// then tells the writer (GET /api/ingest/{run}/state) that it may stop keeping the run for resends.
// A single viewer has no RunSealing: the acknowledgement is all it offers, as before.
//
// Thread safety: implementations allow every method from any number of threads.
#pragma once

#include <string_view>

#include "runtrack/status.h"

namespace runicorn::service {

struct RunSealState {
  bool final = false;   // the run's status is final here and the stream's final record is in
  bool sealed = false;  // every point this replica holds of the run is sealed, in the bucket and indexed
};

class RunSealing {
 public:
  virtual ~RunSealing() = default;
  // An ingest appended bytes to the run: if they ended it, seal and publish it soon. Called on an
  // I/O thread, so it only notes the run; the work happens on the implementation's thread.
  virtual void Appended(std::string_view run_id) = 0;
  // The run's state as this replica sees it; NotFound when its catalog does not know the run.
  virtual runtrack::Result<RunSealState> State(std::string_view run_id, std::string_view stream) const = 0;
};

}  // namespace runicorn::service
