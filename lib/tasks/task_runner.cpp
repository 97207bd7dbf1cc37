// TaskRunner: claims tasks on disk, runs them on a worker pool (or at once), cancels them.
// With a shared queue (runtrack/task_queue.h) the workers take their tasks from it instead, and
// RunNow enters its task there already claimed by this runner.
//
// Threads: `workers` pool threads take queued tasks FIFO (manually ordered ones first); each RunNow gets its own thread; one
// monitor thread renews leases, picks up cancel requests written by other processes and
// reconciles tasks of dead runners. A run is executed start to finish by one thread, which
// forks the child and waits for it (PR_SET_PDEATHSIG is tied to that thread).
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <limits>
#include <list>
#include <map>
#include <mutex>
#include <random>
#include <thread>
#include <unordered_map>

#include <boost/json/array.hpp>
#include <fmt/format.h>

#include "runtrack/task_queue.h"
#include "runtrack/tasks.h"
#include "tasks/child_process.h"
#include "tasks/gpu_slots.h"
#include "tasks/local_time.h"
#include "tasks/process_util.h"
#include "tasks/reconcile.h"
#include "tasks/run_log.h"
#include "tasks/runner_lease.h"
#include "tasks/source_state.h"
#include "tasks/task_command.h"
#include "tasks/task_info_store.h"
#include "tasks/task_results.h"
#include "util/files.h"

namespace runtrack {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace runtrack::tasks;
using Clock = std::chrono::steady_clock;

constexpr std::string_view kCancelMarker = ".runicorn-cancel-request";
constexpr const char* kLeaseKeys[] = {"runner_id", "runner_host", "lease_heartbeat", "lease_until",
                                      "runicorn_runner"};

std::string NewToken() {
  std::random_device rd;
  std::mt19937_64 rng((static_cast<uint64_t>(rd()) << 32) ^ rd() ^ static_cast<uint64_t>(::getpid()));
  return fmt::format("{:016x}{:016x}", rng(), rng());
}

std::string HostName() {
  char buf[256] = {0};
  ::gethostname(buf, sizeof buf - 1);
  return buf;
}

void SetLast(json::object& info, std::string_view key, json::value v) {
  json::array& a = info[key].as_array();
  if (!a.empty()) a.back() = std::move(v);
}

class TaskRunnerImpl final : public TaskRunner {
 public:
  TaskRunnerImpl(Workspace& ws, TaskRunnerOptions options, std::string token, util::FileLock lock)
      : ws_(ws), tasks_dir_(ws.dir() / "tasks"), opt_(std::move(options)), token_(std::move(token)),
        host_(HostName()), runner_lock_(std::move(lock)) {
    runner_id_ = fmt::format("{}:{}:{}", host_, ::getpid(), token_.substr(0, 8));
  }

  void StartThreads() {
    for (int k = 0; k < opt_.workers; ++k)
      workers_.emplace_back([this] { opt_.shared_queue ? SharedWorkerLoop() : WorkerLoop(); });
    monitor_ = std::thread([this] { MonitorLoop(); });
  }

  ~TaskRunnerImpl() override { Shutdown(); }

  Result<SubmitReport> Submit(const std::vector<std::string>& names) override {
    if (opt_.shared_queue) return SubmitShared(names);
    SubmitReport report;
    for (const auto& name : names) {
      Status s = Claim(name);
      if (!s.ok()) {
        report.skipped.emplace_back(name, s);
        continue;
      }
      {
        std::lock_guard lock(mu_);
        queue_.push_back(name);
      }
      queue_cv_.notify_one();
      report.queued.push_back(name);
    }
    return report;
  }

  Status RunNow(std::string_view name_view) override {
    std::string name(name_view);
    if (opt_.shared_queue) return RunNowShared(name);
    RUNTRACK_RETURN_IF_ERROR(Claim(name));
    std::lock_guard lock(mu_);
    run_now_.emplace_back([this, name] { Execute(name); });
    return Status::Ok();
  }

  Result<CancelOutcome> Cancel(std::string_view name_view) override;

