// The text Pyruns writes around a run: runN.log banners and error.log blocks.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "runtrack/status.h"

namespace runtrack::tasks {

std::string RunStartBanner(const std::string& task, const std::string& started_at);
// FINISH banner, exit code, duration (and the final status when it is not the exit code's).
std::string RunFinishBanner(int exit_code, double duration_seconds, const std::string& final_status);

// Appends one 70-`=` block to `<task>/run_logs/error.log`.
Status AppendErrorLog(const std::filesystem::path& task_dir, int run, const std::string& failed_at,
                      const std::string& reason, const std::vector<std::string>& command,
                      const std::string& workdir);

}  // namespace runtrack::tasks
