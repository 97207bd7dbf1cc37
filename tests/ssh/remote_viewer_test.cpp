// A `runicorn viewer` started on an SSH host and tunneled to a local port (/api/remote/viewer/*,
// service/ssh/remote_viewer.h, tunnel.h), against the loopback sshd: the "remote host" is this
// machine, the remote binary the one just built.
#include <catch2/catch.hpp>

#include <pwd.h>

#include <thread>

#include "runtrack/layout.h"
#include "runtrack/store.h"
#include "server/api.h"
#include "server/app_context.h"
#include "server/http_server.h"
#include "server_fixture.h"
#include "service/ssh/shell_quote.h"
#include "service/ssh/ssh_session.h"
#include "service/ssh/tunnel.h"
#include "sshd_fixture.h"

namespace runicorn::testing {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;
constexpr const char* kTaskToken = "ssh-viewer-test-task-token";
const std::map<std::string, std::string> kAuth = {{"Authorization", std::string("Bearer ") + kTaskToken}};

// An in-process viewer with a task token, as in remote_routes_test.cpp.
class ViewerWithRemote {
 public:
  ViewerWithRemote() {
    auto ctx = server::AppContext::Open(dir_.path() / "store", dir_.path() / "config" / "config.json");
    REQUIRE(ctx.ok());
    ctx_ = std::move(*ctx);
    server::ApiOptions a;
    a.task_token = kTaskToken;
    a.rate_limits.enabled = false;
    api_ = std::make_unique<server::Api>(*ctx_, a);
    server::ServerOptions s;
    s.port = 0;
    s.threads = 2;
    s.drain_timeout = std::chrono::seconds(2);
    auto srv = server::HttpServer::Start(*api_, s, false);
    REQUIRE(srv.ok());
    server_ = std::move(*srv);
  }
  ~ViewerWithRemote() {
    server_->Shutdown();
    server_->Wait();
  }
  uint16_t port() const { return server_->port(); }

