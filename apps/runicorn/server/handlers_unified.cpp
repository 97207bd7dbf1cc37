// Runicorn's unified SSH API (/api/unified/status, listdir, configure_mode, deactivate_mode;
// docs/REMOTE.md "Sync modes"): parse, call ctx.services->remote, encode in Runicorn's shapes
// (ssh_api.md) with a few fields of ours added. Registered beside the other SSH remote routes
// (routes.cpp), so they need the task token always and take JSON only.
//
// Runicorn has one connection at a time, so its requests name none: `connection_id` is optional
// here, and without it the only open connection is used (several open: 400, name one).
#include <algorithm>
#include <chrono>

#include <boost/json.hpp>

#include "server/errors.h"
#include "server/handlers.h"
#include "server/params.h"

namespace runicorn::server {
namespace json = boost::json;
using runtrack::Result;
using runtrack::Status;
using service::ssh::SyncModeConfig;
using service::ssh::SyncModeState;

namespace {

// A JSON number (integer or not) as a double; absent or null -> `fallback`.
Result<double> Number(const json::object& o, std::string_view key, double fallback) {
  const auto* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return fallback;
  if (v->is_int64()) return static_cast<double>(v->as_int64());
  if (v->is_uint64()) return static_cast<double>(v->as_uint64());
  if (v->is_double()) return v->as_double();
  return Status::InvalidArgument(std::string(key) + " must be a number");
}

Result<bool> Bool(const json::object& o, std::string_view key, bool fallback) {
  const auto* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return fallback;
  if (!v->is_bool()) return Status::InvalidArgument(std::string(key) + " must be true or false");
  return v->as_bool();
}

// 5 rather than 5E0 for a whole number (Runicorn's clients send and show integers).
json::value NumberJson(double v) {
  if (v == static_cast<double>(static_cast<int64_t>(v))) return static_cast<int64_t>(v);
  return v;
}

json::value TimeOrNull(double t) { return t > 0 ? json::value(t) : json::value(nullptr); }

// Runicorn's SmartModeConfig (or its mirror counterpart) plus the sync's state and figures.
json::object ModeJson(const SyncModeState& s) {
  json::object o{{"active", true}, {"remote_root", s.config.remote_root}};
  if (s.config.mode == "smart") {
    o["auto_sync"] = s.config.auto_sync;
    o["sync_interval_minutes"] = NumberJson(s.config.sync_interval_minutes);
  } else {
    o["mirror_interval"] = NumberJson(s.config.mirror_interval_seconds);
  }
  o["last_sync_at"] = TimeOrNull(s.last_sync_at);
  o["next_sync_at"] = TimeOrNull(s.next_sync_at);
  o["connection_id"] = s.config.connection_id;
  o["state"] = s.state;
  o["syncs"] = s.syncs;
  o["errors"] = s.errors;
  o["last_sync_bytes"] = s.last_sync_bytes;
  o["bytes_fetched"] = s.bytes_fetched;
  o["runs_mirrored"] = s.runs_mirrored;
  o["last_error"] = s.last_error.empty() ? json::value(nullptr) : json::value(s.last_error);
  json::array skipped;
  for (const auto& k : s.last_skipped) skipped.push_back(json::string(k));
  o["skipped"] = std::move(skipped);
  return o;
}

std::string Capitalized(std::string mode) {
  if (!mode.empty()) mode[0] = static_cast<char>(mode[0] - 'a' + 'A');
  return mode;
}

}  // namespace

Response HandleUnifiedStatus(const AppContext& ctx, const Request&) {
  auto& remote = ctx.services->remote;
  const auto mode = remote.ActiveSyncMode();
  const auto sessions = remote.Sessions();
  json::object out;
  // The mode's connection when a mode runs; otherwise the first open one (Runicorn has one).
  const service::ssh::RemoteConnection* shown = sessions.empty() ? nullptr : &sessions.front();
  for (const auto& c : sessions)
    if (mode && c.connection_id == mode->config.connection_id) shown = &c;
  if (shown == nullptr) {
    out["connection"] = json::object{{"connected", false}};
  } else {
    const int64_t now =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    out["connection"] = json::object{{"connected", true},
                                     {"host", shown->host},
                                     {"port", shown->port},
                                     {"username", shown->username},
                                     {"uptime_seconds", std::max<int64_t>(0, now - shown->connected_at)},
                                     {"connection_id", shown->connection_id}};
  }
  const bool smart = mode && mode->config.mode == "smart", mirror = mode && mode->config.mode == "mirror";
  out["smart_mode"] = smart ? ModeJson(*mode) : json::object{{"active", false}};
  out["mirror_mode"] = mirror ? ModeJson(*mode) : json::object{{"active", false}};
  if (shown != nullptr) {
    // Runs this mode has pulled; artifacts are not pulled (docs/REMOTE.md).
    out["cached_experiments"] = mode ? mode->runs_mirrored : 0;
    out["cached_artifacts"] = 0;
    out["connections"] = sessions.size();
  }
  return Response::Json(out);
}

Response HandleUnifiedListDir(const AppContext& ctx, const Request& req) {
  auto& remote = ctx.services->remote;
  const std::string* id_param = req.query.Get("connection_id");
  RUNICORN_ASSIGN_OR_RESPOND(auto conn, remote.ResolveConnection(id_param != nullptr ? *id_param : ""));
  const std::string* path_param = req.query.Get("path");
  const std::string path = path_param != nullptr ? *path_param : "~";
  RUNICORN_ASSIGN_OR_RESPOND(std::string current, remote.ResolveRemotePath(conn.connection_id, path));
  RUNICORN_ASSIGN_OR_RESPOND(auto entries, remote.ListDirectory(conn.connection_id, current));
  // Folders first, then by name: SFTP lists in directory order, which differs between hosts.
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    return a.is_dir != b.is_dir ? a.is_dir : a.name < b.name;
  });
  const std::string prefix = current.ends_with("/") ? current : current + "/";
  json::array items;
  for (const auto& e : entries)
    items.push_back(json::object{{"name", e.name},
                                 {"path", prefix + e.name},
                                 {"type", e.is_dir ? "dir" : "file"},
                                 {"size", e.is_dir ? 0 : e.size},
                                 {"mtime", e.mtime}});
  return Response::Json(json::object{{"ok", true}, {"current_path", current}, {"items", std::move(items)}});
}

