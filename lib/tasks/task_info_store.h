// task_info.json: read, compare-and-set update, and the workspace status log.
//
// Every change goes through UpdateTaskInfo: an exclusive flock on `<task>/.runicorn-task.lock`,
// read, mutate (which may refuse: that is the compare), atomic replace (tmp + rename). Readers
// never lock: they see the old file or the new one. When the status changes, one line
// `<name>\t<status>\n` is appended (O_APPEND) to `tasks/.runicorn-status.log`, which is how
// listings in other processes learn about changes without re-reading every task.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>

#include "runtrack/tasks.h"

namespace runtrack::tasks {

inline constexpr std::string_view kTaskInfoFile = "task_info.json";
inline constexpr std::string_view kTaskLockFile = ".runicorn-task.lock";
inline constexpr std::string_view kStatusLogFile = ".runicorn-status.log";
inline constexpr std::string_view kMetricsFile = "task_metrics.jsonl";

// Pyruns' _RUN_HISTORY_KEYS: parallel arrays with one slot per run.
inline constexpr std::array<std::string_view, 10> kRunHistoryKeys = {
    "start_times", "finish_times", "pids", "pid_create_times", "run_statuses",
    "durations", "exit_codes", "source_states", "records", "tracks"};

Result<boost::json::object> LoadTaskInfo(const std::filesystem::path& task_dir);
Status WriteTaskInfo(const std::filesystem::path& task_dir, const boost::json::object& info, bool sync);

// The CAS described above. `mutate` returning non-ok leaves the file untouched and is returned.
// `sync` makes the replacement durable before returning (final statuses, creation).
Status UpdateTaskInfo(const std::filesystem::path& tasks_dir, std::string_view name,
                      const std::function<Status(boost::json::object&)>& mutate, bool sync = false);

// The log is a change signal, not a history: once an append leaves it at `rotate_at` bytes or
// more, it is replaced by a file holding only kStatusLogRotatedLine. A reader that sees a new
// inode, or a first log starting with that line, reloads every task (TaskIndex::RefreshLocked),
// which also covers lines appended to the old inode by processes that opened it before the
// replacement: their task_info.json writes precede their appends. ("*" is no task name, so
// readers that do not know the marker skip the line.)
inline constexpr uint64_t kStatusLogRotateBytes = 256 * 1024;
inline constexpr std::string_view kStatusLogRotatedLine = "*\trotated\n";
Status AppendStatusLog(const std::filesystem::path& tasks_dir, std::string_view name,
                       std::string_view status, uint64_t rotate_at = kStatusLogRotateBytes);

// Pads (null; {} for records/tracks) or truncates every per-run array to `run_index` entries.
void NormalizeRunHistory(boost::json::object& info);

// Field access that tolerates missing keys and wrong types (files written by other tools).
std::string GetString(const boost::json::object& o, std::string_view key, std::string fallback = "");
double GetNumber(const boost::json::object& o, std::string_view key, double fallback = 0);
bool GetBool(const boost::json::object& o, std::string_view key, bool fallback = false);

// A task's summary; an unknown status string reads as failed (it cannot be resumed).
TaskSummary SummaryFromInfo(std::string_view name, const boost::json::object& info);

// Folds complete lines of task_metrics.jsonl (from byte `from`) into records/tracks. Returns the
// offset just past the last complete line. Lines that do not parse are skipped.
size_t FoldMetricsLines(std::string_view text, size_t from, boost::json::object& info);

}  // namespace runtrack::tasks
