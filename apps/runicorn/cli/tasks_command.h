// `runicorn tasks`: Pyruns' `pyr` verbs over the task runner (service/task_service.h), on the
// project in --tasks-root (default: the working directory). Tables for people, --json for
// scripts (the same bodies as the viewer's /api/tasks routes, encode/task_json.h).
#pragma once

#include <string>
#include <vector>

#include "cli/cli.h"
#include "service/task_service.h"

namespace runicorn::cli {

int RunTasks(const std::vector<std::string>& argv);

namespace tasks {
// The running verbs (tasks_run.cpp). `args.positional()[0]` is the verb.
int Run(const Args& args);
int Wait(service::TaskService& svc, const Args& args);
int Stop(service::TaskService& svc, const Args& args);
// Options every verb accepts; a verb adds its own.
service::TaskServiceOptions ServiceOptions(const Args& args);
// Selects --workspace when given; prints the reason and returns false on failure.
bool SelectWorkspace(service::TaskService& svc, const Args& args, int* exit_code);
int UsageError(const char* message = nullptr);
}  // namespace tasks

}  // namespace runicorn::cli
