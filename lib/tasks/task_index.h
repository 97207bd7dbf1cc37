// The in-memory list of a workspace's tasks, kept current cheaply so that listing 10,000 tasks
// does not re-read 10,000 files.
//
// Freshness: a listing first stats `tasks/` (a changed mtime means tasks were added, renamed or
// trashed: re-read the directory, load only new names) and `tasks/.runicorn-status.log` (every
// status change made through libruntrack, in any process, appends the task's name: reload just
// those). Edits by other tools (Pyruns itself) are seen with TaskListQuery::rescan.
//
// Thread safety: all methods may be called concurrently (one internal mutex).
#pragma once

#include <sys/stat.h>

#include <deque>
#include <filesystem>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "runtrack/tasks.h"

namespace runtrack::tasks {

class TaskIndex {
 public:
  explicit TaskIndex(std::filesystem::path tasks_dir) : tasks_dir_(std::move(tasks_dir)) {}

  Result<TaskPage> List(const TaskListQuery& query);
  // Every task currently queued or running, as last seen (after a refresh).
  Result<std::vector<TaskSummary>> Active();
  // Refreshes, then the changes after `since` (Workspace::ChangesSince). A refresh records a
  // folder that appeared (created) or went (deleted), one that reappeared under another name with
  // the same inode (renamed), and each status-log line of a known task (its new status, or
  // "reordered"), so no step of queued → running → completed is lost between two refreshes. A
  // rescan (edits by other tools) records a task whose status or task_order/pinned differs.
  Result<TaskChanges> ChangesSince(uint64_t since);

  static constexpr size_t kKeptChanges = 4096;

 private:
  Status RefreshLocked(bool rescan);
  // `record_diff`: record a change when the reloaded summary differs (rescans only; the status
  // log's lines are recorded as they are read).
  void ReloadLocked(const std::string& name, bool record_diff);
  void RecordLocked(std::string name, std::string event, std::string old_name = {});

  std::mutex mu_;
  std::filesystem::path tasks_dir_;
  bool loaded_ = false;
  struct timespec dir_mtime_ {};
  ino_t status_log_ino_ = 0;
  off_t status_log_offset_ = 0;
  std::unordered_map<std::string, TaskSummary> tasks_;
  std::unordered_map<std::string, ino_t> inodes_;  // of each task folder, to tell a rename
  uint64_t revision_ = 0;
  std::deque<TaskChange> changes_;  // the last kKeptChanges, revision order
};

// Listing order: pinned first, then active (running, queued), then tasks without a manual order
// before ordered ones, ordered ones by task_order, then newest created_at, then name in natural
// order (task_2-of-10 before task_10-of-10).
bool TaskListOrder(const TaskSummary& a, const TaskSummary& b);

}  // namespace runtrack::tasks