  Status WaitIdle(std::chrono::milliseconds timeout) override {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, timeout, [&] { return owned_.empty(); }))
      return Status::Busy(fmt::format("{} task(s) still queued or running", owned_.size()));
    lock.unlock();
    return SyncFinalStatuses();
  }

  const std::string& runner_id() const override { return runner_id_; }

  Status RecoverSharedAtStart() {
    RUNTRACK_ASSIGN_OR_RETURN(SharedQueueRecovery recovered, opt_.shared_queue->RecoverAbandoned());
    for (const auto& n : recovered.cancelled) (void)CancelSharedInFolder(n);
    return ws_.ReconcileAbandonedTasks().status();
  }

 private:
  struct Owned {
    bool started = false;   // taken by a thread; from now on only that thread settles it
    bool cancel = false;
    bool shutdown = false;
    pid_t pgid = 0;
    bool terminating = false;
    std::optional<SharedTaskClaim> claim;  // taken from the shared queue
  };

  // pending|terminal → queued under our lease (compare-and-set), reserving the name in owned_.
  // `shared`: also marked as queued in the shared queue (RunNow there), and `before` gets what
  // the folder held, to put back if the queue refuses.
  Status Claim(const std::string& name, bool shared = false, json::object* before = nullptr);
  // RunNow with a shared queue: the folder's claim, then SubmitClaimed; runs on its own thread.
  Status RunNowShared(const std::string& name);
  // Shared queue (runtrack/task_queue.h): Submit marks the folders queued, then queues them.
  Result<SubmitReport> SubmitShared(const std::vector<std::string>& names);
  void SharedWorkerLoop();
  // The folder's side of a claim from the queue: queued and marked → our lease. False when the
  // folder disagrees (the entry is then finished in the queue, not run).
  bool TakeSharedClaim(const SharedTaskClaim& claim);
  // Reports a final status of a shared task to the queue (no-op without a claim).
  void FinishShared(const std::optional<SharedTaskClaim>& claim, std::string_view status,
                    std::optional<int> exit_code, std::string_view reason);
  // A task the queue cancelled while it waited: the folder follows (queued and marked → cancelled).
  Status CancelSharedInFolder(const std::string& name);
  // The queue's recovery, then the folder's reconcile; on the monitor's scan and at start.
  void RecoverShared();
  // Final statuses are written without fsync and made durable together: one syncfs(2) of the
  // file system holding the workspace, at most one monitor tick (200 ms) after the write.
  Status SyncFinalStatuses() {
    if (!needs_sync_.exchange(false)) return Status::Ok();
    int fd = ::open(tasks_dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return util::ErrnoStatus("open", tasks_dir_);
    int rc = ::syncfs(fd);
    int err = errno;
    ::close(fd);
    return rc == 0 ? Status::Ok() : util::ErrnoStatus("syncfs", tasks_dir_, err);
  }
  void WorkerLoop();
  // task_order of this workspace's queued tasks that have one (ours and other runners').
  std::unordered_map<std::string, int64_t> QueuedTaskOrders();
  void Execute(const std::string& name);
  void MonitorLoop();
  void Shutdown();
  Status SetFinal(const std::string& name, std::string_view from, std::string_view to, bool run_slot,
                  const std::function<void(json::object&)>& extra);
  void TerminateOwned(const std::string& name);
  bool OwnedByUs(const json::object& info) const { return GetString(info, "runicorn_runner") == token_; }
  void WriteLease(json::object& info, double now) const {
    info["runner_id"] = runner_id_;
    info["runner_host"] = host_;
    info["lease_heartbeat"] = now;
    info["lease_until"] = now + std::chrono::duration<double>(opt_.lease_duration).count();
    info["runicorn_runner"] = token_;
  }

  Workspace& ws_;
  fs::path tasks_dir_;
  TaskRunnerOptions opt_;
  std::string token_, host_, runner_id_;
  util::FileLock runner_lock_;

  std::mutex mu_;
  std::condition_variable cv_;        // owned_ changed, stopping_, a pgid became known
  std::condition_variable queue_cv_;  // queue_ grew (one worker), stopping_ (all)
  std::deque<std::string> queue_;
  std::map<std::string, Owned> owned_;
  bool stopping_ = false;
  uint64_t shared_submits_ = 0;  // Submits through this runner to the shared queue
  std::atomic<bool> needs_sync_{false};
  std::vector<std::thread> workers_;
  std::list<std::thread> run_now_;
  std::thread monitor_;
};

Status TaskRunnerImpl::Claim(const std::string& name, bool shared, json::object* before) {
  RUNTRACK_RETURN_IF_ERROR(CheckTaskName(name));
  {
    std::lock_guard lock(mu_);
    if (stopping_) return Status::FailedPrecondition("the runner is shutting down");
    if (owned_.count(name))
      return Status::FailedPrecondition(fmt::format("task '{}' is already queued or running here", name));
    owned_[name] = Owned{};  // reserve, so two threads of this runner cannot claim it twice
  }
  bool retried = false;
  Status s;
  for (;;) {
    bool owner_dead = false;
    s = UpdateTaskInfo(tasks_dir_, name, [&](json::object& info) -> Status {
      std::string status = GetString(info, "status", "pending");
      double now = util::NowSeconds();
      if (status == "queued" || status == "running") {
        RUNTRACK_ASSIGN_OR_RETURN(bool alive, TaskOwnerAlive(tasks_dir_, info, now));
        if (!alive) owner_dead = true;
        return Status::FailedPrecondition(fmt::format(
            "task '{}' is already {} (runner {})", name, status, GetString(info, "runner_id", "unknown")));
      }
      if (before) *before = info;
      info["status"] = "queued";
      info["queued_at"] = now;
      info.erase("cancel_requested_at");
      info.erase("gpu_wait");
      WriteLease(info, now);
      // Marked like a task a worker took from the queue: until it starts, the queue settles it
      // (a dead runner's claim is queued again there, for another runner).
      if (shared) info[kSharedQueueKey] = true;
      return Status::Ok();
    });
    if (s.ok() || !owner_dead || retried) break;
    // Its owner is gone: settle it the way a scan would, then claim it.
    retried = true;
    auto summary = ws_.GetTask(name);
    if (!summary.ok()) { s = summary.status(); break; }
    auto rec = ReconcileAbandoned(tasks_dir_, {*summary});
    if (!rec.ok()) { s = rec.status(); break; }
  }
  if (!s.ok()) {
    std::lock_guard lock(mu_);
    owned_.erase(name);
    cv_.notify_all();
  }
  return s;
}

