// Response bodies of the task routes (/api/workspace, /api/generator, /api/tasks), in Pyruns'
// shapes (shared/reference/pyruns-notes.md §4), built from TaskService results. The HTTP handlers
// send these and `runicorn tasks ... --json` prints them, byte for byte the same.
//
// Thread safety: pure functions.
#pragma once

#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include "runtrack/tasks.h"
#include "service/task_follow.h"
#include "service/task_service.h"

namespace runicorn::encode {

// {run_root, tasks_dir, project_root, script_path, script_name, workspace_kind, workspace_ready}
boost::json::object Workspace(const service::WorkspaceView& ws);
// {name, status, task_kind, created_at, pinned, run_index, queued_at}, plus task_order when the
// task has a manual order.
boost::json::object TaskSummary(const runtrack::TaskSummary& t);
// {items, total, offset, limit, has_more, status_counts{pending, queued, running, completed,
// failed, cancelled}} — counts are over every task, before the status filter.
boost::json::object TaskPage(const runtrack::TaskPage& page, size_t limit);
// The task's task_info.json as stored (Pyruns' Task fields), plus dir, config_text and the
// summary's status/pinned (which the index may know more recently).
boost::json::object TaskDetail(const service::TaskDetail& d);
// {count, items:[{index, preview, config}], task_kind}; `config` is the expanded YAML text.
boost::json::object GeneratorPreview(const service::GeneratorPreview& p);
// {count, items:[{name}], task_kind}
boost::json::object GeneratorResult(const service::GeneratorResult& r);
// {count, items:[name...], skipped:[{name, detail}]}
boost::json::object RunReport(const service::RunTasksReport& r);
// {count, deleted:[name...], skipped:[{name, detail}]}
boost::json::object TrashReport(const service::TrashReport& r);
// {task_name, selected_log, available_logs, content, offset, reset, log_identity}
boost::json::object TaskLog(const std::string& task_name, const runtrack::TaskLogChunk& c);
// {count, items:[TaskSummary…]} in the order given to POST /api/tasks/reorder.
boost::json::object ReorderResult(const std::vector<runtrack::TaskSummary>& tasks);
// WS /api/tasks/{name}/logs/stream: {type: "chunk"|"reset", task_name, log_file_name,
// log_identity, content, offset}.
boost::json::object TaskLogMessage(const std::string& task_name, const service::TaskLogMessage& m);
// WS /api/tasks/events: {type, revision}, and for "changed" also changes:[{name, event,
// old_name (renamed only)}] and truncated:true when the server dropped some.
boost::json::object TaskEventMessage(const service::TaskEventMessage& m);

}  // namespace runicorn::encode
