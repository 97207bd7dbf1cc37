// Finds tasks whose owner is gone and settles them (see Workspace::ReconcileAbandonedTasks).
#pragma once

#include <filesystem>
#include <vector>

#include "runtrack/tasks.h"

namespace runtrack::tasks {

// For each candidate (queued or running as last listed) whose owner is dead: running → failed
// (reason runner_lost; what is left of its process group is killed), queued → cancelled. Each
// change is a compare-and-set, so a task that moved on meanwhile is left alone.
Result<ReconcileReport> ReconcileAbandoned(const std::filesystem::path& tasks_dir,
                                           const std::vector<TaskSummary>& candidates);

}  // namespace runtrack::tasks