Status TaskRunnerImpl::RunNowShared(const std::string& name) {
  // The folder first, as Submit does: the local runner's refusals (already queued or running,
  // here or under another runner) come from the same compare-and-set.
  json::object before;
  RUNTRACK_RETURN_IF_ERROR(Claim(name, /*shared=*/true, &before));
  int64_t order = static_cast<int64_t>(GetNumber(before, "task_order", -1));
  auto claim = opt_.shared_queue->SubmitClaimed({name, order < 0 ? -1 : order});
  if (!claim.ok()) {
    // Not in the queue: the folder holds what it held (unless it moved on meanwhile).
    (void)UpdateTaskInfo(tasks_dir_, name, [&](json::object& info) -> Status {
      if (!OwnedByUs(info) || GetString(info, "status") != "queued") return Status::FailedPrecondition("moved on");
      info = before;
      return Status::Ok();
    });
    std::lock_guard lock(mu_);
    auto it = owned_.find(name);
    if (it != owned_.end() && !it->second.started) owned_.erase(it);
    cv_.notify_all();
    return claim.status();
  }
  std::unique_lock lock(mu_);
  auto it = owned_.find(name);
  if (it == owned_.end()) {
    // Cancelled (or the runner stopped) between the folder's claim and the queue's: the folder
    // is already cancelled; the queue's entry follows.
    bool stopping = stopping_;
    lock.unlock();
    FinishShared(*claim, "cancelled", std::nullopt, stopping ? "system_shutdown" : "cancelled_by_user");
    return Status::Ok();
  }
  it->second.claim = *claim;
  // Its own thread, outside the pool: it runs now even when every worker is busy.
  run_now_.emplace_back([this, name] { Execute(name); });
  return Status::Ok();
}

Result<SubmitReport> TaskRunnerImpl::SubmitShared(const std::vector<std::string>& names) {
  SubmitReport report;
  std::vector<SharedTaskSubmission> submissions;
  // What each folder held before, to put back if the queue does not take the task.
  std::map<std::string, json::object> before;
  for (const auto& name : names) {
    Status s = CheckTaskName(name);
    if (s.ok() && before.count(name)) s = Status::InvalidArgument(fmt::format("task '{}' is named twice", name));
    for (bool retried = false; s.ok();) {
      bool owner_dead = false;
      int64_t order = -1;
      json::object previous;
      s = UpdateTaskInfo(tasks_dir_, name, [&](json::object& info) -> Status {
        std::string status = GetString(info, "status", "pending");
        double now = util::NowSeconds();
        if (status == "queued" || status == "running") {
          if (IsSharedQueued(info))
            return Status::FailedPrecondition(fmt::format("task '{}' is already queued in the shared queue", name));
          RUNTRACK_ASSIGN_OR_RETURN(bool alive, TaskOwnerAlive(tasks_dir_, info, now));
          if (!alive) owner_dead = true;
          return Status::FailedPrecondition(fmt::format(
              "task '{}' is already {} (runner {})", name, status, GetString(info, "runner_id", "unknown")));
        }
        previous = info;
        order = static_cast<int64_t>(GetNumber(info, "task_order", -1));
        info["status"] = "queued";
        info["queued_at"] = now;
        info[kSharedQueueKey] = true;
        info.erase("cancel_requested_at");
        info.erase("gpu_wait");
        for (const char* k : kLeaseKeys) info.erase(k);
        return Status::Ok();
      });
      if (s.ok()) {
        before[name] = std::move(previous);
        submissions.push_back({name, order < 0 ? -1 : order});
        break;
      }
      if (!owner_dead || retried) break;
      retried = true;  // its owner is gone: settle it the way a scan would, then try again
      auto summary = ws_.GetTask(name);
      if (!summary.ok()) { s = summary.status(); break; }
      auto rec = ReconcileAbandoned(tasks_dir_, {*summary});
      if (!rec.ok()) { s = rec.status(); break; }
      s = Status::Ok();
    }
    if (!s.ok()) report.skipped.emplace_back(name, s);
  }
  if (submissions.empty()) return report;
  // Undo one folder's mark, unless a runner has taken the task meanwhile (then it is the queue's).
  auto put_back = [&](const std::string& name) {
    (void)UpdateTaskInfo(tasks_dir_, name, [&](json::object& info) -> Status {
      if (!IsSharedQueued(info) || info.contains("runicorn_runner")) return Status::FailedPrecondition("taken");
      const json::object& old = before[name];
      for (const char* k : {"status", "queued_at", "cancel_requested_at", "gpu_wait", kSharedQueueKey}) {
        if (const json::value* v = old.if_contains(k)) info[k] = *v;
        else info.erase(k);
      }
      for (const char* k : kLeaseKeys) {
        if (const json::value* v = old.if_contains(k)) info[k] = *v;
      }
      return Status::Ok();
    });
  };
  auto queued = opt_.shared_queue->Submit(submissions);
  if (!queued.ok()) {
    for (const auto& sub : submissions) put_back(sub.name);
    return queued.status();
  }
  for (auto& [name, why] : queued->skipped) {
    put_back(name);
    report.skipped.emplace_back(name, why);
  }
  report.queued = std::move(queued->queued);
  {
    std::lock_guard lock(mu_);
    ++shared_submits_;
  }
  queue_cv_.notify_all();  // idle workers ask the queue now rather than at their next poll
  return report;
}

