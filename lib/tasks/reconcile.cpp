#include "tasks/reconcile.h"

#include <signal.h>

#include <map>

#include <boost/json/array.hpp>

#include "tasks/local_time.h"
#include "tasks/process_util.h"
#include "tasks/run_log.h"
#include "tasks/runner_lease.h"
#include "tasks/task_info_store.h"
#include "util/files.h"

namespace runtrack::tasks {

namespace fs = std::filesystem;
namespace json = boost::json;

Result<ReconcileReport> ReconcileAbandoned(const fs::path& tasks_dir,
                                           const std::vector<TaskSummary>& candidates) {
  ReconcileReport report;
  // A runner owns many tasks: probe each runner's lock once per pass, and read without the task
  // lock first, so a pass over a live runner's thousand queued tasks costs reads, not locks.
  std::map<std::string, bool> runner_alive;
  for (const TaskSummary& candidate : candidates) {
    auto current = LoadTaskInfo(tasks_dir / candidate.name);
    if (!current.ok()) continue;
    std::string token = GetString(*current, "runicorn_runner");
    if (!token.empty()) {
      auto it = runner_alive.find(token);
      if (it == runner_alive.end()) {
        RUNTRACK_ASSIGN_OR_RETURN(bool alive, TaskOwnerAlive(tasks_dir, *current, util::NowSeconds()));
        it = runner_alive.emplace(token, alive).first;
      }
      if (it->second) continue;
    }
    pid_t orphan_group = 0;
    bool was_running = false;
    Status s = UpdateTaskInfo(tasks_dir, candidate.name, [&](json::object& info) -> Status {
      std::string status = GetString(info, "status");
      if (status != "running" && status != "queued") return Status::FailedPrecondition("settled");
      double now = util::NowSeconds();
      RUNTRACK_ASSIGN_OR_RETURN(bool alive, TaskOwnerAlive(tasks_dir, info, now));
      if (alive) return Status::FailedPrecondition("owner alive");
      was_running = status == "running";
      if (was_running) {
        orphan_group = LastRunPid(info);
        info["status"] = "failed";
        info["progress"] = 1.0;
        int64_t runs = static_cast<int64_t>(GetNumber(info, "run_index", 0));
        NormalizeRunHistory(info);
        if (runs > 0) {
          info["run_statuses"].as_array()[runs - 1] = "failed";
          info["finish_times"].as_array()[runs - 1] = json::string(LocalTimestamp(now));
        }
      } else {
        info["status"] = "cancelled";
      }
      for (const char* key : {"runner_id", "runner_host", "lease_heartbeat", "lease_until",
                              "runicorn_runner", "queued_at", "gpu_wait"})
        info.erase(key);
      return Status::Ok();
    }, /*sync=*/true);
    if (s.code() == StatusCode::kFailedPrecondition || s.code() == StatusCode::kNotFound) continue;
    RUNTRACK_RETURN_IF_ERROR(s);
    if (was_running) {
      // The runner's death already SIGKILLed its direct child (PR_SET_PDEATHSIG); grandchildren
      // in the group are still there and must not be orphaned.
      if (orphan_group > 0 && ProcessGroupAlive(orphan_group)) ::kill(-orphan_group, SIGKILL);
      auto info = LoadTaskInfo(tasks_dir / candidate.name);
      int run = info.ok() ? static_cast<int>(GetNumber(*info, "run_index", 0)) : 0;
      (void)AppendErrorLog(tasks_dir / candidate.name, run, LocalTimestamp(util::NowSeconds()),
                           "runner_lost", {}, "");
      report.failed.push_back(candidate.name);
    } else {
      report.cancelled.push_back(candidate.name);
    }
  }
  return report;
}

}  // namespace runtrack::tasks
