// `runicorn remote viewer start|status|stop` (docs/REMOTE.md "Remote viewer"): a `runicorn viewer`
// on an SSH host, tunneled to a local port.
//
// The tunnel lives in the process that started the remote viewer, so:
//   - when a viewer serves the local store (it announced itself there), the commands go through
//     its /api/remote/* routes: the remote viewer and its tunnel then live in that viewer, and
//     `status` / `stop` find them later. Those routes need the viewer's task token, read from
//     $RUNICORN_TASK_TOKEN (printed by the viewer at start; never an argument).
//   - otherwise (or with --foreground) `start` calls the same service here and stays in the
//     foreground holding the tunnel, like `ssh -L`, until SIGINT/SIGTERM, which stops the remote
//     viewer. `status` and `stop` need a viewer: there is nothing to ask otherwise.
// Secrets as for `runicorn remote sync`: $RUNICORN_SSH_PASSWORD, $RUNICORN_SSH_PASSPHRASE.
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "cli/cli.h"
#include "cli/remote_command.h"
#include "cli/viewer_client.h"
#include "encode/remote_viewer_json.h"
#include "runtrack/layout.h"
#include "runtrack/json_parse.h"
#include "service/ssh/remote_service.h"
#include "service/viewer_endpoint.h"

namespace runicorn::cli {
namespace json = boost::json;
namespace ssh = service::ssh;
using runtrack::Result;
using runtrack::Status;

namespace {

constexpr const char* kViewerUsage =
    "usage: runicorn remote viewer start --host HOST --user USER [--port 22] [--key FILE] [--no-agent]\n"
    "                                    [--accept-host-key SHA256:...] [--runicorn-path BIN]\n"
    "                                    [--local-port N] [--remote-port N] [--foreground] [--json]\n"
    "                                    [--storage DIR] REMOTE_ROOT\n"
    "       runicorn remote viewer status [SESSION_ID] [--json] [--storage DIR]\n"
    "       runicorn remote viewer stop SESSION_ID [--json] [--storage DIR]\n"
    "  With a viewer serving the local store, through its API ($RUNICORN_TASK_TOKEN: its task token);\n"
    "  otherwise (or --foreground) `start` holds the tunnel until Ctrl-C / SIGTERM.\n"
    "  secrets: $RUNICORN_SSH_PASSWORD, $RUNICORN_SSH_PASSPHRASE (never on the command line)\n";

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : "";
}

Result<int> PortOption(const Args& args, const char* name, int min) {
  auto p = args.Get(name);
  if (!p) return min == 1 ? 22 : 0;
  auto v = ParseInt64(*p);
  if (!v.ok() || *v < min || *v > 65535)
    return Status::InvalidArgument(fmt::format("--{} must be {}..65535", name, min));
  return static_cast<int>(*v);
}

std::string Str(const json::value& v, const char* key) {
  const auto* x = v.as_object().if_contains(key);
  return x != nullptr && x->is_string() ? std::string(x->as_string()) : std::string();
}

void PrintStarted(const json::value& answer, bool as_json, bool foreground) {
  if (as_json) {
    PrintJson(answer);
    return;
  }
  const json::value& s = answer.at("session");
  std::printf("Remote Viewer ready at %s\n", Str(s, "local_url").c_str());
  std::printf("session: %s\n", Str(s, "session_id").c_str());
  std::printf("remote: %s %s (pid %lld)\n", Str(s, "connection_id").c_str(), Str(s, "remote_root").c_str(),
              static_cast<long long>(s.at("pid").to_number<int64_t>()));
  // The remote viewer asks for it: its port is open to every user of the remote host.
  std::printf("token: %s\n", Str(answer, "token").c_str());
  if (foreground) std::printf("holding the tunnel; Ctrl-C (or SIGTERM) stops the remote viewer\n");
  std::fflush(stdout);
}

void PrintSessions(const json::array& sessions, bool as_json, const json::value& answer) {
  if (as_json) {
    PrintJson(answer);
    return;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& s : sessions)
    rows.push_back({Str(s, "session_id"), Str(s, "status"), Str(s, "local_url"), Str(s, "connection_id"),
                    Str(s, "remote_root"), std::to_string(s.at("pid").to_number<int64_t>())});
  PrintTable({"SESSION", "STATUS", "LOCAL URL", "CONNECTION", "REMOTE ROOT", "PID"}, rows);
}

// A 409 from connect carries the host key to confirm: printed as `runicorn remote sync` does.
int FailConnect(const Status& st, const ssh::SshCredentials& creds) {
  boost::system::error_code ec;
  json::value v = runtrack::ParseJson(st.message(), ec);
  if (!ec && v.is_object() && v.as_object().contains("detail") && v.at("detail").is_object()) {
    const auto& d = v.at("detail").as_object();
    if (const auto* k = d.if_contains("host_key"); k != nullptr && k->is_object()) {
      const std::string fp = Str(*k, "fingerprint_sha256");
      std::fprintf(stderr,
                   "runicorn remote: host key of %s:%d is not known: %s %s\n  to trust it, run again with "
                   "--accept-host-key %s\n",
                   creds.host.c_str(), creds.port, Str(*k, "key_type").c_str(), fp.c_str(), fp.c_str());
      return Fail(Status::FailedPrecondition("Host key verification failed"));
    }
  }
  return Fail(st);
}

Result<json::value> SendJson(const ViewerClient& client, const ApiCall& call) {
  RUNTRACK_ASSIGN_OR_RETURN(std::string body, client.Send(call));
  boost::system::error_code ec;
  json::value v = runtrack::ParseJson(body, ec);
  if (ec || !v.is_object()) return Status::Internal("the viewer answered with invalid JSON");
  return v;
}

// start through the local viewer's API: connect (secrets in the JSON body, over loopback), then
// start; the tunnel lives in that viewer.
int StartThroughViewer(const ViewerClient& client, const ssh::SshCredentials& creds, const Args& args,
                       const ssh::RemoteViewerOptions& options) {
  if (auto fp = args.Get("accept-host-key")) {
    auto r = client.Send({"POST", "/api/remote/known-hosts/accept", {},
                          json::serialize(json::object{{"host", creds.host}, {"port", creds.port}, {"fingerprint_sha256", *fp}})});
    if (!r.ok()) return Fail(r.status());
  }
  json::object connect{{"host", creds.host}, {"port", creds.port}, {"username", creds.username}, {"use_agent", creds.use_agent}};
  if (!creds.private_key_path.empty()) connect["private_key_path"] = creds.private_key_path;
  if (!creds.password.empty()) connect["password"] = creds.password;
  if (!creds.passphrase.empty()) connect["passphrase"] = creds.passphrase;
  auto conn = SendJson(client, {"POST", "/api/remote/connect", {}, json::serialize(connect)});
  if (!conn.ok()) return FailConnect(conn.status(), creds);
  json::object start{{"connection_id", conn->at("connection_id")},
                     {"remote_root", options.remote_root},
                     {"runicorn_path", options.runicorn_path},
                     {"local_port", options.local_port},
                     {"remote_port", options.remote_port}};
  auto started = SendJson(client, {"POST", "/api/remote/viewer/start", {}, json::serialize(start)});
  if (!started.ok()) return Fail(started.status());
  PrintStarted(*started, args.Has("json"), false);
  return kExitOk;
}

// start here, holding the tunnel until SIGINT / SIGTERM.
int StartInForeground(const runtrack::StoreLayout& local, const ssh::SshCredentials& creds, const Args& args,
                      const ssh::RemoteViewerOptions& options) {
  // Blocked before any thread starts (the tunnel's), so only sigwait below receives them.
  // The known_hosts file is the local store's (as for `runicorn remote sync`).
  std::error_code ec;
  std::filesystem::create_directories(local.root(), ec);
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  // Nothing is pulled here: the service's journal appender is never called.
  ssh::RemoteService remote(local, ssh::RemoteConnectionsFileFor(UserConfigFile()),
                            [](std::string_view, std::string_view, uint64_t, std::string_view) -> Result<uint64_t> {
                              return Status::FailedPrecondition("no pull sync in `remote viewer`");
                            });
  if (auto fp = args.Get("accept-host-key"))
    if (Status st = remote.ConfirmHostKey(creds.host, creds.port, *fp); !st.ok()) return Fail(st);
  ssh::ConnectError error;
  auto conn = remote.Connect(creds, &error);
  if (!conn.ok()) {
    if (error.host_key && error.host_key->reason == "unknown") {
      std::fprintf(stderr,
                   "runicorn remote: host key of %s:%d is not known: %s %s\n  to trust it, run again with "
                   "--accept-host-key %s\n",
                   creds.host.c_str(), creds.port, error.host_key->key_type.c_str(),
                   error.host_key->fingerprint_sha256.c_str(), error.host_key->fingerprint_sha256.c_str());
    }
    return Fail(error.status);
  }
  auto started = remote.StartViewer(conn->connection_id, options);
  if (!started.ok()) return Fail(started.status());
  PrintStarted(encode::RemoteViewerStarted(*started), args.Has("json"), true);
  int sig = 0;
  sigwait(&signals, &sig);
  auto stopped = remote.StopViewer(started->session_id);
  if (!stopped.ok()) return Fail(stopped.status());
  if (!args.Has("json")) std::printf("stopped %s\n", started->session_id.c_str());
  return kExitOk;
}

}  // namespace

