#include "tasks/run_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

#include "util/files.h"

namespace runtrack::tasks {

namespace fs = std::filesystem;

std::string RunStartBanner(const std::string& task, const std::string& started_at) {
  return fmt::format(
      "[PYRUNS] ==================== START ====================\n"
      "[PYRUNS] Task {} started at {}\n",
      task, started_at);
}

std::string RunFinishBanner(int exit_code, double duration_seconds, const std::string& final_status) {
  std::string text = fmt::format(
      "\n[PYRUNS] ==================== FINISH ====================\n"
      "[PYRUNS] Exit code: {}\n"
      "[PYRUNS] Duration: {:.3f}s\n",
      exit_code, duration_seconds);
  if (!final_status.empty()) text += fmt::format("[PYRUNS] Final status: {}\n", final_status);
  return text;
}

Status AppendErrorLog(const fs::path& task_dir, int run, const std::string& failed_at,
                      const std::string& reason, const std::vector<std::string>& command,
                      const std::string& workdir) {
  fs::path logs = task_dir / "run_logs";
  RUNTRACK_RETURN_IF_ERROR(util::CreateDirectories(logs));
  std::string cmd = "[";
  for (size_t k = 0; k < command.size(); ++k) cmd += fmt::format("{}'{}'", k ? ", " : "", command[k]);
  cmd += "]";
  std::string block = fmt::format(
      "{}\n[PYRUNS] Run #{} failed at {}\nreason={}\ncommand={}\nworkdir={}\nlog={}\n",
      std::string(70, '='), run, failed_at, reason, cmd, workdir,
      (logs / fmt::format("run{}.log", run)).string());
  fs::path path = logs / "error.log";
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return util::ErrnoStatus("open", path);
  Status s = util::WriteAll(fd, block.data(), block.size(), path);
  ::close(fd);
  return s;
}

}  // namespace runtrack::tasks
