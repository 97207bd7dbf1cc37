// Reading a task's logs in pieces, for tails and live streams (Pyruns' log endpoint semantics).
#pragma once

#include <filesystem>

#include <boost/json/object.hpp>

#include "runtrack/tasks.h"

namespace runtrack::tasks {

// `info` is the task's task_info (for the default log choice). Reads without locks: logs only
// grow, and a reader that races a writer sees a shorter, still valid prefix.
Result<TaskLogChunk> ReadLog(const std::filesystem::path& task_dir, const boost::json::object& info,
                             const TaskLogQuery& query);

}  // namespace runtrack::tasks