void TaskRunnerImpl::SharedWorkerLoop() {
  for (;;) {
    uint64_t seen = 0;
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      seen = shared_submits_;
    }
    auto next = opt_.shared_queue->ClaimNext();
    if (next.ok() && next->has_value()) {
      if (TakeSharedClaim(**next)) {
        Execute((*next)->name);
        continue;
      }
      // Not taken. With several workers this can be a task another worker here still holds under
      // an older claim (recovered after this replica's PostgreSQL session broke): it was released,
      // and asking again at once would claim and release it in a loop until that worker lets go.
      std::unique_lock lock(mu_);
      queue_cv_.wait_for(lock, opt_.shared_queue_poll, [&] { return stopping_; });
      continue;
    }
    // Nothing to run (or the queue is unreachable: ask again later).
    std::unique_lock lock(mu_);
    queue_cv_.wait_for(lock, opt_.shared_queue_poll, [&] { return stopping_ || shared_submits_ != seen; });
  }
}

bool TaskRunnerImpl::TakeSharedClaim(const SharedTaskClaim& claim) {
  const std::string& name = claim.name;
  {
    std::lock_guard lock(mu_);
    if (stopping_ || owned_.count(name)) {
      (void)opt_.shared_queue->Release(claim);
      return false;
    }
    Owned o;
    o.claim = claim;
    owned_[name] = o;
  }
  std::string status;
  Status s = CheckTaskName(name);
  if (s.ok())
    s = UpdateTaskInfo(tasks_dir_, name, [&](json::object& info) -> Status {
      status = GetString(info, "status", "pending");
      if (!IsSharedQueued(info))
        return Status::FailedPrecondition(
            fmt::format("task '{}' is {} in its folder, not queued in the shared queue", name, status));
      info.erase("gpu_wait");
      WriteLease(info, util::NowSeconds());
      return Status::Ok();
    });
  if (s.ok()) {
    std::unique_lock lock(mu_);
    if (owned_.count(name)) return true;
    // Cancelled (or the runner stopped) while the folder was being claimed: the queue has been
    // told; the folder follows.
    bool stopping = stopping_;
    lock.unlock();
    if (!stopping) (void)CancelSharedInFolder(name);
    return false;
  }
  // The folder does not have it waiting (trashed, renamed, cancelled there): not run.
  if (status == "cancelled") FinishShared(claim, "cancelled", std::nullopt, "cancelled_by_user");
  else FinishShared(claim, "failed", std::nullopt, "launch_failed: " + s.message());
  std::lock_guard lock(mu_);
  owned_.erase(name);
  cv_.notify_all();
  return false;
}

void TaskRunnerImpl::FinishShared(const std::optional<SharedTaskClaim>& claim, std::string_view status,
                                  std::optional<int> exit_code, std::string_view reason) {
  // A failure leaves the entry claimed or running under this runner; once this runner is gone
  // RecoverAbandoned settles it (docs/SCALE-OUT.md, failure cases).
  if (claim) (void)opt_.shared_queue->Finish(*claim, status, exit_code, reason);
}

Status TaskRunnerImpl::CancelSharedInFolder(const std::string& name) {
  Status s = UpdateTaskInfo(tasks_dir_, name, [&](json::object& info) -> Status {
    if (!IsSharedQueued(info)) return Status::FailedPrecondition("settled");
    info["status"] = "cancelled";
    info["cancel_requested_at"] = util::NowSeconds();
    for (const char* k : kLeaseKeys) info.erase(k);
    info.erase("gpu_wait");
    info.erase(kSharedQueueKey);
    return Status::Ok();
  });
  return s.code() == StatusCode::kFailedPrecondition ? Status::Ok() : s;
}

void TaskRunnerImpl::RecoverShared() {
  auto recovered = opt_.shared_queue->RecoverAbandoned();
  if (recovered.ok())
    for (const auto& n : recovered->cancelled) (void)CancelSharedInFolder(n);
  // A lost task's folder says running under the dead runner, whose lock is free: failed
  // runner_lost here, as for any dead runner.
  (void)ws_.ReconcileAbandonedTasks();
}

std::unordered_map<std::string, int64_t> TaskRunnerImpl::QueuedTaskOrders() {
  std::unordered_map<std::string, int64_t> orders;
  TaskListQuery q;
  q.status = TaskStatus::kQueued;
  q.limit = std::numeric_limits<size_t>::max() / 2;
  auto page = ws_.ListTasks(q);
  // Unreadable index: FIFO is still a correct order, only not the manual one.
  if (!page.ok()) return orders;
  for (const auto& t : page->items)
    if (t.task_order >= 0) orders[t.name] = t.task_order;
  return orders;
}

void TaskRunnerImpl::WorkerLoop() {
  for (;;) {
    std::string name;
    bool choose = false;
    {
      std::unique_lock lock(mu_);
      queue_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      choose = queue_.size() > 1;
      if (!choose) {
        name = std::move(queue_.front());
        queue_.pop_front();
      }
    }
    if (choose) {
      // The manual order is read when a worker is free, so a reorder of waiting tasks counts.
      // Read outside mu_ (it may touch the disk); the queue may change meanwhile.
      auto orders = QueuedTaskOrders();
      std::lock_guard lock(mu_);
      if (stopping_) return;
      if (queue_.empty()) continue;
      auto best = queue_.begin();
      if (!orders.empty()) {
        auto rank = [&](const std::string& n) {
          auto it = orders.find(n);
          return it == orders.end() ? std::numeric_limits<int64_t>::max() : it->second;
        };
        for (auto it = queue_.begin(); it != queue_.end(); ++it)
          if (rank(*it) < rank(*best)) best = it;  // strict: FIFO among equals
      }
      name = std::move(*best);
      queue_.erase(best);
    }
    Execute(name);
  }
}

