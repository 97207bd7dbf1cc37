// Whether an HTTP server on 127.0.0.1:<port> answers GET /api/health with 200: how a remote
// viewer is known to be ready through its tunnel (remote_viewer.cpp). One short-lived
// connection, bounded by `timeout_ms` per step; any failure is "not (yet)".
#pragma once

namespace runicorn::service::ssh {

bool AnswersHealth(int port, int timeout_ms = 2000);

}  // namespace runicorn::service::ssh
