// `runicorn remote viewer start|status|stop` (the real binary) against the loopback sshd: through a
// viewer serving the local store (its API, with its task token), and in the foreground without one.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <regex>
#include <thread>

#include "runtrack/layout.h"
#include "runtrack/store.h"
#include "server/api.h"
#include "server/app_context.h"
#include "server/http_server.h"
#include "server_fixture.h"
#include "service/viewer_endpoint.h"
#include "sshd_fixture.h"

extern char** environ;

namespace runicorn::testing {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
constexpr const char* kTaskToken = "cli-viewer-task-token";

struct Ran {
  int exit_code = -1;
  std::string out, err;
};

// The binary with `args`, stdout and stderr to files, `env` added to (or, nullopt, removed from)
// this process's environment. Without `wait`, returns at once with the child's pid in exit_code.
class Cli {
 public:
  explicit Cli(fs::path dir) : dir_(std::move(dir)) {}
  pid_t Spawn(const std::vector<std::string>& args, const std::map<std::string, std::optional<std::string>>& env) {
    std::map<std::string, std::string> vars;
    for (char** e = environ; *e != nullptr; ++e) {
      std::string kv(*e);
      const size_t eq = kv.find('=');
      if (eq != std::string::npos) vars[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    vars.erase("RUNICORN_TASK_TOKEN");
    vars.erase("RUNICORN_DIR");
    for (const auto& [k, v] : env) {
      if (v) vars[k] = *v;
      else vars.erase(k);
    }
    std::vector<std::string> env_strings;
    for (const auto& [k, v] : vars) env_strings.push_back(k + "=" + v);
    std::vector<char*> envp;
    for (auto& s : env_strings) envp.push_back(s.data());
    envp.push_back(nullptr);
    std::vector<std::string> argv_strings{RUNICORN_BINARY};
    argv_strings.insert(argv_strings.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& s : argv_strings) argv.push_back(s.data());
    argv.push_back(nullptr);
    ++n_;
    const std::string out = out_file().string(), err = err_file().string();
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      int in = ::open("/dev/null", O_RDONLY);
      int o = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      int e = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (in < 0 || o < 0 || e < 0) ::_exit(126);
      ::dup2(in, 0);
      ::dup2(o, 1);
      ::dup2(e, 2);
      ::execve(RUNICORN_BINARY, argv.data(), envp.data());
      ::_exit(127);
    }
    return pid;
  }
  Ran Wait(pid_t pid) {
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    Ran r;
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    r.out = ReadAll(out_file());
    r.err = ReadAll(err_file());
    return r;
  }
  Ran Run(const std::vector<std::string>& args, const std::map<std::string, std::optional<std::string>>& env = {}) {
    return Wait(Spawn(args, env));
  }
  fs::path out_file() const { return dir_ / ("out-" + std::to_string(n_)); }
  fs::path err_file() const { return dir_ / ("err-" + std::to_string(n_)); }

 private:
  fs::path dir_;
  int n_ = 0;
};

// A store with one finished run, closed again (the remote viewer takes its catalog).
void MakeRemoteStore(const fs::path& root) {
  auto store = runtrack::Store::Open(root);
  REQUIRE(store.ok());
  MakeRun(**store, "p", "remote", 5);
}

bool ProcessRunning(int64_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  if (!in) return false;
  std::string line;
  std::getline(in, line);
  const size_t close = line.rfind(')');
  return close != std::string::npos && close + 2 < line.size() && line[close + 2] != 'Z';
}

struct Started {
  std::string url, session, remote, token;
  int local_port = 0;
  int64_t pid = 0;
};

// Start's four lines: "Remote Viewer ready at URL", "session: ID", "remote: CONN ROOT (pid N)", "token: T".
Started ParseStart(const std::string& out, const std::string& connection, const std::string& root) {
  static const std::regex re(
      "Remote Viewer ready at (http://127\\.0\\.0\\.1:([0-9]+))\nsession: ([0-9a-f]{16})\nremote: (.*) \\(pid ([0-9]+)\\)\n"
      "token: ([0-9a-f]{64})\n");
  std::smatch m;
  INFO(out);
  REQUIRE(std::regex_search(out, m, re));
  CHECK(m.position(0) == 0);
  Started s;
  s.url = m[1];
  s.local_port = std::stoi(m[2]);
  s.session = m[3];
  s.remote = m[4];
  s.pid = std::stoll(m[5]);
  s.token = m[6];
  CHECK(s.remote == connection + " " + root);
  return s;
}

std::vector<std::string> StartArgs(const Sshd& sshd, const fs::path& local, const fs::path& remote_root) {
  return {"remote", "viewer", "start", "--host", "127.0.0.1", "--port", std::to_string(sshd.port()), "--user",
          sshd.user(), "--key", sshd.client_key().string(), "--no-agent", "--runicorn-path", RUNICORN_BINARY,
          "--storage", local.string(), remote_root.string()};
}

}  // namespace

TEST_CASE("remote viewer CLI through the local viewer: start prints the tunnel URL, status, stop", "[ssh][cli]") {
  if (!SshdAvailable()) return;
  Sshd sshd;
  runtrack::testing::TempDir dir;
  const fs::path local = dir.path() / "local";
  const fs::path remote_root = dir.path() / "remote";
  MakeRemoteStore(remote_root);

  // The local viewer: its task token, and its announcement in the store as `runicorn viewer` makes.
  auto store = runtrack::Store::Open(local);
  REQUIRE(store.ok());
  auto ctx = server::AppContext::Open((*store)->root(), dir.path() / "config" / "config.json");
  REQUIRE(ctx.ok());
  server::ApiOptions a;
  a.task_token = kTaskToken;
  a.local_token = "cli-viewer-local-token";
  a.rate_limits.enabled = false;
  server::Api api(**ctx, a);
  server::ServerOptions so;
  so.port = 0;
  so.threads = 2;
  so.drain_timeout = std::chrono::seconds(2);
  auto srv = server::HttpServer::Start(api, so, false);
  REQUIRE(srv.ok());
  const runtrack::StoreLayout layout((*store)->root());
  REQUIRE(service::WriteViewerEndpoint(layout, {"127.0.0.1", (*srv)->port(), a.local_token, ::getpid()}).ok());

  Cli cli(dir.path());
  const auto args = StartArgs(sshd, local, remote_root);
  const std::string connection = sshd.user() + "@127.0.0.1:" + std::to_string(sshd.port());
  const std::map<std::string, std::optional<std::string>> with_token = {{"RUNICORN_TASK_TOKEN", kTaskToken}};

  // Without the viewer's task token: refused, and nothing is started.
  auto no_token = cli.Run(args);
  CHECK(no_token.exit_code == 5);
  CHECK(no_token.out.empty());
  CHECK(no_token.err == "runicorn: a viewer serves " + local.string() + " (pid " + std::to_string(::getpid()) +
                            "): set $RUNICORN_TASK_TOKEN to the task token it printed at start, or use --foreground\n");
  // An unknown host key: its fingerprint to confirm, through the viewer's connect.
  auto unknown_key = cli.Run(args, with_token);
  CHECK(unknown_key.exit_code == 5);
  CHECK(unknown_key.err == "runicorn remote: host key of 127.0.0.1:" + std::to_string(sshd.port()) +
                               " is not known: ssh-ed25519 " + sshd.host_fingerprint() +
                               "\n  to trust it, run again with --accept-host-key " + sshd.host_fingerprint() +
                               "\nrunicorn: Host key verification failed\n");

  auto accepted = args;
  accepted.insert(accepted.end() - 1, {"--accept-host-key", sshd.host_fingerprint()});
  auto start = cli.Run(accepted, with_token);
  INFO(start.err);
  REQUIRE(start.exit_code == 0);
  const Started s = ParseStart(start.out, connection, remote_root.string());
  CHECK(start.out.ends_with("token: " + s.token + "\n"));
  // The tunnel lives in the viewer, after the command has exited.
  HttpClient tunnel(static_cast<uint16_t>(s.local_port));
  CHECK(tunnel.Get("/api/health").status == 200);
  CHECK(ProcessRunning(s.pid));

  // status: the viewer's own answer, as JSON or as a table.
  HttpClient viewer((*srv)->port());
  const std::map<std::string, std::string> auth = {{"Authorization", std::string("Bearer ") + kTaskToken}};
  auto listed = cli.Run({"remote", "viewer", "status", "--json", "--storage", local.string()}, with_token);
  REQUIRE(listed.exit_code == 0);
  CHECK(json::parse(listed.out) == viewer.Get("/api/remote/viewer/sessions", auth).json());
  auto one = cli.Run({"remote", "viewer", "status", s.session, "--storage", local.string()}, with_token);
  REQUIRE(one.exit_code == 0);
  CHECK(one.out.find(s.session) != std::string::npos);
  CHECK(one.out.find("running") != std::string::npos);
  CHECK(one.out.find(s.url) != std::string::npos);

  auto stop = cli.Run({"remote", "viewer", "stop", s.session, "--json", "--storage", local.string()}, with_token);
  REQUIRE(stop.exit_code == 0);
  CHECK(json::parse(stop.out).at("session").at("status").as_string() == "stopped");
  CHECK_FALSE(ProcessRunning(s.pid));
  auto after = viewer.Get("/api/remote/viewer/status/" + s.session, auth);
  REQUIRE(after.status == 200);
  CHECK(after.json().at("session").at("status").as_string() == "stopped");

  auto unknown = cli.Run({"remote", "viewer", "stop", "0123456789abcdef", "--storage", local.string()}, with_token);
  CHECK(unknown.exit_code == 4);
  CHECK(unknown.err == "runicorn: no remote viewer session '0123456789abcdef'\n");
  auto no_id = cli.Run({"remote", "viewer", "stop", "--storage", local.string()}, with_token);
  CHECK(no_id.exit_code == 2);
  CHECK(no_id.err == "runicorn: SESSION_ID is required\n");

  service::RemoveViewerEndpoint(layout, ::getpid());
  (*srv)->Shutdown();
  (*srv)->Wait();
}

TEST_CASE("remote viewer CLI without a local viewer holds the tunnel in the foreground until SIGTERM", "[ssh][cli]") {
  if (!SshdAvailable()) return;
  Sshd sshd;
  runtrack::testing::TempDir dir;
  const fs::path local = dir.path() / "local";
  const fs::path remote_root = dir.path() / "remote";
  MakeRemoteStore(remote_root);
  Cli cli(dir.path());

  auto bogus = cli.Run({"remote", "viewer", "start", "--bogus", "x"});
  CHECK(bogus.exit_code == 2);
  CHECK(bogus.err.starts_with("runicorn remote viewer: unknown option --bogus\nusage: runicorn remote viewer start"));
  auto no_sub = cli.Run({"remote", "viewer"});
  CHECK(no_sub.exit_code == 2);
  CHECK(no_sub.err.starts_with("usage: runicorn remote viewer start"));

  auto status = cli.Run({"remote", "viewer", "status", "--storage", local.string()});
  CHECK(status.exit_code == 5);
  CHECK(status.err == "runicorn: no viewer serves " + local.string() +
                          ": remote viewers live in the viewer that started them, or in the foreground of `runicorn "
                          "remote viewer start` (stop that one with Ctrl-C)\n");

  auto args = StartArgs(sshd, local, remote_root);
  args.insert(args.end() - 1, {"--accept-host-key", sshd.host_fingerprint()});
  const pid_t pid = cli.Spawn(args, {});
  // Ready when it has printed its last line; the deadline only guards against a hang.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(90);
  std::string out;
  while ((out = ReadAll(cli.out_file())).find("Ctrl-C") == std::string::npos) {
    int st = 0;
    if (::waitpid(pid, &st, WNOHANG) == pid) FAIL("the command exited: " << ReadAll(cli.err_file()));
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const std::string connection = sshd.user() + "@127.0.0.1:" + std::to_string(sshd.port());
  const Started s = ParseStart(out, connection, remote_root.string());
  CHECK(out.ends_with("token: " + s.token + "\nholding the tunnel; Ctrl-C (or SIGTERM) stops the remote viewer\n"));
  HttpClient tunnel(static_cast<uint16_t>(s.local_port));
  CHECK(tunnel.Get("/api/health").status == 200);
  CHECK(ProcessRunning(s.pid));

  REQUIRE(::kill(pid, SIGTERM) == 0);
  auto done = cli.Wait(pid);
  INFO(done.err);
  CHECK(done.exit_code == 0);
  CHECK(done.out == out + "stopped " + s.session + "\n");
  CHECK_FALSE(ProcessRunning(s.pid));
}

}  // namespace runicorn::testing