Status TaskRunnerImpl::SetFinal(const std::string& name, std::string_view from, std::string_view to,
                                bool run_slot, const std::function<void(json::object&)>& extra) {
  return UpdateTaskInfo(tasks_dir_, name, [&](json::object& info) -> Status {
    if (!OwnedByUs(info) || GetString(info, "status") != from)
      return Status::FailedPrecondition(fmt::format("task '{}' is no longer {} under this runner", name, from));
    info["status"] = to;
    if (run_slot) SetLast(info, "run_statuses", json::string(to));
    for (const char* k : kLeaseKeys) info.erase(k);
    info.erase("gpu_wait");
    info.erase(kSharedQueueKey);
    if (extra) extra(info);
    return Status::Ok();
  }, /*sync=*/false);
  needs_sync_ = true;  // made durable by the monitor's next syncfs (group commit)
}

void TaskRunnerImpl::Execute(const std::string& name) {
  auto finish_owned = [&] {
    std::lock_guard lock(mu_);
    owned_.erase(name);
    cv_.notify_all();
  };
  std::optional<SharedTaskClaim> claim;
  {
    std::lock_guard lock(mu_);
    auto it = owned_.find(name);
    if (it == owned_.end()) return;  // cancelled while queued
    it->second.started = true;
    claim = it->second.claim;
  }
  auto is_cancelled = [&] {
    std::lock_guard lock(mu_);
    auto it = owned_.find(name);
    return it == owned_.end() || it->second.cancel || it->second.shutdown;
  };
  fs::path task_dir = tasks_dir_ / name;
  auto info = LoadTaskInfo(task_dir);
  if (!info.ok()) {
    // Unreadable (or gone): never leave it queued under us.
    (void)SetFinal(name, "queued", "failed", false, nullptr);
    FinishShared(claim, "failed", std::nullopt, "launch_failed: " + info.status().message());
    finish_owned();
    return;
  }
  int run = static_cast<int>(GetNumber(*info, "run_index", 0)) + 1;

  // GPU admission happens while still queued: a run slot exists only for a run that starts.
  std::optional<GpuGrant> grant;
  std::map<std::string, std::string> gpu_env;
  if (opt_.gpu.list_gpus) {
    std::string mask;
    if (auto e = info->find("env"); e != info->end() && e->value().is_object())
      mask = GetString(e->value().as_object(), "CUDA_VISIBLE_DEVICES");
    double now = util::NowSeconds();
    (void)UpdateTaskInfo(tasks_dir_, name, [&](json::object& i) -> Status {
      if (!OwnedByUs(i)) return Status::FailedPrecondition("not ours");
      i["gpu_wait"] = json::object{{"state", "waiting"}, {"run_index", run}, {"started_at", now},
                                   {"deadline_at", now + std::chrono::duration<double>(opt_.gpu.max_wait).count()}};
      return Status::Ok();
    });
    auto g = AcquireGpus(opt_.gpu, mask, is_cancelled);
    if (!g.ok()) {
      bool cancelled = is_cancelled();
      bool shutdown = false;
      {
        std::lock_guard lock(mu_);
        shutdown = owned_.count(name) && owned_[name].shutdown;
      }
      std::string reason = cancelled && !shutdown ? "cancelled_by_user"
                           : g.status().code() == StatusCode::kBusy ? "gpu_wait_timeout"
                                                                    : "gpu_unavailable: " + g.status().message();
      (void)SetFinal(name, "queued", cancelled ? "cancelled" : "failed", false, nullptr);
      if (!cancelled) (void)AppendErrorLog(task_dir, run, LocalTimestamp(util::NowSeconds()), reason, {}, "");
      FinishShared(claim, cancelled ? "cancelled" : "failed", std::nullopt, reason);
      finish_owned();
      return;
    }
    grant = std::move(g).value();
    gpu_env["CUDA_VISIBLE_DEVICES"] = grant->cuda_visible_devices;
    gpu_env["PYRUNS_ASSIGNED_GPUS"] = grant->cuda_visible_devices;
  }

  if (claim) {
    // The queue marks it running before anything runs: a claim it has meanwhile given away (this
    // runner's session was thought dead) must not run twice.
    Status started = opt_.shared_queue->Start(*claim);
    if (!started.ok()) {
      if (started.code() != StatusCode::kFailedPrecondition) (void)opt_.shared_queue->Release(*claim);
      // Back to waiting in the queue, owned by no runner.
      (void)UpdateTaskInfo(tasks_dir_, name, [&](json::object& i) -> Status {
        if (!OwnedByUs(i) || GetString(i, "status") != "queued") return Status::FailedPrecondition("not ours");
        for (const char* k : kLeaseKeys) i.erase(k);
        i.erase("gpu_wait");
        return Status::Ok();
      });
      finish_owned();
      return;
    }
  }

  // While we own it nobody else moves run_index, so the run number is known before the spawn;
  // one compare-and-set then records "running" together with the pid and source state.
  double start = util::NowSeconds();
  std::string started_at = LocalTimestamp(start);
  fs::path log_path = task_dir / "run_logs" / fmt::format("run{}.log", run);
  (void)util::CreateDirectories(log_path.parent_path());
  int log_fd = ::open(log_path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  auto log = [&](std::string_view text) {
    if (log_fd >= 0) (void)util::WriteAll(log_fd, text.data(), text.size(), log_path);
  };
  log(RunStartBanner(name, started_at));
  if (grant)
    log(fmt::format("[PYRUNS] GPU CONTEXT: CUDA_VISIBLE_DEVICES={} (waited {:.1f}s)\n",
                    grant->cuda_visible_devices, grant->waited_seconds));

  auto plan = PlanLaunch(ws_, name, *info, run, opt_, gpu_env);
  std::optional<SpawnedChild> child;
  std::string source_state, failure_reason;
  Status spawn_status = plan.status();
  if (plan.ok()) {
    source_state = SourceState(plan->spec.cwd, plan->hashed_script);
    log(fmt::format("[PYRUNS] Source {}\n", source_state));
    auto spawned = SpawnChild(plan->spec);
    spawn_status = spawned.status();
    if (spawned.ok()) child = *spawned;
  }
  std::optional<double> created = child ? ProcessCreateTime(child->pid) : std::nullopt;
  Status claimed = UpdateTaskInfo(tasks_dir_, name, [&](json::object& i) -> Status {
    if (!OwnedByUs(i) || GetString(i, "status") != "queued" ||
        static_cast<int>(GetNumber(i, "run_index", 0)) + 1 != run)
      return Status::FailedPrecondition("task left the queue");
    i["run_index"] = run;
    i["status"] = "running";
    i["progress"] = 0.0;
    i.erase("gpu_wait");
    i.erase(kSharedQueueKey);
    NormalizeRunHistory(i);
    SetLast(i, "start_times", json::string(started_at));
    SetLast(i, "run_statuses", "running");
    SetLast(i, "pids", child ? json::value(child->pid) : json::value(nullptr));
    SetLast(i, "pid_create_times", created ? json::value(*created) : json::value(nullptr));
    SetLast(i, "source_states", json::string(source_state));
    if (grant) {
      json::array ids;
      for (int idx : grant->indices) ids.push_back(idx);
      i["_gpu_assignment"] = json::object{{"task_name", name}, {"run_index", run}, {"gpu_ids", ids},
                                          {"cuda_visible_devices", grant->cuda_visible_devices},
                                          {"waited_seconds", grant->waited_seconds}};
    }
    return Status::Ok();
  });
  if (!claimed.ok()) {
    // Someone settled or removed the task meanwhile: this run must not happen.
    if (child) {
      ::kill(-child->pid, SIGKILL);
      PumpUntilExit(*child, [](std::string_view) {});
    }
    if (log_fd >= 0) ::close(log_fd);
    FinishShared(claim, "failed", std::nullopt, "launch_failed: " + claimed.message());
    finish_owned();
    return;
  }
  int exit_code = -1;
  if (child) {
    bool cancel_now = false;
    {
      std::lock_guard lock(mu_);
      Owned& o = owned_[name];
      o.pgid = child->pid;
      cancel_now = o.cancel || o.shutdown;
    }
    cv_.notify_all();
    if (cancel_now) ::kill(-child->pid, SIGTERM);  // the canceller escalates if needed
    exit_code = PumpUntilExit(*child, log);
    // The leader is reaped; whatever it left in its group must not outlive the run.
    if (::kill(-child->pid, 0) == 0) ::kill(-child->pid, SIGKILL);
  } else {
    log(fmt::format("[PYRUNS] {}\n", spawn_status.message()));
    failure_reason = "launch_failed: " + spawn_status.message();
  }
  double duration = util::NowSeconds() - start;
  bool cancelled = false, shutdown = false;
  {
    std::lock_guard lock(mu_);
    Owned& o = owned_[name];
    cancelled = o.cancel;
    shutdown = o.shutdown;
  }
  std::string final_status = cancelled ? "cancelled" : (child && exit_code == 0 && !shutdown) ? "completed" : "failed";
  if (failure_reason.empty())
    failure_reason = cancelled ? "cancelled_by_user" : shutdown ? "system_shutdown" : fmt::format("exit_code {}", exit_code);
  // Like Pyruns, the final status is spelled out only when the exit code does not tell it.
  bool spell_out = final_status == "cancelled" || shutdown;
  log(RunFinishBanner(exit_code, duration, spell_out ? final_status : ""));
  if (log_fd >= 0) ::close(log_fd);

  std::string finished_at = LocalTimestamp(util::NowSeconds());
  (void)SetFinal(name, "running", final_status, true, [&](json::object& i) {
    i["progress"] = 1.0;
    SetLast(i, "finish_times", json::string(finished_at));
    SetLast(i, "durations", duration);
    SetLast(i, "exit_codes", child ? json::value(exit_code) : json::value(nullptr));
    // Fold what the run recorded (task_metrics.jsonl) into records/tracks for Pyruns readers.
    auto metrics = util::ReadFile(task_dir / kMetricsFile);
    if (metrics.ok()) {
      size_t from = static_cast<size_t>(GetNumber(i, "runicorn_metrics_offset", 0));
      if (from <= metrics->size()) FoldRunLinks(*metrics, from, i);  // before the offset moves
      if (from <= metrics->size()) i["runicorn_metrics_offset"] = FoldMetricsLines(*metrics, from, i);
    }
  });
  if (final_status != "completed")
    (void)AppendErrorLog(task_dir, run, finished_at, failure_reason, plan.ok() ? plan->spec.argv : std::vector<std::string>{},
                         plan.ok() ? plan->spec.cwd.string() : "");
  FinishShared(claim, final_status, child ? std::optional<int>(exit_code) : std::nullopt,
               final_status == "completed" ? std::string() : failure_reason);
  grant.reset();
  finish_owned();
}

Result<CancelOutcome> TaskRunnerImpl::Cancel(std::string_view name_view) {
  std::string name(name_view);
  RUNTRACK_RETURN_IF_ERROR(CheckTaskName(name));
  std::unique_lock lock(mu_);
  auto it = owned_.find(name);
  if (it != owned_.end() && !it->second.started) {
    // Queued here: leave the queue and become cancelled without a run slot.
    queue_.erase(std::remove(queue_.begin(), queue_.end(), name), queue_.end());
    std::optional<SharedTaskClaim> claim = it->second.claim;
    owned_.erase(it);
    cv_.notify_all();
    lock.unlock();
    FinishShared(claim, "cancelled", std::nullopt, "cancelled_by_user");
    RUNTRACK_RETURN_IF_ERROR(SetFinal(name, "queued", "cancelled", false, [](json::object& i) {
      i["cancel_requested_at"] = util::NowSeconds();
    }));
    return CancelOutcome::kCancelled;
  }
  if (it != owned_.end()) {
    it->second.cancel = true;
    cv_.notify_all();
    // Wait for the child to exist (or the run to end), then terminate its group once.
    auto deadline = Clock::now() + opt_.cancel_grace + std::chrono::seconds(30);
    while (owned_.count(name) && owned_[name].pgid == 0 && Clock::now() < deadline)
      cv_.wait_until(lock, std::min(deadline, Clock::now() + std::chrono::milliseconds(50)));
    pid_t pgid = owned_.count(name) ? owned_[name].pgid : 0;
    lock.unlock();
    bool gone = pgid == 0 || TerminateProcessGroup(pgid, opt_.cancel_grace);
    lock.lock();
    cv_.wait_until(lock, deadline, [&] { return !owned_.count(name); });
    if (!gone || owned_.count(name))
      return Status::Internal(fmt::format("task '{}' did not stop after SIGKILL", name));
    return CancelOutcome::kCancelled;
  }
  lock.unlock();

  if (opt_.shared_queue) {
    // Not ours: the queue knows who has it. A task it does not have live (never queued there, or
    // queued before the queue was used) is judged by its folder, as below.
    auto outcome = opt_.shared_queue->Cancel(name);
    if (outcome.ok()) {
      if (*outcome == CancelOutcome::kCancelled) RUNTRACK_RETURN_IF_ERROR(CancelSharedInFolder(name));
      return *outcome;
    }
    if (outcome.status().code() != StatusCode::kNotFound &&
        outcome.status().code() != StatusCode::kFailedPrecondition)
      return outcome.status();
  }

  // Not ours: settle it if its owner is gone, else leave a request for the owner.
  auto info = ws_.ReadTaskInfo(name);
  if (!info.ok()) return info.status();
  std::string status = GetString(*info, "status", "pending");
  if (status != "queued" && status != "running")
    return Status::FailedPrecondition(
        fmt::format("task '{}' is {}; only queued or running tasks can be cancelled", name, status));
  // Waiting for a shared queue that does not have it live: nobody would ever take it.
  if (opt_.shared_queue && IsSharedQueued(*info)) {
    RUNTRACK_RETURN_IF_ERROR(CancelSharedInFolder(name));
    return CancelOutcome::kCancelled;
  }
  RUNTRACK_ASSIGN_OR_RETURN(bool alive, TaskOwnerAlive(tasks_dir_, *info, util::NowSeconds()));
  if (!alive) {
    RUNTRACK_ASSIGN_OR_RETURN(TaskSummary summary, ws_.GetTask(name));
    RUNTRACK_RETURN_IF_ERROR(ReconcileAbandoned(tasks_dir_, {summary}).status());
    return CancelOutcome::kCancelled;
  }
  RUNTRACK_RETURN_IF_ERROR(UpdateTaskInfo(tasks_dir_, name, [](json::object& i) -> Status {
    i["cancel_requested_at"] = util::NowSeconds();
    return Status::Ok();
  }));
  RUNTRACK_RETURN_IF_ERROR(util::TouchFile(tasks_dir_ / name / kCancelMarker));
  return CancelOutcome::kRequested;
}

void TaskRunnerImpl::MonitorLoop() {
  auto last_heartbeat = Clock::now(), last_scan = Clock::now() - opt_.scan_interval;
  for (;;) {
    std::vector<std::string> owned;
    {
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, std::chrono::milliseconds(200), [&] { return stopping_; });
      if (stopping_) return;
      for (const auto& [n, o] : owned_) owned.push_back(n);
    }
    (void)SyncFinalStatuses();
    // Cancel requests left by other processes (Cancel() on a task we own).
    for (const auto& n : owned) {
      std::error_code ec;
      fs::path marker = tasks_dir_ / n / kCancelMarker;
      if (fs::exists(marker, ec)) {
        fs::remove(marker, ec);
        (void)Cancel(n);
      }
    }
    auto now = Clock::now();
    if (now - last_heartbeat >= opt_.heartbeat_interval) {
      last_heartbeat = now;
      double t = util::NowSeconds();
      for (const auto& n : owned)
        (void)UpdateTaskInfo(tasks_dir_, n, [&](json::object& i) -> Status {
          if (!OwnedByUs(i)) return Status::FailedPrecondition("not ours");
          WriteLease(i, t);
          return Status::Ok();
        });
    }
    if (now - last_scan >= opt_.scan_interval) {
      last_scan = now;
      if (opt_.shared_queue) {
        // Cancels sent through other runners reach us through the queue.
        std::vector<SharedTaskClaim> claims;
        {
          std::lock_guard lock(mu_);
          for (const auto& [n, o] : owned_)
            if (o.claim) claims.push_back(*o.claim);
        }
        for (const auto& c : claims) {
          auto asked = opt_.shared_queue->CancelRequested(c);
          if (asked.ok() && *asked) (void)Cancel(c.name);
        }
        RecoverShared();
      } else {
        (void)ws_.ReconcileAbandonedTasks();
      }
    }
  }
}

