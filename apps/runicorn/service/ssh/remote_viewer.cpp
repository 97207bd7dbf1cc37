#include "service/ssh/remote_viewer.h"

#include <boost/json.hpp>

#include <chrono>
#include <optional>
#include <thread>

#include "runtrack/layout.h"
#include "runtrack/json_parse.h"
#include "service/ssh/health_probe.h"
#include "service/ssh/shell_quote.h"
#include "service/ssh/tunnel.h"
#include "service/viewer_endpoint.h"

namespace runicorn::service::ssh {
namespace json = boost::json;
using runtrack::Result;
using runtrack::Status;

namespace {

// Per start, in the SSH user's home: the token file (until the viewer has read it) and the
// viewer's output. Not inside the remote store: that belongs to the store's own layout.
constexpr const char* kWorkRoot = ".runicorn-remote";
constexpr size_t kTailBytes = 2000;

Status CheckRemoteText(const std::string& value, const std::string& what) {
  if (value.empty()) return Status::InvalidArgument(what + " is required");
  if (value.size() > 4096) return Status::InvalidArgument(what + " is longer than 4096 characters");
  for (unsigned char c : value)
    if (c < 0x20 || c == 0x7f) return Status::InvalidArgument(what + " must not contain control characters");
  return Status::Ok();
}

// SFTP and the exec channel both start in the home directory, so "~/x" is the relative "x".
std::string HomeRelative(const std::string& path) {
  if (path == "~" || path == "~/") return ".";
  if (path.starts_with("~/")) return path.substr(2);
  return path;
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  size_t first = 0;
  while (first < s.size() && (s[first] == '\n' || s[first] == ' ')) ++first;
  return s.substr(first);
}

std::string Tail(const std::string& s) {
  const std::string t = Trim(s);
  return t.size() > kTailBytes ? "..." + t.substr(t.size() - kTailBytes) : t;
}

int64_t NowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Every remote command runs under `sh -c`, whatever the user's login shell is; the script is one
// line (some shells reject a newline inside quotes).
std::string Sh(const std::string& script) { return "exec sh -c " + ShellQuote(script); }

// A shell function: true while `pid` runs with `token_path` in its command line. A zombie has an
// empty command line, a PID reused by another program has another: neither is our viewer.
std::string AliveFunction(int64_t pid, const std::string& token_path) {
  return "alive() { tr '\\0' '\\n' </proc/" + std::to_string(pid) + "/cmdline 2>/dev/null | grep -qxF -- " +
         ShellQuote(token_path) + "; }; ";
}

// TERM, up to `grace_seconds` for it to exit, then KILL; removes the start's files. Prints
// "gone", "terminated" or "killed".
Status StopRemote(SshSession& session, int64_t pid, const std::string& token_path, const std::string& work_dir,
                  int grace_seconds) {
  std::string script;
  if (pid > 0) {
    script = AliveFunction(pid, token_path) + "if alive; then kill -TERM " + std::to_string(pid) +
             " 2>/dev/null; i=0; while alive && [ $i -lt " + std::to_string(grace_seconds * 10) +
             " ]; do sleep 0.1; i=$((i+1)); done; if alive; then kill -KILL " + std::to_string(pid) +
             "; echo killed; else echo terminated; fi; else echo gone; fi; ";
  }
  script += "rm -rf -- " + ShellQuote(work_dir);
  RUNTRACK_ASSIGN_OR_RETURN(ExecResult r, session.Exec(Sh(script), grace_seconds + 30));
  if (r.exit_status != 0) return Status::IOError("cannot stop the remote viewer: " + Tail(r.err));
  return Status::Ok();
}

Result<bool> Alive(SshSession& session, int64_t pid, const std::string& token_path) {
  RUNTRACK_ASSIGN_OR_RETURN(ExecResult r,
                            session.Exec(Sh(AliveFunction(pid, token_path) + "if alive; then echo running; else echo stopped; fi")));
  const std::string out = Trim(r.out);
  if (out != "running" && out != "stopped")
    return Status::IOError("cannot tell whether the remote viewer runs: " + Tail(r.err));
  return out == "running";
}

std::string LogTail(SshSession& session, const std::string& log_path) {
  auto r = session.Exec(Sh("tail -c " + std::to_string(kTailBytes) + " -- " + ShellQuote(log_path) + " 2>/dev/null"));
  if (!r.ok()) return "(its output could not be read: " + r.status().message() + ")";
  const std::string t = Tail(r->out);
  return t.empty() ? "(it printed nothing)" : t;
}

// The port the viewer announced in the store's viewer.json, once that file names our PID.
std::optional<int> AnnouncedPort(SshSession& session, const std::string& endpoint_path, int64_t pid) {
  auto text = session.ReadRange(endpoint_path, 0, 64 * 1024);
  if (!text.ok()) return std::nullopt;
  boost::system::error_code ec;
  json::value v = runtrack::ParseJson(*text, ec);
  const json::object* o = ec ? nullptr : v.if_object();
  if (o == nullptr) return std::nullopt;
  const json::value* p = o->if_contains("pid");
  const json::value* port = o->if_contains("port");
  if (p == nullptr || port == nullptr || !p->is_int64() || !port->is_int64() || p->as_int64() != pid) return std::nullopt;
  if (port->as_int64() < 1 || port->as_int64() > 65535) return std::nullopt;
  return static_cast<int>(port->as_int64());
}

}  // namespace

struct RemoteViewers::Entry {
  std::mutex mu;  // one Stop or Status of this viewer at a time
  RemoteViewerSession info;  // without the token
  std::shared_ptr<SshSession> session;
  std::unique_ptr<LocalTunnel> tunnel;
  std::string work_dir;
  std::string token_path;
  int stop_grace_seconds = 5;
};

RemoteViewers::RemoteViewers() = default;

RemoteViewers::~RemoteViewers() {
  std::map<std::string, std::shared_ptr<Entry>> all;
  {
    std::lock_guard<std::mutex> lock(mu_);
    all.swap(entries_);
  }
  for (auto& [id, e] : all) {
    std::lock_guard<std::mutex> lock(e->mu);
    if (e->tunnel) e->tunnel->Stop();
    if (e->info.status == "running")
      (void)StopRemote(*e->session, e->info.pid, e->token_path, e->work_dir, e->stop_grace_seconds);
  }
}

Result<RemoteViewerSession> RemoteViewers::Start(std::shared_ptr<SshSession> session, const std::string& connection_id,
                                                 const RemoteViewerOptions& options) {
  if (!session) return Status::InvalidArgument("no SSH session");
  RUNTRACK_RETURN_IF_ERROR(CheckRemoteText(options.remote_root, "remote_root"));
  RUNTRACK_RETURN_IF_ERROR(CheckRemoteText(options.runicorn_path, "runicorn_path"));
  if (options.remote_port < 0 || options.remote_port > 65535)
    return Status::InvalidArgument("remote_port must be 0..65535");
  if (options.local_port < 0 || options.local_port > 65535) return Status::InvalidArgument("local_port must be 0..65535");
  if (options.ready_timeout_seconds < 1 || options.stop_grace_seconds < 0)
    return Status::InvalidArgument("invalid remote viewer timeouts");
  const std::string where = session->username() + "@" + session->host() + ":" + std::to_string(session->port());

  // The store must be there: a viewer started on any other directory would make a store of it.
  const std::string root = HomeRelative(options.remote_root);
  auto root_entry = session->Stat(root);
  if (!root_entry.ok()) {
    if (root_entry.status().code() == runtrack::StatusCode::kNotFound)
      return Status::NotFound("remote root '" + options.remote_root + "' does not exist on " + where);
    return root_entry.status();
  }
  if (!root_entry->is_dir)
    return Status::InvalidArgument("remote root '" + options.remote_root + "' on " + where + " is not a directory");
  const runtrack::StoreLayout layout(root);
  if (auto runs = session->Stat(layout.runs_dir().string()); !runs.ok() || !runs->is_dir)
    return Status::InvalidArgument("remote root '" + options.remote_root + "' on " + where +
                                   " is not a runicorn store (it has no runs folder)");

  RUNTRACK_ASSIGN_OR_RETURN(std::string token, NewLocalToken());
  RUNTRACK_ASSIGN_OR_RETURN(std::string id_source, NewLocalToken());
  auto entry = std::make_shared<Entry>();
  RemoteViewerSession& info = entry->info;
  info.session_id = id_source.substr(0, 16);
  info.connection_id = connection_id;
  info.remote_host = session->host();
  info.remote_root = options.remote_root;
  info.runicorn_path = options.runicorn_path;
  info.created_at = NowSeconds();
  entry->session = session;
  entry->stop_grace_seconds = options.stop_grace_seconds;
  entry->work_dir = std::string(kWorkRoot) + "/" + info.session_id;
  entry->token_path = entry->work_dir + "/token";
  const std::string log_path = entry->work_dir + "/viewer.log";

  RUNTRACK_RETURN_IF_ERROR(session->MakeDirectory(kWorkRoot, 0700));
  RUNTRACK_RETURN_IF_ERROR(session->MakeDirectory(entry->work_dir, 0700));
  if (Status st = session->WriteFile(entry->token_path, token + "\n", 0600); !st.ok()) {
    (void)StopRemote(*session, 0, "", entry->work_dir, 0);
    return st;
  }

  // Detached from the SSH session (setsid: its own session, no terminal; nohup: no SIGHUP), with
  // its output in the log; `$!` is the viewer's PID, as setsid does not fork when its caller is
  // no process-group leader (a background job of a non-interactive shell never is).
  const std::string start =
      "BIN=" + ShellQuote(options.runicorn_path) +
      "; command -v -- \"$BIN\" >/dev/null 2>&1 || { printf '%s\\n' \"cannot run '$BIN': not found (or not "
      "executable) on the remote host\" >&2; exit 127; }; setsid nohup \"$BIN\" viewer --storage " +
      ShellQuote(root) + " --host 127.0.0.1 --port " + std::to_string(options.remote_port) + " --token-file " +
      ShellQuote(entry->token_path) + " </dev/null >" + ShellQuote(log_path) + " 2>&1 & echo $!";
  auto started = session->Exec(Sh(start));
  if (!started.ok() || started->exit_status != 0) {
    (void)StopRemote(*session, 0, "", entry->work_dir, 0);
    if (!started.ok()) return started.status();
    return Status::IOError("the remote viewer did not start (exit " + std::to_string(started->exit_status) +
                           "): " + Tail(started->err));
  }
  try {
    info.pid = std::stoll(Trim(started->out));
  } catch (...) {
    info.pid = 0;
  }
  if (info.pid <= 1) {
    (void)StopRemote(*session, 0, "", entry->work_dir, 0);
    return Status::IOError("the remote shell did not report the viewer's PID: '" + Tail(started->out) + "'");
  }

  // Ready = announced in viewer.json under our PID, and answering /api/health through the tunnel.
  auto fail = [&](Status st) -> Status {
    if (entry->tunnel) entry->tunnel->Stop();
    (void)StopRemote(*session, info.pid, entry->token_path, entry->work_dir, entry->stop_grace_seconds);
    return st;
  };
  const std::string endpoint_path = layout.viewer_endpoint_path().string();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(options.ready_timeout_seconds);
  for (;;) {
    auto alive = Alive(*session, info.pid, entry->token_path);
    if (!alive.ok()) return fail(alive.status());
    if (!*alive) {
      const std::string tail = LogTail(*session, log_path);
      return fail(Status::IOError("the remote viewer exited before it was ready: " + tail));
    }
    if (info.remote_port == 0) {
      if (auto port = AnnouncedPort(*session, endpoint_path, info.pid))
        info.remote_port = *port;
    }
    if (info.remote_port != 0 && !entry->tunnel) {
      TunnelOptions t;
      t.target_port = info.remote_port;
      t.local_port = options.local_port;
      auto tunnel = LocalTunnel::Open(session, t);
      if (!tunnel.ok()) return fail(tunnel.status());
      entry->tunnel = std::move(*tunnel);
    }
    if (entry->tunnel && AnswersHealth(entry->tunnel->local_port())) break;
    if (std::chrono::steady_clock::now() > deadline) {
      const std::string tail = LogTail(*session, log_path);
      return fail(Status::IOError("the remote viewer did not answer /api/health within " +
                                  std::to_string(options.ready_timeout_seconds) + " s: " + tail));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  // The viewer read its token at start; the file need not outlive that.
  (void)session->RemoveFile(entry->token_path);

  info.local_port = entry->tunnel->local_port();
  info.local_url = "http://127.0.0.1:" + std::to_string(info.local_port);
  info.status = "running";
  RemoteViewerSession out = info;
  out.token = token;
  std::lock_guard<std::mutex> lock(mu_);
  entries_[info.session_id] = std::move(entry);
  return out;
}

std::shared_ptr<RemoteViewers::Entry> RemoteViewers::Find(const std::string& session_id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(session_id);
  return it == entries_.end() ? nullptr : it->second;
}

Result<RemoteViewerSession> RemoteViewers::Stop(const std::string& session_id) {
  auto e = Find(session_id);
  if (!e) return Status::NotFound("no remote viewer session '" + session_id + "'");
  std::lock_guard<std::mutex> lock(e->mu);
  if (e->tunnel) e->tunnel->Stop();
  if (e->info.status == "running") {
    RUNTRACK_RETURN_IF_ERROR(StopRemote(*e->session, e->info.pid, e->token_path, e->work_dir, e->stop_grace_seconds));
    e->info.status = "stopped";
  }
  return e->info;
}

Result<RemoteViewerSession> RemoteViewers::Query(const std::string& session_id) {
  auto e = Find(session_id);
  if (!e) return Status::NotFound("no remote viewer session '" + session_id + "'");
  std::lock_guard<std::mutex> lock(e->mu);
  if (e->info.status == "running") {
    RUNTRACK_ASSIGN_OR_RETURN(bool alive, Alive(*e->session, e->info.pid, e->token_path));
    if (!alive) e->info.status = "stopped";
  }
  return e->info;
}

std::vector<RemoteViewerSession> RemoteViewers::Sessions() const {
  std::vector<std::shared_ptr<Entry>> all;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [id, e] : entries_) all.push_back(e);
  }
  std::vector<RemoteViewerSession> out;
  for (const auto& e : all) {
    std::lock_guard<std::mutex> lock(e->mu);
    out.push_back(e->info);
  }
  return out;
}

void RemoteViewers::StopForConnection(const std::string& connection_id) {
  std::vector<std::shared_ptr<Entry>> gone;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = entries_.begin(); it != entries_.end();) {
      if (it->second->info.connection_id == connection_id) {
        gone.push_back(it->second);
        it = entries_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& e : gone) {
    std::lock_guard<std::mutex> lock(e->mu);
    if (e->tunnel) e->tunnel->Stop();
    if (e->info.status == "running")
      (void)StopRemote(*e->session, e->info.pid, e->token_path, e->work_dir, e->stop_grace_seconds);
    e->info.status = "stopped";
  }
}

}  // namespace runicorn::service::ssh
