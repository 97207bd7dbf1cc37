// TaskRunner: claims tasks on disk, runs them on a worker pool (or at once), cancels them.
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
    for (int k = 0; k < opt_.workers; ++k) workers_.emplace_back([this] { WorkerLoop(); });
    monitor_ = std::thread([this] { MonitorLoop(); });
  }

  ~TaskRunnerImpl() override { Shutdown(); }

  Result<SubmitReport> Submit(const std::vector<std::string>& names) override {
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

 private:
  struct Owned {
    bool started = false;   // taken by a thread; from now on only that thread settles it
    bool cancel = false;
    bool shutdown = false;
    pid_t pgid = 0;
    bool terminating = false;
  };

  Status Claim(const std::string& name);
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
  std::atomic<bool> needs_sync_{false};
  std::vector<std::thread> workers_;
  std::list<std::thread> run_now_;
  std::thread monitor_;
};

Status TaskRunnerImpl::Claim(const std::string& name) {
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
      info["status"] = "queued";
      info["queued_at"] = now;
      info.erase("cancel_requested_at");
      info.erase("gpu_wait");
      WriteLease(info, now);
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
  {
    std::lock_guard lock(mu_);
    auto it = owned_.find(name);
    if (it == owned_.end()) return;  // cancelled while queued
    it->second.started = true;
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
      finish_owned();
      return;
    }
    grant = std::move(g).value();
    gpu_env["CUDA_VISIBLE_DEVICES"] = grant->cuda_visible_devices;
    gpu_env["PYRUNS_ASSIGNED_GPUS"] = grant->cuda_visible_devices;
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
    owned_.erase(it);
    cv_.notify_all();
    lock.unlock();
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

  // Not ours: settle it if its owner is gone, else leave a request for the owner.
  auto info = ws_.ReadTaskInfo(name);
  if (!info.ok()) return info.status();
  std::string status = GetString(*info, "status", "pending");
  if (status != "queued" && status != "running")
    return Status::FailedPrecondition(
        fmt::format("task '{}' is {}; only queued or running tasks can be cancelled", name, status));
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
      (void)ws_.ReconcileAbandonedTasks();
    }
  }
}

void TaskRunnerImpl::Shutdown() {
  std::vector<std::string> queued;
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
    for (const auto& n : queued) owned_.erase(n);
  }
  cv_.notify_all();
  queue_cv_.notify_all();
  for (const auto& n : queued) (void)SetFinal(n, "queued", "cancelled", false, nullptr);
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
  std::string token = NewToken();
  fs::path tasks_dir = workspace.dir() / "tasks";
  util::FileLock lock;
  RUNTRACK_ASSIGN_OR_RETURN(bool got, util::FileLock::TryAcquire(RunnerLockPath(tasks_dir, token), &lock));
  if (!got) return Status::Internal("a fresh runner token is already locked");
  auto runner = std::make_unique<TaskRunnerImpl>(workspace, std::move(options), std::move(token), std::move(lock));
  // Settle what dead runners left before taking new work.
  RUNTRACK_RETURN_IF_ERROR(workspace.ReconcileAbandonedTasks().status());
  runner->StartThreads();
  return std::unique_ptr<TaskRunner>(std::move(runner));
}

}  // namespace runtrack
