// Tasks: a disk-first experiment launcher compatible with Pyruns workspaces.
//
// A project owns `<project>/_pyruns_/`. A *workspace* is either a script workspace
// (`_pyruns_/<script stem>/`, one Python entry script and its `config_default.yaml` template) or
// the shell workspace (`_pyruns_/_shell_/`, arbitrary shell payloads). A *task* is a directory
// `tasks/<name>/` with an immutable config snapshot and `task_info.json`; every execution of it
// appends a numbered *run* (`run_logs/runN.log`, one slot in each per-run array), so reruns never
// overwrite history. The on-disk format is Pyruns' (docs/TASKS.md lists where we differ): Pyruns
// can open our workspaces and we open its.
//
// Disk is the only source of truth. Every change of a task's state is a compare-and-set on its
// task_info.json under an flock, so several processes (a viewer and a CLI runner) may drive one
// workspace. A runner proves it is alive by holding an flock; a task whose runner is gone is
// found by the next ReconcileAbandonedTasks() and marked failed (running) or cancelled (queued).
//
// Thread safety: a Workspace and a TaskRunner may be used from any number of threads at once.
// Nothing here throws; every fallible call returns Status / Result.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/object.hpp>

#include "runtrack/status.h"

namespace runtrack {

class SharedTaskQueue;  // runtrack/task_queue.h

// ---------------------------------------------------------------------------------------------
// Statuses and names

enum class TaskStatus { kPending, kQueued, kRunning, kCompleted, kFailed, kCancelled };
inline constexpr size_t kTaskStatusCount = 6;

// "pending", "queued", "running", "completed", "failed", "cancelled" (Pyruns' strings).
std::string_view TaskStatusName(TaskStatus status);
// Parses one of the names above; anything else is InvalidArgument naming the valid values.
Result<TaskStatus> ParseTaskStatus(std::string_view name);

enum class TaskKind { kPython, kShell };
enum class WorkspaceKind { kScript, kShell };

// Pyruns' task-name rules: 1..200 bytes, no leading/trailing whitespace, no `@`, no `<>:"/\|?*`
// or control characters, no leading `.`/`-`, no trailing `.`, not a Windows reserved name
// (CON, NUL, COM1, ...), not `.`/`..`. A name that passes can never leave `tasks/`.
Status CheckTaskName(std::string_view name);

// ---------------------------------------------------------------------------------------------
// Batch templates (Pyruns' grammar, applied to every string leaf of a YAML mapping)
//
//   a | b | c          product over the pieces
//   (a | b | c)        zip: every zip leaf must have the same length
//   30:40[:2]          int range, stop exclusive (also `(30, 40[, 2])`); an empty range or a
//                      zero step is not a range and the string stays as it is
//   \|                 a literal `|`
// Pieces are typed like Python's literal_eval (ints, floats, quoted strings, True/False/None,
// lists), then case-insensitive true/false; anything else stays a string. Configs come out in
// Pyruns' order: product leaves in document order (last fastest), each combination crossed with
// every zip tuple.

inline constexpr size_t kDefaultBatchLimit = 10000;

struct ExpandedConfig {
  std::string yaml;  // the config as a YAML document (template key order kept)
  std::string desc;  // Pyruns' `_meta_desc`, e.g. "lr=0.1, seed=1" (short keys)
};

// How many configs `yaml_text` expands to, without expanding it. InvalidArgument if the YAML does
// not parse, its root is not a mapping (null counts as `{}`), or zip leaves differ in length
// ("All (zip) parameters must have equal length. Got: a=3, b.c=2").
Result<size_t> CountBatchConfigs(std::string_view yaml_text);

// Every config, in order. Fails like CountBatchConfigs, and with Pyruns' message if the count
// exceeds `limit` ("Batch expansion would create 12000 tasks; limit is 10000. Narrow the range
// or split it into smaller batches."), checked before anything is expanded.
Result<std::vector<ExpandedConfig>> ExpandBatchTemplate(std::string_view yaml_text,
                                                        size_t limit = kDefaultBatchLimit);

// ---------------------------------------------------------------------------------------------
// Workspaces and tasks

struct TaskSummary {
  std::string name;
  TaskStatus status = TaskStatus::kPending;
  TaskKind kind = TaskKind::kPython;
  std::string created_at;   // Pyruns' local time "YYYY-MM-DD_HH-MM-SS"
  bool pinned = false;
  int run_index = 0;        // runs started so far (the last run is run_index)
  double queued_at = 0;     // epoch seconds, 0 when never queued
  int64_t task_order = -1;  // manual position set by ReorderTasks (Pyruns' task_order); -1: none
};

struct TaskListQuery {
  std::optional<TaskStatus> status;  // filter; counts below are always over every task
  size_t offset = 0;
  size_t limit = 50;
  // Re-read every task_info.json. Changes made through libruntrack (in any process) are seen
  // without it; this is for edits by other tools, e.g. Pyruns itself.
  bool rescan = false;
};

struct TaskPage {
  // Pinned first, then active (running/queued), then tasks without a manual order newest first,
  // then the manually ordered ones by task_order (Pyruns' listing order).
  std::vector<TaskSummary> items;
  size_t total = 0;                // tasks matching the filter
  size_t offset = 0;
  bool has_more = false;
  std::array<size_t, kTaskStatusCount> status_counts{};  // indexed by TaskStatus, all tasks
};

enum class TaskCreationMode {
  kBatch,   // expand batch syntax (Pyruns' "form" mode)
  kSingle,  // exactly one task; batch syntax is refused with Pyruns' message (its "yaml" mode)
};

struct CreateTasksOptions {
  // Trimmed; "task" when empty. The batch is named `<prefix>_<i>-of-<n>` when n > 1.
  std::string name_prefix;
  bool append_timestamp = true;  // prefix += "_YYYY-MM-DD_HH-MM-SS"
  TaskCreationMode mode = TaskCreationMode::kBatch;
  // Script workspace: the template YAML; empty means the workspace's config_default.yaml.
  std::string yaml_text;
  // Shell workspace: the payload, written to `config.sh`.
  std::string shell_text;
  // Stored as the task's `env` (applied over the runner's global env when it runs).
  std::map<std::string, std::string> env;
  size_t limit = kDefaultBatchLimit;
};

// One read of a task's log (Pyruns' GET /api/tasks/{name}/logs).
struct TaskLogQuery {
  // "runN.log", "error.log" or "queue.log"; empty = Pyruns' default (queued → queue.log,
  // running → the current run's log, failed → error.log, else the latest runN.log).
  std::string log_file_name;
  // Absent: the tail (last `max_bytes`). Present: up to `max_bytes` from this offset.
  std::optional<uint64_t> offset;
  // The identity returned by the previous read; a different file (rotated, recreated) resets.
  std::string log_identity;
  size_t max_bytes = 50000;
};

struct TaskLogChunk {
  std::string selected_log;
  std::vector<std::string> available_logs;  // queue.log?, run1.log … runN.log, error.log?
  std::string content;
  uint64_t offset = 0;        // file position just past `content`; pass it back to continue
  bool reset = false;         // the file changed identity or shrank: content restarts at 0
  std::string log_identity;   // hex "st_dev:st_ino"
};

// One entry of a reorder: the task's new position is its index in the list.
struct TaskOrderItem {
  std::string name;
  std::optional<bool> pinned;  // set: also pins/unpins it
};

// What changed in a workspace, as its task index saw it (Workspace::ChangesSince).
struct TaskChange {
  uint64_t revision = 0;  // grows by one per change, per Workspace object
  std::string name;
  // "created", "deleted", "renamed" (from old_name), "reordered" (task_order or pinned), or the
  // new status: "pending", "queued", "running", "completed", "failed", "cancelled".
  std::string event;
  std::string old_name;
};

struct TaskChanges {
  uint64_t revision = 0;          // the newest revision; pass it back as `since` next time
  bool truncated = false;         // changes after `since` were dropped: refetch everything
  std::vector<TaskChange> changes;  // revision order
};

struct ReconcileReport {
  std::vector<std::string> failed;     // were running under a dead runner
  std::vector<std::string> cancelled;  // were queued under a dead runner
};

class Workspace {
 public:
  virtual ~Workspace() = default;

