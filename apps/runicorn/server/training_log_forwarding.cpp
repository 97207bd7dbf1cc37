#include "server/training_log_forwarding.h"

#include <fmt/format.h>

#include "server/ingest_forwarding.h"
#include "server/read_forwarding.h"

namespace runicorn::server {

namespace {

// The owner's log went with its disk: the job exists (its status reads failed, or how it ended),
// so this is a conflict with the job's state, not an unknown id.
Response OwnerGone(const std::string& task_id, const service::BoardJob& job) {
  return Response::Error(409, fmt::format("Training job {} ran on replica {}, which is gone: its log was kept on that "
                                          "replica's disk and cannot be read from another replica",
                                          task_id, job.replica_id));
}

}  // namespace

TrainingLogForwarding::TrainingLogForwarding(std::shared_ptr<service::TrainingJobBoard> board,
                                             std::shared_ptr<ReadForwarding> reads)
    : board_(std::move(board)), reads_(std::move(reads)) {}

std::optional<Response> TrainingLogForwarding::Route(const Request& req, const std::string& task_id) const {
  auto job = board_->Get(task_id);
  if (!job.ok() || job->replica_id == board_->replica_id()) return std::nullopt;
  if (!job->owner_alive) return OwnerGone(task_id, *job);
  const std::string_view forwarded_by = req.Header(kForwardedByHeader);
  if (!forwarded_by.empty())
    return ForwardUnavailable(fmt::format(
        "the log of training job {} was forwarded here by replica {}, but replica {} runs the job; it is not "
        "forwarded again",
        task_id, forwarded_by.substr(0, 200), job->replica_id));
  if (job->replica_url.empty())
    return Response::Error(409, fmt::format("Training job {} runs on replica {}, which was started without "
                                            "--replica-url: no other replica can reach it, so its log is served only there",
                                            task_id, job->replica_id));
  if (!reads_)
    return Response::Error(409, fmt::format("Training job {} runs on replica {}: its log is kept on that replica's disk; "
                                            "read it at {} (this replica was started without --replica-url, so it "
                                            "does not forward)",
                                            task_id, job->replica_id, job->replica_url));
  const service::RunOwner owner{false, job->replica_id, job->replica_url};
  Response r = reads_->ForwardTo(req, owner, fmt::format("training job {} runs", task_id), "the job's replica");
  if (r.status != 503 || r.stream) return r;  // the owner's own answer (a 503 of its own streams)
  // The owner did not answer: if it is gone now, say so rather than "retry".
  auto now = board_->Get(task_id);
  if (now.ok() && !now->owner_alive) return OwnerGone(task_id, *now);
  return r;
}

}  // namespace runicorn::server