 private:
  runtrack::testing::TempDir dir_;
  std::unique_ptr<server::AppContext> ctx_;
  std::unique_ptr<server::Api> api_;
  std::unique_ptr<server::HttpServer> server_;
};

// Host key confirmed and connected; returns the connection id.
std::string Connect(HttpClient& c, const Sshd& sshd) {
  json::object accept{{"host", "127.0.0.1"}, {"port", sshd.port()}, {"fingerprint_sha256", sshd.host_fingerprint()}};
  REQUIRE(c.Post("/api/remote/known-hosts/accept", json::serialize(accept), kAuth).status == 200);
  json::object body{{"host", "127.0.0.1"},
                    {"port", sshd.port()},
                    {"username", sshd.user()},
                    {"private_key_path", sshd.client_key().string()},
                    {"use_agent", false}};
  auto r = c.Post("/api/remote/connect", json::serialize(body), kAuth);
  INFO(r.body);
  REQUIRE(r.status == 200);
  return std::string(r.json().at("connection_id").as_string());
}

// A store with one finished run, closed again (the remote viewer must be able to take its catalog).
std::string MakeRemoteStore(const fs::path& root) {
  auto store = runtrack::Store::Open(root);
  REQUIRE(store.ok());
  return MakeRun(**store, "p", "remote", 12);
}

std::string StartBody(const std::string& id, const std::string& root, json::object extra = {}) {
  json::object o{{"connection_id", id}, {"remote_root", root}, {"runicorn_path", RUNICORN_BINARY}};
  for (auto& kv : extra) o[kv.key()] = kv.value();
  return json::serialize(o);
}

// Running means: /proc/<pid> exists and is no zombie (an exited child not yet reaped by init).
bool ProcessRunning(int64_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  if (!in) return false;
  std::string line;
  std::getline(in, line);
  const size_t close = line.rfind(')');
  return close != std::string::npos && close + 2 < line.size() && line[close + 2] != 'Z';
}

// Live processes whose command line holds `needle` (a store path: a remote viewer left behind).
int ProcessesWith(const std::string& needle) {
  int n = 0;
  for (const auto& e : fs::directory_iterator("/proc")) {
    const std::string name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string cmdline = ReadAll(e.path() / "cmdline");
    if (cmdline.find(needle) != std::string::npos && ProcessRunning(std::stoll(name))) ++n;
  }
  return n;
}

bool PortAccepts(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

fs::path Home() {
  const passwd* pw = ::getpwuid(::getuid());
  REQUIRE(pw != nullptr);
  return pw->pw_dir;
}

// The run list of the remote viewer, once its first index pass has found `want` runs (it indexes
// in the background after it starts answering); the deadline only guards against a hang.
json::array RunsThroughTunnel(HttpClient& tunnel, const std::string& token, size_t want) {
  const std::map<std::string, std::string> auth = {{"Authorization", "Bearer " + token}};
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  for (;;) {
    auto r = tunnel.Get("/api/runs", auth);
    REQUIRE(r.status == 200);
    json::array runs = r.json().as_array();
    if (runs.size() >= want || std::chrono::steady_clock::now() > deadline) return runs;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

}  // namespace

TEST_CASE("ShellQuote makes one shell word of any value", "[ssh][viewer]") {
  using service::ssh::ShellQuote;
  CHECK(ShellQuote("") == "''");
  CHECK(ShellQuote("a b") == "'a b'");
  CHECK(ShellQuote("it's") == "'it'\\''s'");
  // Through a real shell: each value comes back byte for byte, and nothing in it runs.
  runtrack::testing::TempDir dir;
  const fs::path marker = dir.path() / "ran";
  for (const std::string value : {std::string("x'; touch ") + marker.string() + "; echo '", std::string("$(touch ") +
                                      marker.string() + ")", std::string("`touch ") + marker.string() + "`",
                                  std::string("a\"b\\c $HOME *"), std::string("two\nlines")}) {
    INFO(value);
    const fs::path out = dir.path() / "out";
    REQUIRE(Sh("printf %s " + ShellQuote(value) + " > '" + out.string() + "'") == 0);
    CHECK(ReadAll(out) == value);
  }
  CHECK_FALSE(fs::exists(marker));
}

TEST_CASE("the tunnel carries bytes both ways through a direct-tcpip channel and closes with the far side",
          "[ssh][viewer]") {
  if (!SshdAvailable()) return;
  Sshd sshd;
  runtrack::testing::TempDir local;
  const auto known_hosts = local.path() / "known_hosts";
  REQUIRE(service::ssh::SshSession::ConfirmHostKey("127.0.0.1", sshd.port(), sshd.host_fingerprint(), known_hosts).ok());
  service::ssh::SshCredentials creds;
  creds.host = "127.0.0.1";
  creds.port = sshd.port();
  creds.username = sshd.user();
  creds.private_key_path = sshd.client_key().string();
  creds.use_agent = false;
  service::ssh::ConnectError error;
  std::shared_ptr<service::ssh::SshSession> session = service::ssh::SshSession::Connect(creds, known_hosts, &error);
  INFO(error.status.message());
  REQUIRE(session != nullptr);

  // The far side: an echo server that answers one connection, reversed, and closes after EOF.
  int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  REQUIRE(::listen(listener, 4) == 0);
  socklen_t len = sizeof a;
  REQUIRE(::getsockname(listener, reinterpret_cast<sockaddr*>(&a), &len) == 0);
  const int far_port = ntohs(a.sin_port);
  std::thread far([listener] {
    int fd = ::accept(listener, nullptr, nullptr);
    std::string got;
    char buf[65536];
    ssize_t n;
    while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) got.append(buf, static_cast<size_t>(n));
    std::string back(got.rbegin(), got.rend());
    size_t sent = 0;
    while (sent < back.size()) {
      n = ::send(fd, back.data() + sent, back.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) break;
      sent += static_cast<size_t>(n);
    }
    ::close(fd);
  });

  service::ssh::TunnelOptions options;
  options.target_port = far_port;
  options.buffer_bytes = 4096;  // far smaller than the payload: the bounded buffers must cycle
  auto tunnel = service::ssh::LocalTunnel::Open(session, options);
  REQUIRE(tunnel.ok());
  const int port = (*tunnel)->local_port();
  REQUIRE(port > 0);

  std::string payload;
  for (int i = 0; i < 300000; ++i) payload += static_cast<char>('a' + (i * 7) % 26);
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  a.sin_port = htons(static_cast<uint16_t>(port));
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  // Written in full, then half-closed: the far side only answers after our EOF reaches it.
  std::thread writer([fd, &payload] {
    size_t sent = 0;
    while (sent < payload.size()) {
      ssize_t n = ::send(fd, payload.data() + sent, payload.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) break;
      sent += static_cast<size_t>(n);
    }
    ::shutdown(fd, SHUT_WR);
  });
  std::string reply;
  char buf[65536];
  ssize_t n;
  while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) reply.append(buf, static_cast<size_t>(n));
  writer.join();
  far.join();
  ::close(fd);
  ::close(listener);
  CHECK(n == 0);  // an orderly EOF once the far side closed, not a reset
  CHECK(reply.size() == payload.size());
  CHECK(reply == std::string(payload.rbegin(), payload.rend()));

  (*tunnel)->Stop();
  CHECK((*tunnel)->open_connections() == 0);
  CHECK_FALSE(PortAccepts(port));
}

TEST_CASE("a remote viewer starts over SSH, serves its store through the tunnel, and stops", "[ssh][viewer]") {
  if (!SshdAvailable()) return;
  Sshd sshd;
  ViewerWithRemote srv;
  HttpClient c(srv.port());
  const std::string id = Connect(c, sshd);
  runtrack::testing::TempDir remote;
  const fs::path root = remote.path() / "store";
  const std::string run_id = MakeRemoteStore(root);

  auto started = c.Post("/api/remote/viewer/start", StartBody(id, root.string()), kAuth);
  INFO(started.body);
  REQUIRE(started.status == 200);
  const json::value sv = started.json();
  const json::object& session = sv.at("session").as_object();
  const std::string sid(session.at("session_id").as_string());
  const int64_t local_port = session.at("local_port").as_int64();
  const int64_t pid = session.at("pid").as_int64();
  const std::string token(sv.at("token").as_string());
  CHECK(sid.size() == 16);
  CHECK(session.at("connection_id").as_string() == id);
  CHECK(session.at("remote_host").as_string() == "127.0.0.1");
  CHECK(session.at("remote_root").as_string() == root.string());
  CHECK(session.at("runicorn_path").as_string() == RUNICORN_BINARY);
  CHECK(session.at("status").as_string() == "running");
  CHECK(session.at("remote_port").as_int64() > 0);
  CHECK(session.at("local_url").as_string() == "http://127.0.0.1:" + std::to_string(local_port));
  CHECK(sv.at("message").as_string() == "Remote Viewer ready at http://127.0.0.1:" + std::to_string(local_port));
  CHECK(token.size() == 64);
  REQUIRE(ProcessRunning(pid));
  // The token reached the viewer by a file, never by its command line, and that file is gone.
  const std::string cmdline = ReadAll("/proc/" + std::to_string(pid) + "/cmdline");
  CHECK(cmdline.find("viewer") != std::string::npos);
  CHECK(cmdline.find(token) == std::string::npos);
  const fs::path work = Home() / ".runicorn-remote" / sid;
  CHECK(fs::is_directory(work));
  CHECK_FALSE(fs::exists(work / "token"));

  // The remote store, through the tunnel: its token is required (the remote port is open to
  // every user of the remote host), and the run is there.
  HttpClient tunnel(static_cast<uint16_t>(local_port));
  CHECK(tunnel.Get("/api/runs").status == 401);
  const json::array runs = RunsThroughTunnel(tunnel, token, 1);
  REQUIRE(runs.size() == 1);
  CHECK(runs.at(0).at("id").as_string() == run_id);
  CHECK(tunnel.Get("/api/health").status == 200);

  auto list = c.Get("/api/remote/viewer/sessions", kAuth);
  REQUIRE(list.status == 200);
  const json::value lv = list.json();
  REQUIRE(lv.at("sessions").as_array().size() == 1);
  const json::object& listed = lv.at("sessions").as_array().at(0).as_object();
  CHECK(listed.at("session_id").as_string() == sid);
  CHECK(listed.at("status").as_string() == "running");
  CHECK(list.body.find(token) == std::string::npos);  // the token is in start's answer only
  auto status = c.Get("/api/remote/viewer/status/" + sid, kAuth);
  REQUIRE(status.status == 200);
  CHECK(status.json().at("session").at("status").as_string() == "running");

  // A second viewer on the same store cannot take its catalog: the remote error comes back.
  auto second = c.Post("/api/remote/viewer/start", StartBody(id, root.string()), kAuth);
  CHECK(second.status == 502);
  CHECK(second.detail() == "the remote viewer exited before it was ready: runicorn: the catalog of " + root.string() +
                               " is held by another process (is another `runicorn viewer` running on it?)");

  auto stopped = c.Post("/api/remote/viewer/stop", json::serialize(json::object{{"session_id", sid}}), kAuth);
  INFO(stopped.body);
  REQUIRE(stopped.status == 200);
  CHECK(stopped.json().at("session").at("status").as_string() == "stopped");
  CHECK_FALSE(ProcessRunning(pid));
  CHECK_FALSE(PortAccepts(static_cast<int>(local_port)));
  CHECK_FALSE(fs::exists(work));
  CHECK(ProcessesWith(root.string()) == 0);
  auto after = c.Get("/api/remote/viewer/status/" + sid, kAuth);
  REQUIRE(after.status == 200);
  CHECK(after.json().at("session").at("status").as_string() == "stopped");
  // Stopping again changes nothing.
  CHECK(c.Post("/api/remote/viewer/stop", json::serialize(json::object{{"session_id", sid}}), kAuth).status == 200);
  auto unknown = c.Post("/api/remote/viewer/stop", R"({"session_id":"0123456789abcdef"})", kAuth);
  CHECK(unknown.status == 404);
  CHECK(unknown.detail() == "no remote viewer session '0123456789abcdef'");
  auto unknown_status = c.Get("/api/remote/viewer/status/nope", kAuth);
  CHECK(unknown_status.status == 404);
  CHECK(unknown_status.detail() == "no remote viewer session 'nope'");
}

TEST_CASE("disconnecting stops the remote viewers started over that connection", "[ssh][viewer]") {
  if (!SshdAvailable()) return;
  Sshd sshd;
  ViewerWithRemote srv;
  HttpClient c(srv.port());
  const std::string id = Connect(c, sshd);
  runtrack::testing::TempDir remote;
  const fs::path root = remote.path() / "store";
  MakeRemoteStore(root);
  auto started = c.Post("/api/remote/viewer/start", StartBody(id, root.string()), kAuth);
  INFO(started.body);
  REQUIRE(started.status == 200);
  const int64_t pid = started.json().at("session").at("pid").as_int64();
  const int64_t local_port = started.json().at("session").at("local_port").as_int64();
  REQUIRE(ProcessRunning(pid));

  REQUIRE(c.Post("/api/remote/disconnect", json::serialize(json::object{{"connection_id", id}}), kAuth).status == 200);
  CHECK_FALSE(ProcessRunning(pid));
  CHECK_FALSE(PortAccepts(static_cast<int>(local_port)));
  CHECK(c.Get("/api/remote/viewer/sessions", kAuth).body == R"({"sessions":[]})");
}

TEST_CASE("remote viewer start: clear errors for a missing connection, root, store or binary", "[ssh][viewer]") {
  if (!SshdAvailable()) return;
  Sshd sshd;
  ViewerWithRemote srv;
  HttpClient c(srv.port());

  // The token, as for every SSH remote route.
  auto no_token = c.Post("/api/remote/viewer/start", StartBody("x", "/tmp"));
  CHECK(no_token.status == 401);
  CHECK(c.Get("/api/remote/viewer/sessions").status == 401);
  // Not connected: 404, as /api/remote/fs/list and /sync answer.
  auto not_connected = c.Post("/api/remote/viewer/start", StartBody("nobody@127.0.0.1:1", "/tmp"), kAuth);
  CHECK(not_connected.status == 404);
  CHECK(not_connected.detail() == "no open SSH connection 'nobody@127.0.0.1:1': connect first (POST /api/remote/connect)");

  const std::string id = Connect(c, sshd);
  const std::string where = sshd.user() + "@127.0.0.1:" + std::to_string(sshd.port());
  runtrack::testing::TempDir remote;
  const fs::path root = remote.path() / "store";
  MakeRemoteStore(root);

  auto no_root = c.Post("/api/remote/viewer/start", json::serialize(json::object{{"connection_id", id}}), kAuth);
  CHECK(no_root.status == 400);
  CHECK(no_root.detail() == "remote_root is required");
  auto absent = c.Post("/api/remote/viewer/start", StartBody(id, (remote.path() / "nothing").string()), kAuth);
  CHECK(absent.status == 404);
  CHECK(absent.detail() == "remote root '" + (remote.path() / "nothing").string() + "' does not exist on " + where);
  auto not_store = c.Post("/api/remote/viewer/start", StartBody(id, remote.path().string()), kAuth);
  CHECK(not_store.status == 400);
  CHECK(not_store.detail() == "remote root '" + remote.path().string() + "' on " + where +
                                  " is not a runicorn store (it has no runs folder)");
  auto control = c.Post("/api/remote/viewer/start", StartBody(id, root.string() + "\n"), kAuth);
  CHECK(control.status == 400);
  CHECK(control.detail() == "remote_root must not contain control characters");
  auto bad_port = c.Post("/api/remote/viewer/start", StartBody(id, root.string(), {{"local_port", 70000}}), kAuth);
  CHECK(bad_port.status == 400);
  CHECK(bad_port.detail() == "local_port must be an integer 0..65535");
  auto unknown_field = c.Post("/api/remote/viewer/start", StartBody(id, root.string(), {{"token", "t"}}), kAuth);
  CHECK(unknown_field.status == 400);
  CHECK(unknown_field.detail() == "unknown field 'token'");

  // A binary that is not there: the remote shell's reason, and nothing of the quoted value runs.
  const fs::path marker = remote.path() / "ran";
  const std::string bad_binary = "/nonexistent/runicorn'; touch " + marker.string() + "; echo '";
  auto missing = c.Post("/api/remote/viewer/start", StartBody(id, root.string(), {{"runicorn_path", bad_binary}}), kAuth);
  CHECK(missing.status == 502);
  CHECK(missing.detail() == "the remote viewer did not start (exit 127): cannot run '" + bad_binary +
                                "': not found (or not executable) on the remote host");
  CHECK_FALSE(fs::exists(marker));

  // A binary that starts and fails: the tail of what it printed.
  const fs::path failing = remote.path() / "failing-runicorn";
  {
    std::ofstream f(failing);
    f << "#!/bin/sh\necho 'boom: cannot serve' >&2\nexit 3\n";
  }
  fs::permissions(failing, fs::perms::owner_all);
  auto exited = c.Post("/api/remote/viewer/start", StartBody(id, root.string(), {{"runicorn_path", failing.string()}}),
                       kAuth);
  CHECK(exited.status == 502);
  CHECK(exited.detail() == "the remote viewer exited before it was ready: boom: cannot serve");

  // The local port is taken: refused, and the viewer started for it is stopped again.
  int blocker = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(blocker, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  REQUIRE(::listen(blocker, 1) == 0);
  socklen_t len = sizeof a;
  REQUIRE(::getsockname(blocker, reinterpret_cast<sockaddr*>(&a), &len) == 0);
  const int taken = ntohs(a.sin_port);
  auto busy = c.Post("/api/remote/viewer/start", StartBody(id, root.string(), {{"local_port", taken}}), kAuth);
  ::close(blocker);
  CHECK(busy.status == 503);
  CHECK(busy.detail() == "local port " + std::to_string(taken) + " is in use");
  CHECK(ProcessesWith(root.string()) == 0);

  // None of the failures left a session or a work folder behind.
  CHECK(c.Get("/api/remote/viewer/sessions", kAuth).body == R"({"sessions":[]})");
}

}  // namespace runicorn::testing