void TaskRunnerImpl::Shutdown() {
  std::vector<std::string> queued;
  std::vector<SharedTaskClaim> released;
  std::vector<pid_t> groups;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    for (auto& [n, o] : owned_) {
      if (!o.started) queued.push_back(n);
      o.shutdown = true;
      if (o.pgid > 0) groups.push_back(o.pgid);
    }
    queue_.clear();
    for (const auto& n : queued) {
      if (owned_[n].claim) released.push_back(*owned_[n].claim);
      owned_.erase(n);
    }
  }
  cv_.notify_all();
  queue_cv_.notify_all();
  // Claimed from the shared queue but not started: back to the queue for another runner, and the
  // folder waits there unowned (not cancelled, as a task of our own queue is).
  for (const auto& c : released) {
    (void)opt_.shared_queue->Release(c);
    (void)UpdateTaskInfo(tasks_dir_, c.name, [&](json::object& i) -> Status {
      if (!OwnedByUs(i) || GetString(i, "status") != "queued") return Status::FailedPrecondition("not ours");
      for (const char* k : kLeaseKeys) i.erase(k);
      return Status::Ok();
    });
  }
  for (const auto& n : queued) {
    bool shared = std::any_of(released.begin(), released.end(), [&](const SharedTaskClaim& c) { return c.name == n; });
    if (!shared) (void)SetFinal(n, "queued", "cancelled", false, nullptr);
  }
  // Pyruns' shutdown rule: our running tasks are killed and marked failed (system_shutdown).
  for (pid_t g : groups) TerminateProcessGroup(g, opt_.cancel_grace);
  for (auto& t : workers_) if (t.joinable()) t.join();
  std::list<std::thread> run_now;
  {
    std::lock_guard lock(mu_);
    run_now.swap(run_now_);
  }
  for (auto& t : run_now) if (t.joinable()) t.join();
  if (monitor_.joinable()) monitor_.join();
  (void)SyncFinalStatuses();
  std::error_code ec;
  fs::remove(RunnerLockPath(tasks_dir_, token_), ec);
  runner_lock_.Release();
}

}  // namespace

