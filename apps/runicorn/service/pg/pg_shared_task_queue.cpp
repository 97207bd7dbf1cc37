#include "service/pg/pg_shared_task_queue.h"

#include <fmt/format.h>

namespace runicorn::service::pg {
using runtrack::Result;
using runtrack::Status;
using runtrack::StatusCode;

namespace {

// PgTaskQueue answers "PostgreSQL did not answer" as the run catalog's Busy; a task route should
// name the queue. Other codes (refusals) pass unchanged.
Status QueueUnavailable(const Status& status) {
  if (status.code() != StatusCode::kBusy && status.code() != StatusCode::kIOError) return status;
  std::string_view why = status.message();
  constexpr std::string_view kCatalogPrefix = "the run catalog (PostgreSQL) is unavailable, retry later: ";
  if (why.rfind(kCatalogPrefix, 0) == 0) why.remove_prefix(kCatalogPrefix.size());
  return Status::Busy(fmt::format("the task queue (PostgreSQL) is unavailable, retry later: {}", why));
}

template <typename T>
Result<T> Mapped(Result<T> r) {
  if (!r.ok()) return QueueUnavailable(r.status());
  return r;
}

}  // namespace

TaskClaim PgSharedTaskQueue::ToPg(const runtrack::SharedTaskClaim& claim) const {
  TaskClaim c;
  c.id = claim.id;
  c.workspace = workspace_;
  c.name = claim.name;
  c.attempts = claim.attempts;
  c.claim_key = static_cast<int32_t>(claim.key);
  return c;
}

Result<runtrack::SubmitReport> PgSharedTaskQueue::Submit(const std::vector<runtrack::SharedTaskSubmission>& tasks) {
  std::vector<TaskSubmission> rows;
  rows.reserve(tasks.size());
  for (const auto& t : tasks)
    rows.push_back({t.name, "{}", t.task_order >= 0 ? std::optional<int64_t>(t.task_order) : std::nullopt});
  auto r = queue_->Submit(workspace_, rows);
  if (!r.ok()) return QueueUnavailable(r.status());
  return runtrack::SubmitReport{std::move(r->queued), std::move(r->skipped)};
}

Result<std::optional<runtrack::SharedTaskClaim>> PgSharedTaskQueue::ClaimNext() {
  auto r = queue_->ClaimNext(workspace_);
  if (!r.ok()) return QueueUnavailable(r.status());
  if (!r->has_value()) return std::optional<runtrack::SharedTaskClaim>();
  const TaskClaim& c = **r;
  return std::optional<runtrack::SharedTaskClaim>(runtrack::SharedTaskClaim{c.name, c.id, c.claim_key, c.attempts});
}

Result<runtrack::SharedTaskClaim> PgSharedTaskQueue::SubmitClaimed(const runtrack::SharedTaskSubmission& task) {
  auto r = queue_->SubmitClaimed(
      workspace_, {task.name, "{}", task.task_order >= 0 ? std::optional<int64_t>(task.task_order) : std::nullopt});
  if (!r.ok()) return QueueUnavailable(r.status());
  return runtrack::SharedTaskClaim{r->name, r->id, r->claim_key, r->attempts};
}

Status PgSharedTaskQueue::Start(const runtrack::SharedTaskClaim& claim) {
  return QueueUnavailable(queue_->Start(ToPg(claim)));
}

Status PgSharedTaskQueue::Finish(const runtrack::SharedTaskClaim& claim, std::string_view status,
                                 std::optional<int> exit_code, std::string_view reason) {
  return QueueUnavailable(queue_->Finish(ToPg(claim), status, exit_code, reason));
}

Status PgSharedTaskQueue::Release(const runtrack::SharedTaskClaim& claim) {
  return QueueUnavailable(queue_->Release(ToPg(claim)));
}

Result<runtrack::CancelOutcome> PgSharedTaskQueue::Cancel(std::string_view name) {
  return Mapped(queue_->Cancel(workspace_, name));
}

Result<bool> PgSharedTaskQueue::CancelRequested(const runtrack::SharedTaskClaim& claim) {
  return Mapped(queue_->CancelRequested(ToPg(claim)));
}

Status PgSharedTaskQueue::SetOrder(std::string_view name, std::optional<int64_t> task_order) {
  return QueueUnavailable(queue_->SetOrder(workspace_, name, task_order));
}

Result<runtrack::SharedQueueRecovery> PgSharedTaskQueue::RecoverAbandoned() {
  auto r = queue_->RecoverAbandoned();
  if (!r.ok()) return QueueUnavailable(r.status());
  // The report names tasks of every workspace; a name is this workspace's when its newest entry
  // here is in the state the recovery left.
  runtrack::SharedQueueRecovery out;
  auto keep = [&](const std::vector<std::string>& names, std::string_view state, std::vector<std::string>& into) {
    for (const auto& n : names) {
      auto e = queue_->Get(workspace_, n);
      if (e.ok() && e->has_value() && (*e)->state == state) into.push_back(n);
    }
  };
  keep(r->requeued, "queued", out.requeued);
  keep(r->cancelled, "cancelled", out.cancelled);
  keep(r->lost, "lost", out.lost);
  return out;
}

}  // namespace runicorn::service::pg
