#include "tasks/task_order.h"

#include <set>

#include <fmt/format.h>

#include "tasks/task_info_store.h"

namespace runtrack::tasks {

namespace fs = std::filesystem;
namespace json = boost::json;

Status WriteTaskOrder(const fs::path& tasks_dir, const std::vector<TaskOrderItem>& items) {
  if (items.empty()) return Status::InvalidArgument("reorder needs at least one task");
  if (items.size() > kMaxReorderItems)
    return Status::InvalidArgument(fmt::format("reorder takes at most {} tasks", kMaxReorderItems));
  std::set<std::string_view> seen;
  for (const auto& item : items) {
    RUNTRACK_RETURN_IF_ERROR(CheckTaskName(item.name));
    if (!seen.insert(item.name).second)
      return Status::InvalidArgument(fmt::format("task '{}' appears twice in the new order", item.name));
    std::error_code ec;
    if (!fs::is_directory(tasks_dir / item.name, ec))
      return Status::NotFound(fmt::format("task '{}' does not exist", item.name));
  }
  for (size_t i = 0; i < items.size(); ++i) {
    const TaskOrderItem& item = items[i];
    RUNTRACK_RETURN_IF_ERROR(UpdateTaskInfo(tasks_dir, item.name, [&](json::object& info) {
      info["task_order"] = static_cast<int64_t>(i);
      if (item.pinned) info["pinned"] = *item.pinned;
      return Status::Ok();
    }));  // UpdateTaskInfo logs "reordered" when the order or pin changed
  }
  return Status::Ok();
}

}  // namespace runtrack::tasks
