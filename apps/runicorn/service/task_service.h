// Use cases of the task runner (Pyruns-compatible launcher, include/runtrack/tasks.h) for the
// viewer's /api/workspace, /api/generator and /api/tasks routes and for `runicorn tasks`.
//
// The service serves one project root (the folder holding `_pyruns_/`), independent of the
// store root, and one *current* workspace in it at a time, as Pyruns' server does: the one named
// in `_pyruns_/.active_workspace`, else the only workspace there, else the shell workspace.
// It owns at most one TaskRunner (worker pool) per process, started on the first run with the
// worker count asked for then; the pool size is fixed for the runner's life (docs/TASKS.md).
//
// Everything from outside (task names, log names, workspace paths) is validated here before it
// reaches the library; nothing resolves outside `<project root>/_pyruns_/`.
//
// Thread safety: every method may be called from any number of threads at once.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "runtrack/status.h"
#include "runtrack/task_queue.h"
#include "runtrack/tasks.h"

namespace runicorn::service {

struct TaskServiceOptions {
  std::filesystem::path project_root;      // holds `_pyruns_/`; absolute after construction
  std::filesystem::path runicorn_dir;      // exported to tasks as RUNICORN_DIR when set
  std::string shell_executable = "/bin/sh";
  std::string python_executable = "python3";
  std::chrono::milliseconds cancel_grace{1500};
  // Set (`viewer --catalog`, docs/SCALE-OUT.md "Tasks on PostgreSQL"): makes the queue a workspace
  // shares with the other replicas. The runner then starts with StartRunner, runs
  // `shared_workers` tasks at a time taken from that queue (1..32, `viewer --task-workers`),
  // checks it every `scan_interval` for cancels and dead replicas, and Run/RunNow/Cancel/Reorder
  // go through it. Unset: this process's queue.
  std::function<runtrack::Result<std::shared_ptr<runtrack::SharedTaskQueue>>(const runtrack::Workspace&)>
      shared_queue;
  int shared_workers = 1;
  std::chrono::milliseconds scan_interval{5000};
};

struct WorkspaceView {
  std::string run_root;       // the workspace folder
  std::string tasks_dir;
  std::string project_root;
  std::string script_path;    // "" for the shell workspace
  std::string script_name;    // script stem, or "_shell_"
  std::string workspace_kind; // "script" | "shell"
  bool workspace_ready = false;
};

struct GeneratorRequest {
  std::string mode;           // script workspace: "form" (batch) | "yaml" (one task); shell: "shell"
  std::string yaml_text;      // empty: the workspace's config_default.yaml
  std::string shell_text;
  std::string name_prefix;
  bool append_timestamp = true;
  std::map<std::string, std::string> env;
};

struct GeneratorPreviewItem {
  size_t index = 0;
  std::string preview;        // Pyruns' `_meta_desc`, e.g. "lr=0.1, seed=1"
  std::string config_yaml;    // the expanded config (shell: the payload)
};

struct GeneratorPreview {
  size_t count = 0;
  std::vector<GeneratorPreviewItem> items;  // the first kPreviewItems
  std::string task_kind;                    // "python" | "shell"
  static constexpr size_t kPreviewItems = 6;
};

struct GeneratorResult {
  std::vector<std::string> names;  // creation order
  std::string task_kind;
};

// One task in full: Pyruns' task_info.json (with metrics appended since the last fold merged in)
// as text, plus what the UI shows beside it.
struct TaskDetail {
  runtrack::TaskSummary summary;
  std::string dir;
  std::string config_file;    // "config.yaml" | "config.sh"
  std::string config_text;    // the snapshot's content
  std::string task_info_json; // the whole task_info.json object, serialized
  std::string notes;
  std::map<std::string, std::string> env;
};

struct RunTasksReport {
  std::vector<std::string> queued;
  std::vector<std::pair<std::string, runtrack::Status>> skipped;
};

struct TrashReport {
  std::vector<std::string> deleted;
  std::vector<std::pair<std::string, runtrack::Status>> skipped;
};

class TaskService {
 public:
  explicit TaskService(TaskServiceOptions options);
  ~TaskService();  // stops the runner: queued tasks cancelled, running ones failed (system_shutdown)
  TaskService(const TaskService&) = delete;
  TaskService& operator=(const TaskService&) = delete;

  const std::filesystem::path& project_root() const { return options_.project_root; }

  // Starts the runner of the current workspace now (with a shared queue: so this replica takes
  // tasks from it without being asked). The runner follows a switch of workspace.
  runtrack::Status StartRunner();

