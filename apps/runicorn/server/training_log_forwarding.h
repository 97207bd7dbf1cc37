// A training job's log through any replica (docs/SCALE-OUT.md "Training on the team back end"): a
// job runs on the replica that accepted its POST /api/v1/train, and its log (the trainer's output,
// kept by that replica's task runner) is only on that replica's disk. Another replica forwards
// GET /api/training/jobs/{id}/log to the owner's --replica-url, as the job board records it
// (service::BoardJob::replica_url), through ReadForwarding::ForwardTo: the same end-to-end headers
// (the caller's Authorization included: the API pipeline checked it here first, so a bad token
// is refused by the replica it reached and never forwarded), the same in-flight slots, the
// owner's status and headers as they are, and its body streamed through one bounded buffer.
//
// When the log cannot come from the owner:
//   the owner is gone (its board presence ended)   409 "Training job ID ran on replica R, which is gone: ..."
//                                                  (the status route reads such a job `failed`)
//   the owner has no --replica-url                 409 "... which was started without --replica-url: ..."
//   this replica has no --replica-url              409 naming the owner's URL (it does not forward)
//   the owner does not answer                      503 + Retry-After (ForwardUnavailable); re-checked
//                                                  first: an owner that died meanwhile is the 409 above
//   the request was forwarded here already         503 + Retry-After: never forwarded a second time
//                                                  (X-Runicorn-Forwarded-By), so replicas cannot loop
//   the board cannot be asked                      the training service's own answer (its 503)
//
// Thread safety: Route from any number of threads.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "server/http_types.h"
#include "service/training_job_board.h"

namespace runicorn::server {

class ReadForwarding;  // server/read_forwarding.h

class TrainingLogForwarding {
 public:
  // `reads` null: this replica was started without --replica-url and forwards nothing.
  TrainingLogForwarding(std::shared_ptr<service::TrainingJobBoard> board, std::shared_ptr<ReadForwarding> reads);

  // For a job the training service says another replica runs (TrainingService::ReadJobLog's
  // FailedPrecondition): the answer to send (see above), or nullopt when the board does not place
  // the job on another replica (or cannot be asked): then the service's own answer stands.
  std::optional<Response> Route(const Request& req, const std::string& task_id) const;

 private:
  std::shared_ptr<service::TrainingJobBoard> board_;
  std::shared_ptr<ReadForwarding> reads_;
};

}  // namespace runicorn::server