Response HandleUnifiedConfigureMode(const AppContext& ctx, const Request& req) {
  RUNICORN_ASSIGN_OR_RESPOND(json::object o,
                             ParseStrictJsonObject(req.body, {"mode", "remote_root", "auto_sync", "sync_interval_minutes",
                                                              "mirror_interval", "connection_id"}));
  SyncModeConfig c;
  RUNICORN_ASSIGN_OR_RESPOND(c.mode, GetString(o, "mode", true));
  RUNICORN_ASSIGN_OR_RESPOND(c.remote_root, GetString(o, "remote_root", true));
  RUNICORN_ASSIGN_OR_RESPOND(c.auto_sync, Bool(o, "auto_sync", true));
  RUNICORN_ASSIGN_OR_RESPOND(c.sync_interval_minutes, Number(o, "sync_interval_minutes", 5));
  RUNICORN_ASSIGN_OR_RESPOND(c.mirror_interval_seconds, Number(o, "mirror_interval", 2));
  RUNICORN_ASSIGN_OR_RESPOND(c.connection_id, GetString(o, "connection_id"));
  RUNICORN_ASSIGN_OR_RESPOND(SyncModeState s, ctx.services->remote.ConfigureSyncMode(std::move(c)));
  json::object config{{"remote_root", s.config.remote_root}};
  if (s.config.mode == "smart") {
    config["auto_sync"] = s.config.auto_sync;
    config["sync_interval_minutes"] = NumberJson(s.config.sync_interval_minutes);
  } else {
    config["mirror_interval"] = NumberJson(s.config.mirror_interval_seconds);
  }
  config["connection_id"] = s.config.connection_id;
  return Response::Json(json::object{{"ok", true},
                                     {"mode", s.config.mode},
                                     {"message", Capitalized(s.config.mode) + " mode configured successfully"},
                                     {"config", std::move(config)}});
}

Response HandleUnifiedDeactivateMode(const AppContext& ctx, const Request& req) {
  RUNICORN_ASSIGN_OR_RESPOND(json::object o, ParseStrictJsonObject(req.body, {"mode"}));
  RUNICORN_ASSIGN_OR_RESPOND(std::string only, GetString(o, "mode"));
  if (!only.empty() && only != "smart" && only != "mirror")
    return Response::Error(400, "mode must be 'smart' or 'mirror'");
  auto& remote = ctx.services->remote;
  // A named mode that is not the active one leaves the active one running.
  if (auto active = remote.ActiveSyncMode(); active && !only.empty() && active->config.mode != only) {
    return Response::Json(json::object{
        {"ok", true}, {"mode", nullptr}, {"message", Capitalized(only) + " mode was not active"}});
  }
  const auto stopped = remote.DeactivateSyncMode();
  if (!stopped)
    return Response::Json(json::object{{"ok", true}, {"mode", nullptr}, {"message", "No sync mode was active"}});
  return Response::Json(json::object{{"ok", true},
                                     {"mode", stopped->config.mode},
                                     {"message", Capitalized(stopped->config.mode) + " mode deactivated"},
                                     {"syncs", stopped->syncs},
                                     {"bytes_fetched", stopped->bytes_fetched}});
}

}  // namespace runicorn::server
