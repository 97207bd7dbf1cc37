// Response bodies of Pyruns' launcher routes (/api/launcher/*) and GET /api/system/metrics, in
// Pyruns' shapes (shared/reference/pyruns-notes.md §4; docs/API.md "Task runner streams").
//
// Thread safety: pure functions.
#pragma once

#include <vector>

#include <boost/json/object.hpp>

#include "service/task_launcher.h"
#include "service/task_system_metrics.h"

namespace runicorn::encode {

// {items:[{script_path, script_name, label, workspace_path, source}]}
boost::json::object LauncherScripts(const std::vector<service::LauncherScript>& scripts);
// {items:[{path, label, kind}], config_source, requires_config_template}
boost::json::object LauncherConfigs(const service::LauncherConfigs& configs);
// {items:[{workspace_path, script_path, script_name, config_path, config_name, exists}]}
boost::json::object LauncherWorkspaces(const std::vector<service::LauncherWorkspace>& workspaces);
// {ok, kind, normalized_path, path_type, message}
boost::json::object LauncherPathCheck(const service::LauncherPathCheck& check);
// {cpu_percent, mem_percent, gpus:[{id, index, name, uuid, util, mem_used, mem_total,
// processes:[{pid, user, name, memory_mb}]}]}; an unknown reading is null.
boost::json::object TaskSystemMetrics(const service::TaskSystemMetrics& m);

}  // namespace runicorn::encode