  // Workspaces. Init* create the workspace if absent and make it current (and remembered in
  // `.active_workspace`). UseWorkspace switches to an existing one, named by its folder under
  // `_pyruns_/` or given as a path inside it; switching is refused while this process runs tasks.
  runtrack::Result<WorkspaceView> Current();
  runtrack::Result<WorkspaceView> InitScript(const std::filesystem::path& script, const std::string& config_text);
  runtrack::Result<WorkspaceView> InitShell();
  runtrack::Result<WorkspaceView> UseWorkspace(const std::string& name_or_path);

  runtrack::Result<GeneratorPreview> Preview(const GeneratorRequest& request);
  runtrack::Result<GeneratorResult> Create(const GeneratorRequest& request);

  runtrack::Result<runtrack::TaskPage> List(const runtrack::TaskListQuery& query);
  runtrack::Result<TaskDetail> Show(const std::string& name);
  runtrack::Result<runtrack::TaskLogChunk> ReadLog(const std::string& name, const runtrack::TaskLogQuery& query);

  // Claims and queues the tasks on this process's runner (started with `workers` if it is not
  // running yet). InvalidArgument when `names` is empty or workers is outside 1..32.
  runtrack::Result<RunTasksReport> Run(const std::vector<std::string>& names, int workers);
  // Runs one task at once on this process's runner, outside its pool (Pyruns' "run now"), also
  // while every worker is busy. With a shared queue the task is entered there claimed by this
  // replica, so no other replica runs it. FailedPrecondition with the runner's words when it is
  // already queued or running; Busy when the shared queue does not answer (folder unchanged).
  runtrack::Status RunNow(const std::string& name);
  runtrack::Result<runtrack::CancelOutcome> Cancel(const std::string& name);
  // Blocks until this process's runner is idle; Busy after `timeout`. Ok when there is no runner.
  runtrack::Status WaitIdle(std::chrono::milliseconds timeout);

  runtrack::Result<TrashReport> Trash(const std::vector<std::string>& names);
  // Moves `tasks/.trash/<entry>` back to `tasks/<as>` (default: the task's name before it was
  // trashed). AlreadyExists when that name is taken.
  runtrack::Result<std::string> Restore(const std::string& entry, const std::string& as);
  runtrack::Status Rename(const std::string& name, const std::string& new_name);
  // `pinned` unset: toggles. Returns the new value.
  runtrack::Result<bool> Pin(const std::string& name, std::optional<bool> pinned);
  // Pyruns' reorder (Workspace::ReorderTasks: task_order = index, pinned when given); the tasks'
  // summaries in the order given.
  runtrack::Result<std::vector<runtrack::TaskSummary>> Reorder(const std::vector<runtrack::TaskOrderItem>& items);

  // The current workspace, for the stream followers (task_follow.h), which hold it while they
  // run, and IsCurrent, which tells them when the service has switched to another one.
  runtrack::Result<std::shared_ptr<runtrack::Workspace>> SharedWorkspace() { return CurrentWorkspace(); }
  bool IsCurrent(const runtrack::Workspace* ws);
  // FailedPrecondition when the task no longer holds `expected` (HTTP 409).
  runtrack::Status UpdateNotes(const std::string& name, const std::string& notes, const std::string& expected);
  runtrack::Status UpdateEnv(const std::string& name, const std::map<std::string, std::string>& env,
                             const std::map<std::string, std::string>& expected);

  // Pyruns' CSV: one row per task run, `name,status,run,start_time,finish_time,duration_seconds,
  // exit_code,pid` then every record key (sorted); cells that a spreadsheet would take for a
  // formula get a leading `'`. Empty `names`: every task.
  runtrack::Result<std::string> ExportCsv(const std::vector<std::string>& names);

 private:
  // The current workspace (shared: a switch never frees it under a caller).
  runtrack::Result<std::shared_ptr<runtrack::Workspace>> CurrentWorkspace();
  // Starts the runner if there is none; the caller holds mu_.
  runtrack::Status EnsureRunnerLocked(int workers);
  runtrack::Result<WorkspaceView> Activate(std::unique_ptr<runtrack::Workspace> ws);
  runtrack::Status CheckName(const std::string& name) const;

  TaskServiceOptions options_;
  std::mutex mu_;
  std::shared_ptr<runtrack::Workspace> workspace_;  // guarded by mu_
  std::unique_ptr<runtrack::TaskRunner> runner_;    // guarded by mu_; of workspace_
  std::shared_ptr<runtrack::SharedTaskQueue> shared_queue_;  // guarded by mu_; runner_'s, if any
};

}  // namespace runicorn::service
