// A `runicorn viewer` on an SSH host, tunneled to a local port (/api/remote/viewer/*; docs/REMOTE.md
// "Remote viewer"): parse, call ctx.services->remote, encode. Registered beside the other SSH
// remote routes (routes.cpp), so they need the task token always: they run commands remotely.
//
// Status mapping: not connected is 404 (as /api/remote/fs/list and /sync); a viewer that did not
// start or answer on the remote host is 502 (a failure beyond this server, as connect's), with
// the tail of the remote output in the detail.
#include <boost/json.hpp>

#include "encode/remote_viewer_json.h"
#include "server/errors.h"
#include "server/handlers.h"
#include "server/params.h"

namespace runicorn::server {
namespace json = boost::json;
using runtrack::Result;
using runtrack::Status;
using service::ssh::RemoteViewerOptions;
using service::ssh::RemoteViewerSession;

namespace {

// 0 (absent or null) means "choose one".
Result<int> OptionalPort(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return 0;
  if (!v->is_int64() || v->as_int64() < 0 || v->as_int64() > 65535)
    return Status::InvalidArgument(std::string(key) + " must be an integer 0..65535");
  return static_cast<int>(v->as_int64());
}

// Runicorn's RemoteSession (encode/remote_viewer_json.h, shared with the CLI).
json::object SessionJson(const RemoteViewerSession& s) { return encode::RemoteViewerSessionJson(s); }

Response ViewerError(const Status& st) {
  if (st.code() == runtrack::StatusCode::kIOError) return Response::Error(502, st.message());
  return ErrorResponse(st);
}

}  // namespace

Response HandleRemoteViewerStart(const AppContext& ctx, const Request& req) {
  RUNICORN_ASSIGN_OR_RESPOND(json::object o,
                             ParseStrictJsonObject(req.body, {"connection_id", "remote_root", "runicorn_path",
                                                              "local_port", "remote_port"}));
  RUNICORN_ASSIGN_OR_RESPOND(std::string id, GetString(o, "connection_id", true));
  RemoteViewerOptions options;
  RUNICORN_ASSIGN_OR_RESPOND(options.remote_root, GetString(o, "remote_root", true));
  RUNICORN_ASSIGN_OR_RESPOND(std::string binary, GetString(o, "runicorn_path"));
  if (!binary.empty()) options.runicorn_path = binary;
  RUNICORN_ASSIGN_OR_RESPOND(options.local_port, OptionalPort(o, "local_port"));
  RUNICORN_ASSIGN_OR_RESPOND(options.remote_port, OptionalPort(o, "remote_port"));
  auto started = ctx.services->remote.StartViewer(id, options);
  if (!started.ok()) return ViewerError(started.status());
  // The remote viewer's bearer token is in this answer only (the list and status leave it out).
  return Response::Json(encode::RemoteViewerStarted(*started));
}

Response HandleRemoteViewerStop(const AppContext& ctx, const Request& req) {
  RUNICORN_ASSIGN_OR_RESPOND(json::object o, ParseStrictJsonObject(req.body, {"session_id"}));
  RUNICORN_ASSIGN_OR_RESPOND(std::string id, GetString(o, "session_id", true));
  auto stopped = ctx.services->remote.StopViewer(id);
  if (!stopped.ok()) return ViewerError(stopped.status());
  return Response::Json(json::object{{"ok", true}, {"session", SessionJson(*stopped)}});
}

Response HandleRemoteViewerSessions(const AppContext& ctx, const Request&) {
  json::array sessions;
  for (const auto& s : ctx.services->remote.ViewerSessions()) sessions.push_back(SessionJson(s));
  return Response::Json(json::object{{"sessions", std::move(sessions)}});
}

Response HandleRemoteViewerStatus(const AppContext& ctx, const Request& req) {
  auto status = ctx.services->remote.ViewerStatus(req.Param("session_id"));
  if (!status.ok()) return ViewerError(status.status());
  return Response::Json(json::object{{"ok", true}, {"session", SessionJson(*status)}});
}

}  // namespace runicorn::server
