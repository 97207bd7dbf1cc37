// Who owns a queued or running task, and whether that owner is still alive.
//
// A libruntrack runner holds an exclusive flock on `tasks/.runicorn-runner-<token>.lock` for its
// whole life and writes its token into every task it claims (`runicorn_runner`). The kernel drops
// the lock when the process dies, so "lock free" means "runner gone" with no PID-reuse or clock
// question. Tasks claimed by Pyruns carry only its lease (`lease_until`, pids): those count as
// abandoned once the lease has expired and the recorded process is gone.
#pragma once

#include <filesystem>
#include <string>

#include <boost/json/object.hpp>

#include "runtrack/status.h"

namespace runtrack::tasks {

std::filesystem::path RunnerLockPath(const std::filesystem::path& tasks_dir, const std::string& token);

// True when the task's owner (ours or Pyruns') is alive. Checked on the task_info as read.
Result<bool> TaskOwnerAlive(const std::filesystem::path& tasks_dir, const boost::json::object& info,
                            double now);

// task_info.json's mark of a task queued in a shared queue (TaskRunnerOptions::shared_queue):
// true from its Submit until a runner starts it (or it is cancelled there).
inline constexpr const char* kSharedQueueKey = "runicorn_shared_queue";
bool IsSharedQueued(const boost::json::object& info);

// The last run's process group leader, if it is still the process that was recorded.
pid_t LastRunPid(const boost::json::object& info);

}  // namespace runtrack::tasks
