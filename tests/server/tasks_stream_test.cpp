// The task runner's WebSockets (/api/tasks/{name}/logs/stream, /api/tasks/events), reorder, the
// launcher routes and /api/system/metrics: exact messages and bodies, and the token and Origin
// checks in front of them.
#include <catch2/catch.hpp>

#include <pwd.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include <boost/beast/websocket/error.hpp>

#include "runtrack/store.h"
#include "server_fixture.h"
#include "service/task_service.h"

namespace runicorn::testing {
namespace {

namespace bj = boost::json;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr const char* kTaskToken = "stream-token-0123456789";
const std::map<std::string, std::string> kAuth = {{"Authorization", std::string("Bearer ") + kTaskToken}};
const std::string kTokenQuery = std::string("token=") + kTaskToken;

// A viewer without --token but with its per-start task token, serving a task project beside
// its store, polling its WebSockets every 20 ms.
class StreamServer {
 public:
  StreamServer() {
    fs::create_directories(project());
    auto store = runtrack::Store::Open(dir_.path() / "store");
    REQUIRE(store.ok());
    store_ = std::move(*store);
    auto ctx = server::AppContext::Open(store_->root(), dir_.path() / "config" / "config.json");
    REQUIRE(ctx.ok());
    ctx_ = std::move(*ctx);
    service::TaskServiceOptions t;
    t.project_root = project();
    t.cancel_grace = std::chrono::milliseconds(200);
    ctx_->services->tasks = std::make_shared<service::TaskService>(t);
    server::ApiOptions a;
    a.task_token = kTaskToken;
    a.rate_limits.enabled = false;
    api_ = std::make_unique<server::Api>(*ctx_, a);
    server::ServerOptions s;
    s.port = 0;
    s.threads = 2;
    s.stream_poll = std::chrono::milliseconds(20);
    s.drain_timeout = std::chrono::seconds(2);
    auto srv = server::HttpServer::Start(*api_, s, false);
    REQUIRE(srv.ok());
    server_ = std::move(*srv);
  }
  ~StreamServer() {
    server_->Shutdown();
    server_->Wait();
  }
  fs::path project() const { return dir_.path() / "project"; }
  fs::path dir() const { return dir_.path(); }
  uint16_t port() const { return server_->port(); }