  // The script workspace of `script_path` under `<project_root>/_pyruns_/<script stem>/`,
  // created (script_info.json, config_default.yaml from `config_template`, tasks/) if absent.
  // An existing config_default.yaml is kept.
  static Result<std::unique_ptr<Workspace>> OpenScript(const std::filesystem::path& project_root,
                                                      const std::filesystem::path& script_path,
                                                      std::string_view config_template = "");
  // `<project_root>/_pyruns_/_shell_/`, created if absent.
  static Result<std::unique_ptr<Workspace>> OpenShell(const std::filesystem::path& project_root);
  // An existing workspace directory (one with tasks/, config_default.yaml or script_info.json),
  // e.g. one Pyruns made.
  static Result<std::unique_ptr<Workspace>> Open(const std::filesystem::path& workspace_dir);

  virtual const std::filesystem::path& dir() const = 0;
  virtual const std::filesystem::path& project_root() const = 0;
  virtual WorkspaceKind kind() const = 0;
  virtual const std::filesystem::path& script_path() const = 0;  // empty for the shell workspace

  // Creates every task of the batch or none (staged, then published; a failure removes what was
  // published). Returns the names in creation order.
  virtual Result<std::vector<std::string>> CreateTasks(const CreateTasksOptions& options) = 0;

  virtual Result<TaskPage> ListTasks(const TaskListQuery& query) = 0;
  virtual Result<TaskSummary> GetTask(std::string_view name) = 0;
  // The whole task_info.json, with records/tracks appended since the last fold merged in.
  virtual Result<boost::json::object> ReadTaskInfo(std::string_view name) = 0;