Result<std::unique_ptr<TaskRunner>> TaskRunner::Start(Workspace& workspace, TaskRunnerOptions options) {
  if (options.workers < 1 || options.workers > 32)
    return Status::InvalidArgument(fmt::format("workers must be 1..32, got {}", options.workers));
  if (options.cancel_grace.count() < 0 || options.lease_duration.count() <= 0 ||
      options.heartbeat_interval.count() <= 0 || options.scan_interval.count() <= 0)
    return Status::InvalidArgument("runner intervals must be positive");
  if (options.gpu.list_gpus && (options.gpu.max_tasks_per_gpu < 1 || options.gpu.gpus_per_task < 1))
    return Status::InvalidArgument("max_tasks_per_gpu and gpus_per_task must be at least 1");
  const bool runner_has_queue = options.shared_queue != nullptr;
  std::string token = NewToken();
  fs::path tasks_dir = workspace.dir() / "tasks";
  util::FileLock lock;
  RUNTRACK_ASSIGN_OR_RETURN(bool got, util::FileLock::TryAcquire(RunnerLockPath(tasks_dir, token), &lock));
  if (!got) return Status::Internal("a fresh runner token is already locked");
  auto runner = std::make_unique<TaskRunnerImpl>(workspace, std::move(options), std::move(token), std::move(lock));
  // Settle what dead runners left before taking new work.
  if (runner_has_queue) {
    RUNTRACK_RETURN_IF_ERROR(runner->RecoverSharedAtStart());
  } else {
    RUNTRACK_RETURN_IF_ERROR(workspace.ReconcileAbandonedTasks().status());
  }
  runner->StartThreads();
  return std::unique_ptr<TaskRunner>(std::move(runner));
}

}  // namespace runtrack
