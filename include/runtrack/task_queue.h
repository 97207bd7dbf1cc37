// A task queue shared by several TaskRunners (e.g. viewer replicas on one PostgreSQL,
// docs/SCALE-OUT.md "Users, tokens and tasks on PostgreSQL"), for one workspace whose task
// folders every runner reaches (a shared file system).
//
// Without one (TaskRunnerOptions::shared_queue unset) a runner keeps its own queue: the tasks
// Submit claimed in the folder, run by this runner only. With one, the queue decides who runs
// what and the task folder stays the record of each run:
//
//   Submit   folder: pending|terminal → queued, marked `runicorn_shared_queue` (no runner owns it
//            yet, so no runner's reconcile settles it: the queue does); then SharedTaskQueue::Submit.
//            If the queue refuses or cannot be reached, the folder is put back as it was.
//   worker   ClaimNext → the folder's compare-and-set (queued + marked → our lease) → Start →
//            run → Finish(completed | failed | cancelled, the local runner's reasons).
//   monitor  every scan_interval: CancelRequested of the tasks it runs, RecoverAbandoned (a dead
//            runner's claimed task is queued again; a running one is lost, and the folder's own
//            reconcile marks it failed runner_lost), then the folder's reconcile as without a queue.
//   RunNow   folder: pending|terminal → queued under this runner's lease, marked; then
//            SharedTaskQueue::SubmitClaimed enters it claimed by this runner (no other can take
//            it); it runs on its own thread, outside the pool, as without a queue.
//   Cancel   of a task this runner does not own goes to the queue: queued → cancelled at once,
//            claimed or running → requested, for its runner's monitor to carry out.
//   shutdown claimed-but-unstarted tasks are Released (queued again for another runner).
//
// Thread safety: implementations must accept calls from any number of threads at once.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtrack/status.h"
#include "runtrack/tasks.h"

namespace runtrack {

struct SharedTaskSubmission {
  std::string name;
  int64_t task_order = -1;  // the task's manual order (ReorderTasks); -1: none
};

// One claim, as ClaimNext returned it; passed back unchanged to Start, Finish, Release and
// CancelRequested. `id` and `key` belong to the implementation.
struct SharedTaskClaim {
  std::string name;
  int64_t id = 0;
  int64_t key = 0;
  int attempts = 0;  // claims of this entry so far, this one included
};

struct SharedQueueRecovery {
  std::vector<std::string> requeued;   // claimed by a dead runner, never started: queued again
  std::vector<std::string> cancelled;  // the same, with a cancel request: cancelled
  std::vector<std::string> lost;       // running under a dead runner: ended with runner_lost
};

class SharedTaskQueue {
 public:
  virtual ~SharedTaskQueue() = default;

  // Queues each task (a name live in the queue is skipped with the reason). An error status
  // means nothing was queued.
  virtual Result<SubmitReport> Submit(const std::vector<SharedTaskSubmission>& tasks) = 0;
  // The next runnable task, now claimed by this runner; nullopt when none.
  virtual Result<std::optional<SharedTaskClaim>> ClaimNext() = 0;
  // RunNow: enters the task already claimed by this runner, in one step, so no other runner can
  // claim it and the queue's record shows the one run it gets here (then Start, Finish as for a
  // ClaimNext claim). FailedPrecondition when the name is live in the queue. A queue that cannot
  // do this keeps the default, and RunNow is then refused with a shared queue.
  virtual Result<SharedTaskClaim> SubmitClaimed(const SharedTaskSubmission& /*task*/) {
    return Status::FailedPrecondition(
        "with this shared task queue, tasks run when a runner takes them from it (Submit), not at once (RunNow)");
  }
  // claimed → running; FailedPrecondition when the claim is no longer this runner's.
  virtual Status Start(const SharedTaskClaim& claim) = 0;
  // → `status` ("completed", "failed" or "cancelled") with the exit code and the reason.
  virtual Status Finish(const SharedTaskClaim& claim, std::string_view status, std::optional<int> exit_code,
                        std::string_view reason) = 0;
  // claimed → queued, at its old place (this runner will not start it).
  virtual Status Release(const SharedTaskClaim& claim) = 0;
  // Queued → cancelled (kCancelled); claimed or running → a request for its runner (kRequested).
  // NotFound when the queue does not know the task; FailedPrecondition when it is finished.
  virtual Result<CancelOutcome> Cancel(std::string_view name) = 0;
  virtual Result<bool> CancelRequested(const SharedTaskClaim& claim) = 0;
  // The manual order of a queued task (nullopt: none); FailedPrecondition unless queued.
  virtual Status SetOrder(std::string_view name, std::optional<int64_t> task_order) = 0;
  // Settles what dead runners had claimed (see SharedQueueRecovery).
  virtual Result<SharedQueueRecovery> RecoverAbandoned() = 0;
};

}  // namespace runtrack
