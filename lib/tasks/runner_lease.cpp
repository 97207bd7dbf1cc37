#include "tasks/runner_lease.h"

#include <signal.h>

#include <cerrno>
#include <cmath>

#include "tasks/process_util.h"
#include "tasks/task_info_store.h"
#include "util/files.h"

namespace runtrack::tasks {

namespace fs = std::filesystem;
namespace json = boost::json;

fs::path RunnerLockPath(const fs::path& tasks_dir, const std::string& token) {
  return tasks_dir / (".runicorn-runner-" + token + ".lock");
}

bool IsSharedQueued(const json::object& info) {
  const json::value* marked = info.if_contains(kSharedQueueKey);
  return GetString(info, "status") == "queued" && marked != nullptr && marked->is_bool() && marked->as_bool();
}

pid_t LastRunPid(const json::object& info) {
  auto it = info.find("pids");
  if (it == info.end() || !it->value().is_array() || it->value().as_array().empty()) return 0;
  const json::value& v = it->value().as_array().back();
  return v.is_int64() ? static_cast<pid_t>(v.as_int64()) : 0;
}

Result<bool> TaskOwnerAlive(const fs::path& tasks_dir, const json::object& info, double now) {
  // Queued in a shared queue (runtrack/task_queue.h): the queue settles it, also when the runner
  // that claimed it died before starting it (it is queued again there, for another runner).
  if (IsSharedQueued(info)) return true;
  std::string token = GetString(info, "runicorn_runner");
  if (!token.empty()) {
    // Tokens are written by us as 32 hex digits; anything else cannot name a lock file.
    if (token.size() != 32 || token.find_first_not_of("0123456789abcdef") != std::string::npos)
      return false;
    fs::path lock_path = RunnerLockPath(tasks_dir, token);
    std::error_code ec;
    if (!fs::exists(lock_path, ec)) return false;
    util::FileLock probe;
    RUNTRACK_ASSIGN_OR_RETURN(bool got, util::FileLock::TryAcquire(lock_path, &probe));
    return !got;
  }
  // Pyruns' lease: alive while unexpired, or while the recorded process still runs.
  if (GetNumber(info, "lease_until", 0) > now) return true;
  pid_t pid = LastRunPid(info);
  if (pid <= 0) return false;
  auto created = ProcessCreateTime(pid);
  if (!created) return false;
  auto it = info.find("pid_create_times");
  if (it != info.end() && it->value().is_array() && !it->value().as_array().empty()) {
    const json::value& v = it->value().as_array().back();
    if (v.is_number() && std::fabs(v.to_number<double>() - *created) > 1.0) return false;
  }
  return true;
}

}  // namespace runtrack::tasks