int RunRemoteViewer(const std::vector<std::string>& argv) {
  if (argv.empty() || (argv[0] != "start" && argv[0] != "status" && argv[0] != "stop")) {
    const bool help = argv.size() == 1 && (argv[0] == "--help" || argv[0] == "help");
    std::fputs(kViewerUsage, help ? stdout : stderr);
    return help ? kExitOk : kExitUsage;
  }
  const std::string sub = argv[0];
  auto args = Args::Parse({argv.begin() + 1, argv.end()}, {"help", "no-agent", "foreground", "json"});
  if (!args.ok()) return Fail(args.status());
  if (args->Has("help")) {
    std::fputs(kViewerUsage, stdout);
    return kExitOk;
  }
  const std::set<std::string> known =
      sub == "start" ? std::set<std::string>{"host", "user", "port", "key", "no-agent", "accept-host-key", "runicorn-path",
                                             "local-port", "remote-port", "foreground", "json", "storage", "help"}
                     : std::set<std::string>{"json", "storage", "help"};
  if (auto unknown = args->Unknown(known); !unknown.empty()) {
    std::fprintf(stderr, "runicorn remote viewer: unknown option %s\n%s", unknown[0].c_str(), kViewerUsage);
    return kExitUsage;
  }
  const runtrack::StoreLayout local(std::filesystem::absolute(ResolveStorage(*args)));
  // The viewer serving this store, reached with its task token.
  std::unique_ptr<ViewerClient> client;
  auto endpoint = service::ReadViewerEndpoint(local);
  const bool foreground = sub == "start" && args->Has("foreground");
  if (endpoint.ok() && !foreground) {
    const std::string token = Env("RUNICORN_TASK_TOKEN");
    if (token.empty())
      return Fail(Status::FailedPrecondition(fmt::format(
          "a viewer serves {} (pid {}): set $RUNICORN_TASK_TOKEN to the task token it printed at start{}",
          local.root().string(), endpoint->pid, sub == "start" ? ", or use --foreground" : "")));
    endpoint->token = token;
    client = std::make_unique<ViewerClient>(*endpoint);
  }

  if (sub == "status" || sub == "stop") {
    if (!client)
      return Fail(Status::FailedPrecondition(
          "no viewer serves " + local.root().string() +
          ": remote viewers live in the viewer that started them, or in the foreground of `runicorn remote viewer "
          "start` (stop that one with Ctrl-C)"));
    if (sub == "stop" || args->positional().size() == 1) {
      if (args->positional().size() != 1) return Fail(Status::InvalidArgument("SESSION_ID is required"));
      const std::string id = args->positional()[0];
      auto answer = sub == "stop"
                        ? SendJson(*client, {"POST", "/api/remote/viewer/stop", {},
                                             json::serialize(json::object{{"session_id", id}})})
                        : SendJson(*client, ApiCall::Get("/api/remote/viewer/status/" + PercentEncode(id)));
      if (!answer.ok()) return Fail(answer.status());
      PrintSessions(json::array{answer->at("session")}, args->Has("json"), *answer);
      return kExitOk;
    }
    if (!args->positional().empty()) return Fail(Status::InvalidArgument("at most one SESSION_ID"));
    auto answer = SendJson(*client, ApiCall::Get("/api/remote/viewer/sessions"));
    if (!answer.ok()) return Fail(answer.status());
    PrintSessions(answer->at("sessions").as_array(), args->Has("json"), *answer);
    return kExitOk;
  }

  // start
  if (args->positional().size() != 1) return Fail(Status::InvalidArgument("REMOTE_ROOT is required (one)"));
  ssh::SshCredentials creds;
  creds.host = args->Get("host").value_or("");
  creds.username = args->Get("user").value_or("");
  if (creds.host.empty() || creds.username.empty()) return Fail(Status::InvalidArgument("--host and --user are required"));
  auto port = PortOption(*args, "port", 1);
  if (!port.ok()) return Fail(port.status());
  creds.port = *port;
  creds.private_key_path = args->Get("key").value_or("");
  if (!creds.private_key_path.empty()) creds.private_key_path = std::filesystem::absolute(creds.private_key_path).string();
  creds.use_agent = !args->Has("no-agent");
  creds.password = Env("RUNICORN_SSH_PASSWORD");
  creds.passphrase = Env("RUNICORN_SSH_PASSPHRASE");
  ssh::RemoteViewerOptions options;
  options.remote_root = args->positional()[0];
  options.runicorn_path = args->Get("runicorn-path").value_or("runicorn");
  auto local_port = PortOption(*args, "local-port", 0);
  if (!local_port.ok()) return Fail(local_port.status());
  options.local_port = *local_port;
  auto remote_port = PortOption(*args, "remote-port", 0);
  if (!remote_port.ok()) return Fail(remote_port.status());
  options.remote_port = *remote_port;
  if (client) return StartThroughViewer(*client, creds, *args, options);
  return StartInForeground(local, creds, *args, options);
}

}  // namespace runicorn::cli
