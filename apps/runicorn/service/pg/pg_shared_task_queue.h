// The task runner's shared queue (runtrack/task_queue.h) on PostgreSQL: one workspace's view of
// PgTaskQueue (pg_task_queue.h), for `runicorn viewer --catalog` (docs/SCALE-OUT.md "Tasks on
// PostgreSQL"). Every replica whose current task workspace is the same folder (a shared file
// system, mounted at the same path) shares one queue: the workspace key is that folder's path.
//
// PostgreSQL not answering is Busy ("the task queue (PostgreSQL) is unavailable, retry later:
// postgresql: …"), which the HTTP layer answers with 503.
//
// Thread safety: as PgTaskQueue, any number of threads; several instances may share one queue.
#pragma once

#include <memory>
#include <string>

#include "runtrack/task_queue.h"
#include "service/pg/pg_task_queue.h"

namespace runicorn::service::pg {

class PgSharedTaskQueue final : public runtrack::SharedTaskQueue {
 public:
  PgSharedTaskQueue(std::shared_ptr<PgTaskQueue> queue, std::string workspace)
      : queue_(std::move(queue)), workspace_(std::move(workspace)) {}

  runtrack::Result<runtrack::SubmitReport> Submit(const std::vector<runtrack::SharedTaskSubmission>& tasks) override;
  runtrack::Result<std::optional<runtrack::SharedTaskClaim>> ClaimNext() override;
  runtrack::Result<runtrack::SharedTaskClaim> SubmitClaimed(const runtrack::SharedTaskSubmission& task) override;
  runtrack::Status Start(const runtrack::SharedTaskClaim& claim) override;
  runtrack::Status Finish(const runtrack::SharedTaskClaim& claim, std::string_view status,
                          std::optional<int> exit_code, std::string_view reason) override;
  runtrack::Status Release(const runtrack::SharedTaskClaim& claim) override;
  runtrack::Result<runtrack::CancelOutcome> Cancel(std::string_view name) override;
  runtrack::Result<bool> CancelRequested(const runtrack::SharedTaskClaim& claim) override;
  runtrack::Status SetOrder(std::string_view name, std::optional<int64_t> task_order) override;
  // PgTaskQueue recovers every workspace at once; this reports the tasks of this one only.
  runtrack::Result<runtrack::SharedQueueRecovery> RecoverAbandoned() override;

  const std::string& workspace() const { return workspace_; }

 private:
  TaskClaim ToPg(const runtrack::SharedTaskClaim& claim) const;

  std::shared_ptr<PgTaskQueue> queue_;
  const std::string workspace_;
};

}  // namespace runicorn::service::pg