  // Reads a log of the task; NotFound if that log does not exist (yet), InvalidArgument for a
  // name that is not one of the log names above.
  virtual Result<TaskLogChunk> ReadTaskLog(std::string_view name, const TaskLogQuery& query) = 0;

  // Moves the task to tasks/.trash/ (Pyruns' soft delete). FailedPrecondition while it is
  // queued or running.
  virtual Status TrashTask(std::string_view name) = 0;

  // Edits Pyruns' UI makes. Each is a compare-and-set on task_info.json. For notes and env,
  // `expected` is the value the caller last saw: if the file holds something else, nothing is
  // written and the result is FailedPrecondition (an HTTP layer's 409).
  virtual Status SetPinned(std::string_view name, bool pinned) = 0;
  virtual Status UpdateNotes(std::string_view name, const std::string& notes,
                             const std::string& expected) = 0;
  virtual Status UpdateEnv(std::string_view name, const std::map<std::string, std::string>& env,
                           const std::map<std::string, std::string>& expected) = 0;
  // Renames the task folder (and its `name`). FailedPrecondition while queued or running,
  // AlreadyExists if `new_name` is taken.
  virtual Status RenameTask(std::string_view name, std::string_view new_name) = 0;

  // Pyruns' reorder: writes task_order = the item's index (and pinned when given) into each
  // task's task_info.json (a compare-and-set each; a concurrent status change is kept). Listings
  // and the runner's queue follow it (TaskRunner). InvalidArgument for an empty list, more than
  // 10,000 items, a bad name or a duplicate; NotFound naming a missing task, checked before
  // anything is written.
  virtual Status ReorderTasks(const std::vector<TaskOrderItem>& items) = 0;

  // Changes since `since` (a revision from an earlier call; UINT64_MAX: none, just the current
  // revision), refreshing the task index first. Costs two stat(2)s when nothing changed. Sees
  // changes made by any process through libruntrack (status log) and folders added, renamed or
  // removed by anyone. The index keeps the last 4096 changes; older ones set `truncated`.
  virtual Result<TaskChanges> ChangesSince(uint64_t since) = 0;

  // pyruns.record(): merges `values` into records[run_index - 1]. pyruns.track(): appends each
  // value to tracks[run_index - 1][key]. One O_APPEND write of one line to
  // `<task>/task_metrics.jsonl` per call (no rewrite of task_info.json); the runner folds the
  // lines into task_info.json when the run ends. Non-finite numbers are stored as null.
  // InvalidArgument for a bad name, a run_index < 1, or an empty update.
  virtual Status AppendRecord(std::string_view task, int run_index,
                              const boost::json::object& values) = 0;
  virtual Status AppendTrack(std::string_view task, int run_index,
                             const std::vector<std::pair<std::string, double>>& values) = 0;

