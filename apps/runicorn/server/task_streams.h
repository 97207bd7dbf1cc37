// The task runner's WebSockets (Pyruns' routes; messages in docs/API.md "Task runner streams"):
//   /api/tasks/{name}/logs/stream  a task's live log (service::TaskLogFollower)
//   /api/tasks/events              the workspace's task changes (service::TaskEventFollower)
// Registered with the task token (routes.cpp), polled by their WebSocket session like every
// StreamSource (streams.h). A bad request (unknown task, bad log name or offset) is an HTTP error
// before the upgrade; an error later (task deleted, workspace switched) closes the stream with
// its message as the close reason.
#pragma once

#include <memory>

#include "runtrack/status.h"
#include "server/app_context.h"
#include "server/http_types.h"
#include "server/streams.h"

namespace runicorn::server {

// ?log_file_name=runN.log|error.log|queue.log (default: follow the current run), ?offset=,
// ?log_identity=.
runtrack::Result<std::unique_ptr<StreamSource>> MakeTaskLogStream(const AppContext& ctx, const Request& req);

runtrack::Result<std::unique_ptr<StreamSource>> MakeTaskEventStream(const AppContext& ctx, const Request& req);

}  // namespace runicorn::server
