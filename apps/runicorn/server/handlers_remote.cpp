// Runicorn's SSH remote (/api/remote/*, v0.4's /api/unified/* aliases; docs/REMOTE.md "SSH
// remote"): parse, call ctx.services->remote, encode. Every route is registered with
// needs_token_always (routes.cpp): they open connections to other machines with the user's
// credentials and write into the store.
//
// Secrets: a password, passphrase or inline key in a request body is handed to the service and
// appears in no response; the encoders below name every field they write.
#include <boost/json.hpp>

#include "server/errors.h"
#include "server/handlers.h"
#include "server/params.h"

namespace runicorn::server {
namespace json = boost::json;
using runtrack::Result;
using runtrack::Status;
using service::ssh::ConnectError;
using service::ssh::SavedConnection;
using service::ssh::SshCredentials;

namespace {

Result<int> Port(const json::object& o) {
  const auto* v = o.if_contains("port");
  if (v == nullptr || v->is_null()) return 22;
  if (!v->is_int64() || v->as_int64() < 1 || v->as_int64() > 65535)
    return Status::InvalidArgument("port must be an integer 1..65535");
  return static_cast<int>(v->as_int64());
}

Result<bool> Bool(const json::object& o, std::string_view key, bool fallback) {
  const auto* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return fallback;
  if (!v->is_bool()) return Status::InvalidArgument(std::string(key) + " must be true or false");
  return v->as_bool();
}

json::object ConnectionJson(const service::ssh::RemoteConnection& c) {
  return {{"connection_id", c.connection_id}, {"host", c.host},          {"port", c.port},
          {"username", c.username},           {"connected_at", c.connected_at}, {"connected", true}};
}

json::object SavedJson(const SavedConnection& c) {
  return {{"name", c.name},         {"host", c.host}, {"port", c.port}, {"username", c.username},
          {"private_key_path", c.private_key_path}, {"use_agent", c.use_agent}};
}

// Runicorn's answer when a host key needs a person's confirmation (or was refused: "changed").
Response ConnectErrorResponse(const ConnectError& e) {
  if (e.host_key) {
    const auto& k = *e.host_key;
    json::object host_key{{"host", k.host},
                          {"port", k.port},
                          {"key_type", k.key_type},
                          {"public_key", k.public_key},
                          {"fingerprint_sha256", k.fingerprint_sha256},
                          {"reason", k.reason}};
    return Response::Json(json::object{{"detail", json::object{{"code", "HOST_KEY_CONFIRMATION_REQUIRED"},
                                                               {"message", "Host key verification failed"},
                                                               {"host_key", host_key}}}},
                          409);
  }
  // 403, not 401: a 401 would tell the web UI that its viewer token is wrong.
  if (e.auth_failed) return Response::Error(403, e.status.message());
  // The remote host could not be reached: a gateway failure, not a fault of this server.
  if (e.status.code() == runtrack::StatusCode::kIOError) return Response::Error(502, e.status.message());
  return ErrorResponse(e.status);
}

}  // namespace

Response HandleRemoteConnect(const AppContext& ctx, const Request& req) {
  RUNICORN_ASSIGN_OR_RESPOND(json::object o, ParseStrictJsonObject(req.body, {"host", "port", "username", "password", "private_key",
                                                        "private_key_path", "passphrase", "use_agent", "save", "name"}));
  SshCredentials c;
  RUNICORN_ASSIGN_OR_RESPOND(c.host, GetString(o, "host", true));
  RUNICORN_ASSIGN_OR_RESPOND(c.port, Port(o));
  RUNICORN_ASSIGN_OR_RESPOND(c.username, GetString(o, "username", true));
  RUNICORN_ASSIGN_OR_RESPOND(c.password, GetString(o, "password"));
  RUNICORN_ASSIGN_OR_RESPOND(c.private_key, GetString(o, "private_key"));
  RUNICORN_ASSIGN_OR_RESPOND(c.private_key_path, GetString(o, "private_key_path"));
  RUNICORN_ASSIGN_OR_RESPOND(c.passphrase, GetString(o, "passphrase"));
  RUNICORN_ASSIGN_OR_RESPOND(c.use_agent, Bool(o, "use_agent", true));
  RUNICORN_ASSIGN_OR_RESPOND(bool save, Bool(o, "save", false));
  RUNICORN_ASSIGN_OR_RESPOND(std::string name, GetString(o, "name"));
  ConnectError error;
  auto conn = ctx.services->remote.Connect(c, &error);
  if (!conn.ok()) return ConnectErrorResponse(error);
  if (save) {
    RUNICORN_RETURN_IF_ERROR(ctx.services->remote.SaveConnection(
        SavedConnection{name, c.host, c.port, c.username, c.private_key_path, c.use_agent}));
  }
  json::object out = ConnectionJson(*conn);
  out["ok"] = true;
  return Response::Json(out);
}

Response HandleRemoteAcceptHostKey(const AppContext& ctx, const Request& req) {
  RUNICORN_ASSIGN_OR_RESPOND(json::object o,
                             ParseStrictJsonObject(req.body, {"host", "port", "key_type", "public_key", "fingerprint_sha256"}));
  RUNICORN_ASSIGN_OR_RESPOND(std::string host, GetString(o, "host", true));
  RUNICORN_ASSIGN_OR_RESPOND(int port, Port(o));
  RUNICORN_ASSIGN_OR_RESPOND(std::string fingerprint, GetString(o, "fingerprint_sha256", true));
  RUNICORN_RETURN_IF_ERROR(ctx.services->remote.ConfirmHostKey(host, port, fingerprint));
  return Response::Json(json::object{{"ok", true}, {"host", host}, {"port", port}, {"fingerprint_sha256", fingerprint}});
}

Response HandleRemoteDisconnect(const AppContext& ctx, const Request& req) {
  RUNICORN_ASSIGN_OR_RESPOND(json::object o, ParseStrictJsonObject(req.body, {"connection_id"}));
  RUNICORN_ASSIGN_OR_RESPOND(std::string id, GetString(o, "connection_id"));
  // Runicorn's disconnect names no connection: then the only open one.
  if (id.empty()) {
    RUNICORN_ASSIGN_OR_RESPOND(auto only, ctx.services->remote.ResolveConnection(""));
    id = only.connection_id;
  }
  RUNICORN_RETURN_IF_ERROR(ctx.services->remote.Disconnect(id));
  return Response::Json(json::object{{"ok", true}, {"connection_id", id}, {"connected", false}});
}

Response HandleRemoteStatus(const AppContext& ctx, const Request&) {
  json::array sessions;
  for (const auto& c : ctx.services->remote.Sessions()) sessions.push_back(ConnectionJson(c));
  const bool connected = !sessions.empty();
  return Response::Json(json::object{{"connected", connected}, {"sessions", std::move(sessions)}});
}

Response HandleRemoteSavedList(const AppContext& ctx, const Request&) {
  RUNICORN_ASSIGN_OR_RESPOND(auto all, ctx.services->remote.SavedConnections());
  json::array arr;
  for (const auto& c : all) arr.push_back(SavedJson(c));
  return Response::Json(json::object{{"connections", std::move(arr)}});
}

Response HandleRemoteSavedSave(const AppContext& ctx, const Request& req) {
  // Secrets are named so the refusal is clear rather than an "unknown field".
  RUNICORN_ASSIGN_OR_RESPOND(json::object o, ParseStrictJsonObject(req.body, {"name", "host", "port", "username", "private_key_path",
                                                        "use_agent", "password", "passphrase", "private_key"}));
  for (const char* secret : {"password", "passphrase", "private_key"})
    if (o.contains(secret))
      return Response::Error(400, std::string("saved connections hold no secrets: remove '") + secret + "'");
  SavedConnection c;
  RUNICORN_ASSIGN_OR_RESPOND(c.name, GetString(o, "name"));
  RUNICORN_ASSIGN_OR_RESPOND(c.host, GetString(o, "host", true));
  RUNICORN_ASSIGN_OR_RESPOND(c.port, Port(o));
  RUNICORN_ASSIGN_OR_RESPOND(c.username, GetString(o, "username", true));
  RUNICORN_ASSIGN_OR_RESPOND(c.private_key_path, GetString(o, "private_key_path"));
  RUNICORN_ASSIGN_OR_RESPOND(c.use_agent, Bool(o, "use_agent", true));
  RUNICORN_RETURN_IF_ERROR(ctx.services->remote.SaveConnection(c));
  return HandleRemoteSavedList(ctx, req);
}

Response HandleRemoteSavedDelete(const AppContext& ctx, const Request& req) {
  RUNICORN_RETURN_IF_ERROR(ctx.services->remote.DeleteSavedConnection(req.Param("name")));
  return HandleRemoteSavedList(ctx, req);
}

Response HandleRemoteListDir(const AppContext& ctx, const Request& req) {
  const std::string* id = req.query.Get("connection_id");
  if (id == nullptr) return Response::Error(422, "connection_id is required");
  const std::string* path = req.query.Get("path");
  const std::string dir = path != nullptr ? *path : ".";
  RUNICORN_ASSIGN_OR_RESPOND(auto entries, ctx.services->remote.ListDirectory(*id, dir));
  json::array items;
  for (const auto& e : entries)
    items.push_back(json::object{{"name", e.name},
                                 {"type", e.is_dir ? "dir" : "file"},
                                 {"size", e.size},
                                 {"mtime", e.mtime}});
  return Response::Json(json::object{{"ok", true}, {"path", dir}, {"items", std::move(items)}});
}

Response HandleRemoteSync(const AppContext& ctx, const Request& req) {
  RUNICORN_ASSIGN_OR_RESPOND(json::object o, ParseStrictJsonObject(req.body, {"connection_id", "remote_root", "run_ids"}));
  RUNICORN_ASSIGN_OR_RESPOND(std::string id, GetString(o, "connection_id", true));
  RUNICORN_ASSIGN_OR_RESPOND(std::string root, GetString(o, "remote_root", true));
  service::ssh::PullSyncOptions options;
  if (o.contains("run_ids")) {
    RUNICORN_ASSIGN_OR_RESPOND(options.run_ids, GetStringList(o, "run_ids", 10000));
  }
  RUNICORN_ASSIGN_OR_RESPOND(auto report, ctx.services->remote.Pull(id, root, options));
  json::array runs;
  for (const auto& r : report.runs) {
    // A run compacted on the remote host travels as its journal plus sealed files (REMOTE.md).
    bool compacted = false;
    uint64_t files_fetched = 0;
    for (const auto& s : r.streams) {
      compacted = compacted || s.compacted;
      files_fetched += s.files_fetched;
    }
    runs.push_back(json::object{{"run_id", r.run_id},
                                {"local_before", r.local_before},
                                {"local_after", r.local_after},
                                {"remote_size", r.remote_size},
                                {"bytes_fetched", r.bytes_fetched},
                                {"compacted", compacted},
                                {"files_fetched", files_fetched}});
  }
  json::array skipped;
  for (const auto& s : report.skipped) skipped.push_back(json::string(s));
  return Response::Json(json::object{{"ok", true},
                                     {"runs", std::move(runs)},
                                     {"bytes_fetched", report.bytes_fetched},
                                     {"skipped", std::move(skipped)}});
}

}  // namespace runicorn::server
