// Pyruns' launcher (/api/launcher/*) without native dialogs: finding scripts, their configs and
// workspaces in the served project, checking a path, and opening a workspace.
//
// Every path from outside is resolved (relative to the project folder, symlinks followed) and
// must lie inside the project folder (TaskService::project_root()); the launcher never lists or
// opens anything else. Pyruns lets its UI browse the whole disk; a web page cannot here.
//
// Thread safety: stateless over a TaskService, which may be used from any thread.
#pragma once

#include <string>
#include <vector>

#include "runtrack/status.h"
#include "service/task_service.h"

namespace runicorn::service {

struct LauncherScript {
  std::string script_path;     // absolute
  std::string script_name;     // the workspace name it gets (its stem; "py_shell_" for _shell_.py)
  std::string label;           // path relative to the project folder
  std::string workspace_path;  // "" when it has no workspace yet
  std::string source;          // "file" | "workspace" | "workspace+file"
};

struct LauncherConfig {
  std::string path;   // absolute
  std::string label;  // "config_default.yaml (workspace)", "base.yaml", "configs/base.yaml"
  std::string kind;   // "workspace_default" | "script_dir" | "script_config_dir"
};

struct LauncherConfigs {
  std::vector<LauncherConfig> items;
  // How the script takes its config (a look at its source): "pyruns_load" (pyruns.load/read),
  // "hydra", "argparse" or "unknown".
  std::string config_source;
  // pyruns_load scripts need a YAML template and this one has no workspace default yet.
  bool requires_config_template = false;
};

struct LauncherWorkspace {
  std::string workspace_path;
  std::string script_path;  // "" for the shell workspace
  std::string script_name;
  std::string config_path;  // the config it would be opened with; "" when none
  std::string config_name;
  bool exists = false;
};

struct LauncherPathCheck {
  bool ok = false;
  std::string kind;             // as asked: "python" | "shell" | "config"
  std::string normalized_path;  // absolute, symlinks resolved; "" when outside the project
  std::string path_type;        // "file" | "directory" | "missing" ("" when outside)
  std::string message;          // why not ok; "" when ok
};

class TaskLauncher {
 public:
  explicit TaskLauncher(TaskService& tasks) : tasks_(tasks) {}

  // `*.py` directly in the project folder and the scripts of existing workspaces, by label.
  runtrack::Result<std::vector<LauncherScript>> Scripts();
  // InvalidArgument when `script` is not a .py file inside the project folder.
  runtrack::Result<LauncherConfigs> Configs(const std::string& script);
  // `script` empty: every existing workspace. Else the one `script` (with `config`) opens.
  runtrack::Result<std::vector<LauncherWorkspace>> Workspaces(const std::string& script, const std::string& config);
  // python: a .py file; shell: a directory (a shell workspace's root); config: a .yaml/.yml/.json
  // file. InvalidArgument only for an unknown kind; every other answer is `ok = false` + message.
  runtrack::Result<LauncherPathCheck> ValidatePath(const std::string& kind, const std::string& path);
  // Creates the script's workspace if absent (its template from `config_path`, else an empty one)
  // and makes it current.
  runtrack::Result<WorkspaceView> Open(const std::string& script_path, const std::string& config_path);
  // The shell workspace, whose root is the project folder: `path` must be that folder.
  runtrack::Result<WorkspaceView> OpenShellRoot(const std::string& path);

 private:
  TaskService& tasks_;
};

}  // namespace runicorn::service
