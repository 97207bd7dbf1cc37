// Manual task order (Pyruns' reorder): `task_order` in each task_info.json.
#pragma once

#include <filesystem>
#include <vector>

#include "runtrack/tasks.h"

namespace runtrack::tasks {

inline constexpr size_t kMaxReorderItems = 10000;

// Workspace::ReorderTasks. Every name is checked (valid, no duplicate, its folder exists) before
// anything is written; then each task gets task_order = its index (and pinned when given) by a
// compare-and-set of its own, and one `<name>\treordered` line in the status log, so listings in
// every process reload it (task_index.h) and report it as a "reordered" change.
Status WriteTaskOrder(const std::filesystem::path& tasks_dir, const std::vector<TaskOrderItem>& items);

}  // namespace runtrack::tasks