 private:
  runtrack::testing::TempDir dir_;
  std::unique_ptr<runtrack::Store> store_;
  std::unique_ptr<server::AppContext> ctx_;
  std::unique_ptr<server::Api> api_;
  std::unique_ptr<server::HttpServer> server_;
};

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteAll(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << text;
}

// A WebSocket upgrade request that the server refuses: its HTTP answer.
HttpResult RefusedUpgrade(HttpClient& c, const std::string& target, std::map<std::string, std::string> headers = {}) {
  headers["Connection"] = "Upgrade";
  headers["Upgrade"] = "websocket";
  headers["Sec-WebSocket-Key"] = "dGhlIHNhbXBsZSBub25jZQ==";
  headers["Sec-WebSocket-Version"] = "13";
  return c.Get(target, headers);
}

bj::object NextJson(WsClient& ws) {
  auto m = ws.Next(30s);
  REQUIRE(m);
  return bj::parse(*m).as_object();
}

std::vector<std::string> Keys(const bj::object& o) {
  std::vector<std::string> out;
  for (const auto& kv : o) out.push_back(std::string(kv.key()));
  return out;
}

std::string Str(const bj::object& o, const char* key) { return std::string(o.at(key).as_string()); }

void WaitForStatus(HttpClient& c, const std::string& task, const std::string& status) {
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (std::chrono::steady_clock::now() < deadline) {
    auto t = c.Get("/api/tasks/" + task, kAuth);
    if (t.status == 200 && t.json().at("status") == bj::value(status)) return;
    std::this_thread::sleep_for(20ms);
  }
  FAIL("task " << task << " never became " << status);
}

void CreateShellTask(HttpClient& c, const std::string& name, const std::string& script) {
  REQUIRE(c.Post("/api/workspace/shell", "{}", kAuth).status == 200);
  bj::object body{{"mode", "shell"}, {"shell_text", script}, {"name_prefix", name}, {"append_timestamp", false}};
  auto r = c.Post("/api/generator/create", bj::serialize(body), kAuth);
  REQUIRE(r.status == 200);
}

// Reads log messages until their content adds up to `expected`; returns the messages.
std::vector<bj::object> ReadLogUntil(WsClient& ws, std::string& shown, const std::string& expected) {
  std::vector<bj::object> got;
  while (shown != expected) {
    REQUIRE(shown.size() < expected.size());
    REQUIRE(expected.compare(0, shown.size(), shown) == 0);  // nothing doubled, nothing out of order
    auto m = NextJson(ws);
    if (Str(m, "type") == "reset") shown.clear();
    shown += Str(m, "content");
    got.push_back(std::move(m));
  }
  return got;
}

TEST_CASE("task log stream: what exists, then live appends, then a reset for the next run", "[tasks_stream][logs]") {
  StreamServer s;
  HttpClient c(s.port());
  const fs::path go = s.dir() / "go";
  CreateShellTask(c, "t", "echo first\nwhile [ ! -f " + go.string() + " ]; do sleep 0.02; done\necho second\n");
  REQUIRE(c.Post("/api/tasks/t/run", "{}", kAuth).status == 200);
  const fs::path run1 = s.project() / "_pyruns_" / "_shell_" / "tasks" / "t" / "run_logs" / "run1.log";
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (ReadAll(run1).find("first\n") == std::string::npos && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(20ms);

  WsClient ws(s.port(), "/api/tasks/t/logs/stream?" + kTokenQuery);
  auto first = NextJson(ws);
  CHECK(Keys(first) == std::vector<std::string>{"type", "task_name", "log_file_name", "log_identity", "content", "offset"});
  CHECK(Str(first, "type") == "chunk");
  CHECK(Str(first, "task_name") == "t");
  CHECK(Str(first, "log_file_name") == "run1.log");
  std::string shown = Str(first, "content");
  CHECK(shown.find("first\n") != std::string::npos);  // what existed came first
  CHECK(shown.find("second\n") == std::string::npos);
  CHECK(first.at("offset").to_number<uint64_t>() == shown.size());
  auto logs = c.Get("/api/tasks/t/logs?log_file_name=run1.log", kAuth).json().as_object();
  CHECK(Str(first, "log_identity") == Str(logs, "log_identity"));

  WriteAll(go, "1");
  WaitForStatus(c, "t", "completed");
  const std::string final1 = ReadAll(run1);
  REQUIRE(final1.find("second\n") != std::string::npos);
  auto live = ReadLogUntil(ws, shown, final1);
  for (const auto& m : live) {
    CHECK(Str(m, "type") == "chunk");
    CHECK(Str(m, "log_file_name") == "run1.log");
  }
  CHECK(live.back().at("offset").to_number<uint64_t>() == final1.size());

  // A rerun is another file: the stream switches to it with a reset.
  fs::remove(go);
  REQUIRE(c.Post("/api/tasks/t/run", "{}", kAuth).status == 200);
  auto reset = NextJson(ws);
  CHECK(Str(reset, "type") == "reset");
  CHECK(Str(reset, "log_file_name") == "run2.log");
  shown = Str(reset, "content");
  WriteAll(go, "1");
  WaitForStatus(c, "t", "completed");
  const std::string final2 = ReadAll(run1.parent_path() / "run2.log");
  auto rest = ReadLogUntil(ws, shown, final2);
  for (const auto& m : rest) CHECK(Str(m, "log_file_name") == "run2.log");
  ws.Close();
}

TEST_CASE("task log stream: catch-up from an offset, a reset for another file, refusals before the upgrade",
          "[tasks_stream][logs]") {
  StreamServer s;
  HttpClient c(s.port());
  CreateShellTask(c, "done", "echo alpha\necho beta\n");
  REQUIRE(c.Post("/api/tasks/done/run", "{}", kAuth).status == 200);
  WaitForStatus(c, "done", "completed");
  const std::string log = ReadAll(s.project() / "_pyruns_" / "_shell_" / "tasks" / "done" / "run_logs" / "run1.log");
  auto logs = c.Get("/api/tasks/done/logs", kAuth).json().as_object();
  const std::string identity = Str(logs, "log_identity");
  const size_t at = log.find("beta");
  REQUIRE(at != std::string::npos);

  {
    WsClient ws(s.port(), "/api/tasks/done/logs/stream?offset=" + std::to_string(at) + "&log_identity=" + identity +
                              "&" + kTokenQuery);
    auto m = NextJson(ws);
    CHECK(bj::serialize(m) == bj::serialize(bj::object{{"type", "chunk"},
                                                       {"task_name", "done"},
                                                       {"log_file_name", "run1.log"},
                                                       {"log_identity", identity},
                                                       {"content", log.substr(at)},
                                                       {"offset", log.size()}}));
    ws.Close();
  }
  {
    // The client's identity names another file: everything again, from byte 0, as a reset.
    WsClient ws(s.port(), "/api/tasks/done/logs/stream?offset=5&log_identity=1:2&log_file_name=run1.log&" + kTokenQuery);
    auto m = NextJson(ws);
    CHECK(Str(m, "type") == "reset");
    CHECK(Str(m, "content") == log);
    CHECK(m.at("offset").to_number<uint64_t>() == log.size());
    ws.Close();
  }

  auto none = RefusedUpgrade(c, "/api/tasks/done/logs/stream");
  CHECK(none.status == 401);
  CHECK(none.detail() == "Task routes need the viewer's task token (printed at start): send Authorization: Bearer TOKEN");
  CHECK(RefusedUpgrade(c, "/api/tasks/done/logs/stream?token=wrong").status == 401);
  auto cross = RefusedUpgrade(c, "/api/tasks/done/logs/stream?" + kTokenQuery, {{"Origin", "http://evil.example"}});
  CHECK(cross.status == 403);
  auto missing = RefusedUpgrade(c, "/api/tasks/nope/logs/stream?" + kTokenQuery);
  CHECK(missing.status == 404);
  CHECK(missing.detail() == "task 'nope' does not exist");
  auto bad_log = RefusedUpgrade(c, "/api/tasks/done/logs/stream?log_file_name=../../x&" + kTokenQuery);
  CHECK(bad_log.status == 400);
  CHECK(bad_log.detail() == "'../../x' is not a task log (runN.log, error.log, queue.log)");
  CHECK(RefusedUpgrade(c, "/api/tasks/done/logs/stream?offset=x&" + kTokenQuery).status == 400);
  CHECK(RefusedUpgrade(c, "/api/tasks/..%2Fx/logs/stream?" + kTokenQuery).status == 400);
  // Without an upgrade the route says it is a WebSocket.
  CHECK(c.Get("/api/tasks/done/logs/stream?" + kTokenQuery).status == 426);
}

// (revision, "name:event") of every change in the message.
void Collect(const bj::object& m, std::vector<std::pair<uint64_t, std::string>>& out) {
  REQUIRE(Str(m, "type") == "changed");
  REQUIRE_FALSE(m.contains("truncated"));
  uint64_t rev = m.at("revision").to_number<uint64_t>();
  const auto& changes = m.at("changes").as_array();
  for (size_t i = 0; i < changes.size(); ++i) {
    const auto& c = changes[i].as_object();
    std::string text = (c.contains("old_name") ? Str(c, "old_name") + ">" : "") + Str(c, "name") + ":" + Str(c, "event");
    out.emplace_back(rev - (changes.size() - 1 - i), text);
  }
}

TEST_CASE("task events: ready, then every change with consecutive revisions, a workspace switch closes",
          "[tasks_stream][events]") {
  StreamServer s;
  HttpClient c(s.port());
  REQUIRE(c.Post("/api/workspace/shell", "{}", kAuth).status == 200);
  CreateShellTask(c, "old", "true\n");

  WsClient ws(s.port(), "/api/tasks/events?" + kTokenQuery);
  auto ready = NextJson(ws);
  const uint64_t r0 = ready.at("revision").to_number<uint64_t>();
  CHECK(bj::serialize(ready) == fmt::format(R"({{"type":"ready","revision":{}}})", r0));

  CreateShellTask(c, "e1", "true\n");
  auto created = NextJson(ws);
  CHECK(bj::serialize(created) ==
        fmt::format(R"({{"type":"changed","revision":{},"changes":[{{"name":"e1","event":"created"}}]}})", r0 + 1));

  // Every step of a run, each once, in order, however the polls coalesce them.
  REQUIRE(c.Post("/api/tasks/e1/run", "{}", kAuth).status == 200);
  std::vector<std::pair<uint64_t, std::string>> seen;
  while (seen.empty() || seen.back().second != "e1:completed") Collect(NextJson(ws), seen);
  CHECK(seen == std::vector<std::pair<uint64_t, std::string>>{
                    {r0 + 2, "e1:queued"}, {r0 + 3, "e1:running"}, {r0 + 4, "e1:completed"}});

  seen.clear();
  REQUIRE(c.Post("/api/tasks/reorder", R"({"items":[{"name":"e1"},{"name":"old"}]})", kAuth).status == 200);
  while (seen.size() < 2) Collect(NextJson(ws), seen);
  CHECK(seen == std::vector<std::pair<uint64_t, std::string>>{{r0 + 5, "e1:reordered"}, {r0 + 6, "old:reordered"}});

  seen.clear();
  REQUIRE(c.Post("/api/tasks/e1/rename", R"({"new_name":"e2"})", kAuth).status == 200);
  Collect(NextJson(ws), seen);
  REQUIRE(c.Post("/api/tasks/batch/delete", R"({"task_names":["old"]})", kAuth).status == 200);
  Collect(NextJson(ws), seen);
  CHECK(seen == std::vector<std::pair<uint64_t, std::string>>{{r0 + 7, "e1>e2:renamed"}, {r0 + 8, "old:deleted"}});

  // Pyruns closes its streams when the server switches workspace; so do we, saying why.
  WriteAll(s.project() / "train.py", "print('hi')\n");
  REQUIRE(c.Post("/api/launcher/open", R"({"script_path":"train.py"})", kAuth).status == 200);
  CHECK_FALSE(ws.Next(30s));
  CHECK(ws.last_error == boost::beast::websocket::error::closed);
  CHECK(ws.close_reason() == "Workspace changed");

  CHECK(RefusedUpgrade(c, "/api/tasks/events").status == 401);
  CHECK(RefusedUpgrade(c, "/api/tasks/events?" + kTokenQuery, {{"Origin", "http://evil.example"}}).status == 403);
}

TEST_CASE("reorder: task_order by position, pinned when given, listing follows, bad requests change nothing",
          "[tasks_stream][reorder]") {
  StreamServer s;
  HttpClient c(s.port());
  for (const char* n : {"a", "b", "c"}) CreateShellTask(c, n, "true\n");
  auto r = c.Post("/api/tasks/reorder", R"({"items":[{"name":"c"},{"name":"a","pinned":true}]})", kAuth);
  REQUIRE(r.status == 200);
  auto body = r.json().as_object();
  CHECK(body.at("count") == bj::value(2));
  const auto& items = body.at("items").as_array();
  REQUIRE(items.size() == 2);
  std::string created_at = Str(items[0].as_object(), "created_at");
  CHECK(bj::serialize(items[0]) ==
        fmt::format(R"({{"name":"c","status":"pending","task_kind":"shell","created_at":"{}","pinned":false,)"
                    R"("run_index":0,"queued_at":0E0,"task_order":0}})", created_at));
  CHECK(items[1].at("name") == bj::value("a"));
  CHECK(items[1].at("pinned") == bj::value(true));
  CHECK(items[1].at("task_order") == bj::value(1));

  auto names = [&] {
    std::vector<std::string> out;
    bj::value list = c.Get("/api/tasks", kAuth).json();  // kept alive while iterated
    for (const auto& t : list.at("items").as_array()) out.push_back(Str(t.as_object(), "name"));
    return out;
  };
  CHECK(names() == std::vector<std::string>{"a", "b", "c"});  // pinned a; b has no order; then c

  auto missing = c.Post("/api/tasks/reorder", R"({"items":[{"name":"b"},{"name":"zz"}]})", kAuth);
  CHECK(missing.status == 404);
  CHECK(missing.detail() == "task 'zz' does not exist");
  auto dup = c.Post("/api/tasks/reorder", R"({"items":[{"name":"b"},{"name":"b"}]})", kAuth);
  CHECK(dup.status == 400);
  CHECK(dup.detail() == "task 'b' appears twice in the new order");
  auto extra = c.Post("/api/tasks/reorder", R"({"items":[{"name":"b","order":3}]})", kAuth);
  CHECK(extra.status == 400);
  CHECK(extra.detail() == "unknown field 'order' in items");
  CHECK(c.Post("/api/tasks/reorder", R"({"items":"b"})", kAuth).detail() == "items must be a list of {name, pinned?}");
  CHECK(c.Post("/api/tasks/reorder", R"({"items":[]})", kAuth).detail() == "reorder needs at least one task");
  CHECK(c.Post("/api/tasks/reorder", R"({"items":[{"name":"../a"}]})", kAuth).status == 400);
  CHECK(c.Post("/api/tasks/reorder", R"({"items":[{"name":"b"}]})").status == 401);
  CHECK(names() == std::vector<std::string>{"a", "b", "c"});  // b still has no order
}

TEST_CASE("launcher: scripts, configs, workspaces and paths inside the project only", "[tasks_stream][launcher]") {
  StreamServer s;
  HttpClient c(s.port());
  const fs::path p = fs::weakly_canonical(s.project());
  WriteAll(p / "train.py", "import pyruns\ncfg = pyruns.load()\n");
  WriteAll(p / "cli.py", "import argparse\nap = argparse.ArgumentParser()\nap.add_argument('--lr')\n");
  WriteAll(p / "base.yaml", "lr: 0.1\n");
  WriteAll(p / "configs" / "big.yml", "lr: 0.1 | 0.2\n");
  WriteAll(p / "notes.txt", "x\n");
  WriteAll(s.dir() / "outside" / "secret.yaml", "k: v\n");
  WriteAll(s.dir() / "outside" / "evil.py", "print('x')\n");
  fs::create_symlink(s.dir() / "outside" / "secret.yaml", p / "link.yaml");
  fs::create_symlink(s.dir() / "outside" / "evil.py", p / "link.py");

  auto scripts = c.Get("/api/launcher/scripts", kAuth);
  REQUIRE(scripts.status == 200);
  CHECK(scripts.body == fmt::format(
                            R"({{"items":[{{"script_path":"{0}/cli.py","script_name":"cli","label":"cli.py","workspace_path":"","source":"file"}},)"
                            R"({{"script_path":"{0}/train.py","script_name":"train","label":"train.py","workspace_path":"","source":"file"}}]}})",
                            p.string()));

  auto configs = c.Get("/api/launcher/configs?script=train.py", kAuth);
  REQUIRE(configs.status == 200);
  CHECK(configs.body == fmt::format(R"({{"items":[{{"path":"{0}/base.yaml","label":"base.yaml","kind":"script_dir"}},)"
                                    R"({{"path":"{0}/configs/big.yml","label":"configs/big.yml","kind":"script_config_dir"}}],)"
                                    R"("config_source":"pyruns_load","requires_config_template":true}})",
                                    p.string()));
  CHECK(c.Get("/api/launcher/configs?script=cli.py", kAuth).json().at("config_source") == bj::value("argparse"));
  auto evil = c.Get("/api/launcher/configs?script=link.py", kAuth);
  CHECK(evil.status == 400);
  CHECK(evil.detail() == fmt::format("'link.py' is not inside the project folder {}", p.string()));
  CHECK(c.Get("/api/launcher/configs?script=../outside/evil.py", kAuth).status == 400);
  CHECK(c.Get("/api/launcher/configs?script=missing.py", kAuth).status == 404);

  auto would = c.Get("/api/launcher/workspaces?script=train.py&config=base.yaml", kAuth);
  CHECK(would.body == fmt::format(R"({{"items":[{{"workspace_path":"{0}/_pyruns_/train","script_path":"{0}/train.py",)"
                                  R"("script_name":"train","config_path":"{0}/base.yaml","config_name":"base.yaml","exists":false}}]}})",
                                  p.string()));
  CHECK(c.Get("/api/launcher/workspaces?script=train.py&config=link.yaml", kAuth).status == 400);

  auto opened = c.Post("/api/launcher/open", R"({"script_path":"train.py","config_path":"base.yaml"})", kAuth);
  REQUIRE(opened.status == 200);
  CHECK(opened.json().at("run_root") == bj::value((p / "_pyruns_" / "train").string()));
  CHECK(ReadAll(p / "_pyruns_" / "train" / "config_default.yaml") == "lr: 0.1\n");
  CHECK(c.Get("/api/workspace", kAuth).body == opened.body);
  CHECK(c.Post("/api/launcher/open", R"({"script_path":"train.py","config_path":"link.yaml"})", kAuth).status == 400);
  CHECK(c.Post("/api/launcher/open", R"({"script_path":"train.py","extra":"x"})", kAuth).detail() ==
        "unknown field 'extra'");

  // Now train.py has a workspace: listed as both, and its default config comes first.
  CHECK(c.Get("/api/launcher/scripts", kAuth).json().at("items").as_array()[1].at("source") ==
        bj::value("workspace+file"));
  auto with_default = c.Get("/api/launcher/configs?script=train.py", kAuth).json().as_object();
  CHECK(bj::serialize(with_default.at("items").as_array()[0]) ==
        fmt::format(R"x({{"path":"{}/_pyruns_/train/config_default.yaml","label":"config_default.yaml (workspace)","kind":"workspace_default"}})x",
                    p.string()));
  CHECK(with_default.at("requires_config_template") == bj::value(false));
  auto all = c.Get("/api/launcher/workspaces", kAuth);
  CHECK(all.body == fmt::format(R"({{"items":[{{"workspace_path":"{0}/_pyruns_/train","script_path":"{0}/train.py",)"
                                R"("script_name":"train","config_path":"{0}/_pyruns_/train/config_default.yaml",)"
                                R"("config_name":"config_default.yaml","exists":true}}]}})",
                                p.string()));

  auto check = [&](const std::string& query) { return c.Get("/api/launcher/validate-path?" + query, kAuth); };
  CHECK(check("kind=python&path=train.py").body ==
        fmt::format(R"({{"ok":true,"kind":"python","normalized_path":"{}/train.py","path_type":"file","message":""}})", p.string()));
  CHECK(check("kind=config&path=configs").body ==
        fmt::format(R"({{"ok":false,"kind":"config","normalized_path":"{}/configs","path_type":"directory",)"
                    R"("message":"not a .yaml, .yml or .json file"}})", p.string()));
  CHECK(check("kind=shell&path=nope").json().at("path_type") == bj::value("missing"));
  CHECK(check("kind=python&path=link.py").body ==
        fmt::format(R"({{"ok":false,"kind":"python","normalized_path":"","path_type":"",)"
                    R"("message":"the path is not inside the project folder {}"}})", p.string()));
  CHECK(check("kind=python&path=/etc/passwd").json().at("path_type") == bj::value(""));
  auto bad_kind = check("kind=exe&path=train.py");
  CHECK(bad_kind.status == 422);

  auto shell = c.Post("/api/launcher/open-shell-root", fmt::format(R"({{"path":"{}"}})", p.string()), kAuth);
  REQUIRE(shell.status == 200);
  CHECK(shell.json().at("workspace_kind") == bj::value("shell"));
  auto elsewhere = c.Post("/api/launcher/open-shell-root", R"({"path":"/tmp"})", kAuth);
  CHECK(elsewhere.status == 400);
  CHECK(elsewhere.detail() ==
        fmt::format("this viewer runs tasks of {} only; start it with --tasks-root to use another folder", p.string()));

  auto pick = c.Post("/api/launcher/pick-script", "{}", kAuth);
  CHECK(pick.status == 400);
  CHECK(pick.detail() == "native file dialogs are not available; choose from /api/launcher/scripts and "
                         "/api/launcher/configs or check a typed path with /api/launcher/validate-path");
  CHECK(c.Get("/api/launcher/scripts").status == 401);
  auto cross = kAuth;
  cross["Origin"] = "http://evil.example";
  CHECK(c.Post("/api/launcher/open", R"({"script_path":"train.py"})", cross).status == 403);
}

struct ScopedEnv {
  explicit ScopedEnv(const std::map<std::string, std::string>& vars) : vars_(vars) {
    for (const auto& [k, v] : vars_) ::setenv(k.c_str(), v.c_str(), 1);
  }
  ~ScopedEnv() {
    for (const auto& [k, v] : vars_) ::unsetenv(k.c_str());
  }
  std::map<std::string, std::string> vars_;
};

TEST_CASE("system metrics: Pyruns' shape, GPUs and their processes through a fake NVML", "[tasks_stream][system]") {
  const std::string pid = std::to_string(::getpid());
  ScopedEnv env(std::map<std::string, std::string>{
      {"RUNICORN_NVML_LIBRARY", FAKE_NVML_PATH},
      {"FAKE_NVML_DEVICES", "NVIDIA A100-SXM4-80GB:81920:40960:55:30:41:250000:400000:-:" + pid + "/1024"}});
  StreamServer s;  // its SystemService reads RUNICORN_NVML_LIBRARY now
  HttpClient c(s.port());
  auto take = [](bj::object& o, const char* key) {
    double v = o.at(key).to_number<double>();
    CHECK(v >= 0);
    CHECK(v <= 100);
    o[key] = "<percent>";
  };
  auto without = c.Get("/api/system/metrics", kAuth);
  REQUIRE(without.status == 200);
  auto body = without.json().as_object();
  take(body, "cpu_percent");
  take(body, "mem_percent");
  std::string gpu_without = R"({"id":0,"index":0,"name":"NVIDIA A100-SXM4-80GB","uuid":"GPU-fake-0","util":55,)"
                            R"("mem_used":40960,"mem_total":81920,"processes":[]})";
  auto uuid = Str(body.at("gpus").as_array()[0].as_object(), "uuid");
  gpu_without.replace(gpu_without.find("GPU-fake-0"), 10, uuid);
  CHECK(bj::serialize(body) ==
        R"({"cpu_percent":"<percent>","mem_percent":"<percent>","gpus":[)" + gpu_without + "]}");

  auto with = c.Get("/api/system/metrics?include_processes=true", kAuth).json().as_object();
  struct passwd* me = ::getpwuid(::getuid());
  REQUIRE(me != nullptr);
  std::string comm = ReadAll("/proc/self/comm");
  comm.pop_back();  // its newline
  CHECK(bj::serialize(with.at("gpus").as_array()[0].at("processes")) ==
        fmt::format(R"([{{"pid":{},"user":"{}","name":"{}","memory_mb":1024}}])", pid, me->pw_name, comm));
  CHECK(c.Get("/api/system/metrics?include_processes=maybe", kAuth).status == 422);
  CHECK(c.Get("/api/system/metrics").status == 401);
}

}  // namespace
}  // namespace runicorn::testing
