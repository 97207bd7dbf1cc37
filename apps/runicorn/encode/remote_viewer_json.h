// The remote viewer's session as the /api/remote/viewer/* routes answer it, shared with
// `runicorn remote viewer start --foreground` (which calls the service in its own process), so
// both print the same JSON (docs/REMOTE.md "Remote viewer").
//
// Thread safety: pure functions.
#pragma once

#include <boost/json/object.hpp>

#include "service/ssh/remote_viewer.h"

namespace runicorn::encode {

// Runicorn's RemoteSession: {session_id, connection_id, remote_host, remote_port, local_port,
// remote_root, status, created_at, local_url} plus pid and runicorn_path. Never the token.
boost::json::object RemoteViewerSessionJson(const service::ssh::RemoteViewerSession& s);

// POST /api/remote/viewer/start's answer: {ok, session, token, message}; the only place the
// remote viewer's token is returned.
boost::json::object RemoteViewerStarted(const service::ssh::RemoteViewerSession& s);

}  // namespace runicorn::encode
