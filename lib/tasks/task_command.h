// What a run executes: argv, environment and working directory, built as Pyruns builds them.
#pragma once

#include <filesystem>
#include <map>
#include <string>

#include <boost/json/object.hpp>

#include "runtrack/tasks.h"
#include "tasks/child_process.h"

namespace runtrack::tasks {

struct LaunchPlan {
  ChildSpec spec;
  std::filesystem::path hashed_script;  // the file whose hash goes into the source state
};

// Command: the task's stored `cmd` argv if any; a shell task runs `<shell> config.sh` in the
// project root (or its `workdir`); a python task runs `<python> <script>` in the script's
// directory, with config keys as `--key value` flags when the script uses argparse (true bools
// as bare `--key`, false/null omitted, lists as several values), and no arguments otherwise
// (the script reads __PYRUNS_CONFIG__). Unlike Pyruns, a `command` key in the config is just a
// config value.
//
// Environment, later entries winning: the runner's own environment; PYTHONIOENCODING=utf-8,
// PYTHONUTF8=1, PYTHONUNBUFFERED=1; __PYRUNS_CONFIG__ (python tasks); the runner's global env;
// the task's env; `extra_env` (GPU assignment); then PYRUNS_RUN_INDEX, RUNICORN_TASK (the task
// directory), RUNICORN_TASK_RUN and RUNICORN_DIR, which a task cannot override.
// PYRUNS_UI_TOKEN is never passed on.
Result<LaunchPlan> PlanLaunch(const Workspace& workspace, const std::string& task,
                              const boost::json::object& info, int run_index,
                              const TaskRunnerOptions& options,
                              const std::map<std::string, std::string>& extra_env);

}  // namespace runtrack::tasks