  // Marks tasks whose runner is gone: running → failed (its process group is killed if still
  // there), queued → cancelled. Runners call it themselves periodically.
  virtual Result<ReconcileReport> ReconcileAbandonedTasks() = 0;
};

// ---------------------------------------------------------------------------------------------
// Running

struct GpuSlotInfo {
  int index = 0;
  std::string uuid;  // may be empty
  std::string name;
};

struct GpuSlotOptions {
  // The GPUs of this machine (e.g. from NVML). Unset: GPU scheduling is off.
  std::function<Result<std::vector<GpuSlotInfo>>()> list_gpus;
  int max_tasks_per_gpu = 1;
  int gpus_per_task = 1;
  // A task that cannot get its GPUs within this time fails with reason gpu_wait_timeout.
  std::chrono::milliseconds max_wait = std::chrono::hours(48);
  // Slot i of a GPU is an flock on `<slot_lock_dir>/gpu-<uuid or index>-slot<i>.lock`, so every
  // runner on the machine (any workspace, any project) shares the slots, and a dead runner's
  // slots free themselves. Default: /tmp/runicorn-gpu-slots.
  std::filesystem::path slot_lock_dir;
};

struct TaskRunnerOptions {
  int workers = 1;                       // pool size, 1..32
  std::string python_executable = "python3";
  std::string shell_executable = "/bin/sh";       // runs a shell task's config.sh
  std::map<std::string, std::string> global_env;  // below each task's own env
  // Exported to the child as RUNICORN_DIR when not empty, so `rn.init()` finds the store.
  std::filesystem::path runicorn_dir;
  std::chrono::milliseconds cancel_grace{1500};      // SIGTERM → SIGKILL
  std::chrono::milliseconds lease_duration{120000};  // Pyruns' lease_until = heartbeat + this
  std::chrono::milliseconds heartbeat_interval{30000};
  std::chrono::milliseconds scan_interval{5000};     // ReconcileAbandonedTasks
  // (Cancel requests from other processes are picked up every 200 ms.)
  GpuSlotOptions gpu;
  // Set: tasks come from this queue, shared with other runners of the workspace (see
  // runtrack/task_queue.h); workers ask it for work every `shared_queue_poll` when idle. Unset:
  // this runner's own queue, as before.
  std::shared_ptr<SharedTaskQueue> shared_queue;
  std::chrono::milliseconds shared_queue_poll{250};
};

struct SubmitReport {
  std::vector<std::string> queued;                    // claimed by this runner, in FIFO order
  std::vector<std::pair<std::string, Status>> skipped;  // with the reason each was not
};

enum class CancelOutcome {
  kCancelled,  // it was ours: queued → cancelled, or running and now verified dead
  kRequested,  // another live runner owns it; the request is on disk and that runner acts on it
};

// Runs tasks of one workspace. Each run is a child process in its own process group with stdout
// and stderr teed to run_logs/runN.log. Children get PR_SET_PDEATHSIG(SIGKILL), and the runner's
// flock marks its tasks as owned: if the runner dies, its direct children die with it and the next
// reconcile kills what is left of their groups and marks the tasks failed.
//
// Thread safety: every method may be called from any thread. The Workspace must outlive it.
class TaskRunner {
 public:
  // Queued tasks become cancelled; running ones are terminated like Cancel() and marked failed
  // (reason system_shutdown), as Pyruns does when its server stops.
  virtual ~TaskRunner() = default;

  static Result<std::unique_ptr<TaskRunner>> Start(Workspace& workspace, TaskRunnerOptions options);

  // Claims each task (pending or terminal → queued, compare-and-set on disk) and queues it
  // for the pool. A task that cannot be claimed is reported in `skipped`, never ignored.
  // Queue order: tasks with a manual order (ReorderTasks) first, by task_order as it is when a
  // worker becomes free; the others FIFO.
  virtual Result<SubmitReport> Submit(const std::vector<std::string>& names) = 0;
  // Starts the task now, outside the pool (it takes no worker).
  virtual Status RunNow(std::string_view name) = 0;
  // Queued → cancelled without a run slot; running → SIGTERM to its group, `cancel_grace`,
  // SIGKILL, and returns once the group is verified gone. FailedPrecondition unless queued or
  // running.
  virtual Result<CancelOutcome> Cancel(std::string_view name) = 0;
  // Blocks until nothing this runner owns is queued or running, then makes the final statuses
  // durable (see docs/TASKS.md, group commit); Busy if `timeout` passes first.
  virtual Status WaitIdle(std::chrono::milliseconds timeout) = 0;
  // `host:pid:token8`, as written to task_info.json's runner_id.
  virtual const std::string& runner_id() const = 0;
};

}  // namespace runtrack
