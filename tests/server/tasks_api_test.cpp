// The task routes (/api/workspace, /api/generator, /api/tasks): Pyruns' shapes, the task token
// they need even without --token, and the Host/Origin checks in front of them.
#include <catch2/catch.hpp>

#include <fstream>
#include <thread>

#include "runtrack/store.h"
#include "server_fixture.h"
#include "service/task_service.h"

namespace runicorn::testing {
namespace {

namespace bj = boost::json;
constexpr const char* kTaskToken = "task-token-0123456789";

// A viewer like `runicorn viewer` without --token: a per-start task token, a task project of
// its own beside the store.
class TaskServer {
 public:
  TaskServer() {
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
    s.drain_timeout = std::chrono::seconds(2);
    auto srv = server::HttpServer::Start(*api_, s, false);
    REQUIRE(srv.ok());
    server_ = std::move(*srv);
  }
  ~TaskServer() {
    server_->Shutdown();
    server_->Wait();
  }
  std::filesystem::path project() const { return dir_.path() / "project"; }
  uint16_t port() const { return server_->port(); }

 private:
  runtrack::testing::TempDir dir_;
  std::unique_ptr<runtrack::Store> store_;
  std::unique_ptr<server::AppContext> ctx_;
  std::unique_ptr<server::Api> api_;
  std::unique_ptr<server::HttpServer> server_;
};

const std::map<std::string, std::string> kAuth = {{"Authorization", std::string("Bearer ") + kTaskToken}};

HttpResult Patch(HttpClient& c, const std::string& target, const std::string& body) {
  auto h = kAuth;
  h["Content-Type"] = "application/json";
  return c.Request(http::verb::patch, target, body, h);
}

TEST_CASE("tasks api: create, list, run, log and show a shell task", "[tasks_api]") {
  TaskServer s;
  HttpClient c(s.port());
  auto shell = c.Post("/api/workspace/shell", "{}", kAuth);
  REQUIRE(shell.status == 200);
  const std::string ws_dir = (s.project() / "_pyruns_" / "_shell_").string();
  CHECK(shell.body == fmt::format(R"({{"run_root":"{0}","tasks_dir":"{0}/tasks","project_root":"{1}",)"
                                  R"("script_path":"","script_name":"_shell_","workspace_kind":"shell","workspace_ready":true}})",
                                  ws_dir, s.project().string()));
  CHECK(c.Get("/api/workspace", kAuth).body == shell.body);

  auto preview = c.Post("/api/generator/preview", R"({"mode":"shell","shell_text":"echo hi"})", kAuth);
  CHECK(preview.status == 200);
  CHECK(preview.body == R"({"count":1,"items":[{"index":0,"preview":"","config":"echo hi"}],"task_kind":"shell"})");

  auto create = c.Post("/api/generator/create",
                       R"({"mode":"shell","shell_text":"echo from-task","name_prefix":"t","append_timestamp":false})", kAuth);
  CHECK(create.status == 200);
  CHECK(create.body == R"({"count":1,"items":[{"name":"t"}],"task_kind":"shell"})");

  auto list = c.Get("/api/tasks?status=pending", kAuth);
  REQUIRE(list.status == 200);
  auto lj = list.json().as_object();
  CHECK(lj.at("total") == bj::value(1));
  CHECK(bj::serialize(lj.at("status_counts")) ==
        R"({"pending":1,"queued":0,"running":0,"completed":0,"failed":0,"cancelled":0})");
  CHECK(lj.at("items").as_array()[0].at("name") == bj::value("t"));

  auto run = c.Post("/api/tasks/t/run", "", kAuth);
  CHECK(run.status == 200);
  CHECK(run.json().at("ok") == bj::value(true));
  for (int i = 0; i < 200; ++i) {
    auto t = c.Get("/api/tasks/t", kAuth).json();
    if (t.at("status") == bj::value("completed")) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  auto task = c.Get("/api/tasks/t", kAuth).json().as_object();
  CHECK(task.at("status") == bj::value("completed"));
  CHECK(task.at("exit_codes") == bj::value(bj::array{0}));
  CHECK(task.at("config_text") == bj::value("echo from-task\n"));

  auto log = c.Get("/api/tasks/t/logs", kAuth).json().as_object();
  CHECK(log.at("selected_log") == bj::value("run1.log"));
  CHECK(log.at("available_logs") == bj::value(bj::array{"run1.log"}));
  CHECK(std::string(log.at("content").as_string()).find("\nfrom-task\n") != std::string::npos);
  CHECK(log.at("reset") == bj::value(false));
  // Continuing from the returned offset gives nothing new.
  auto more = c.Get(fmt::format("/api/tasks/t/logs?offset={}&log_identity={}", log.at("offset").to_number<uint64_t>(),
                                std::string(log.at("log_identity").as_string())),
                    kAuth)
                  .json()
                  .as_object();
  CHECK(more.at("content") == bj::value(""));
  CHECK(more.at("reset") == bj::value(false));

  auto csv = c.Post("/api/tasks/export/csv", R"({"task_names":["t"]})", kAuth);
  CHECK(csv.status == 200);
  CHECK(csv.header("content-type") == "text/csv; charset=utf-8");
  CHECK(csv.body.rfind("name,status,run,start_time,finish_time,duration_seconds,exit_code,pid\nt,completed,1,", 0) == 0);

  auto cancel = c.Post("/api/tasks/t/cancel", "", kAuth);
  CHECK(cancel.status == 400);
  CHECK(cancel.detail() == "task 't' is completed; only queued or running tasks can be cancelled");
}

// The status of task `name` once it is `want`, or its last status after 10 s.
std::string StatusOnce(HttpClient& c, const std::string& name, const std::string& want) {
  std::string status;
  for (int i = 0; i < 200; ++i) {
    status = std::string(c.Get("/api/tasks/" + name, kAuth).json().at("status").as_string());
    if (status == want) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return status;
}

TEST_CASE("tasks api: run now starts a task at once, outside the batch pool, and refuses an active one",
          "[tasks_api]") {
  TaskServer s;
  HttpClient c(s.port());
  REQUIRE(c.Post("/api/workspace/shell", "{}", kAuth).status == 200);
  // The gate: a batch task that runs until the file "open" exists.
  const std::string gate = (s.project() / "open").string();
  const std::string create_blocker = fmt::format(
      R"({{"mode":"shell","shell_text":"while [ ! -e '{}' ]; do sleep 0.05; done","name_prefix":"blocker","append_timestamp":false}})",
      gate);
  REQUIRE(c.Post("/api/generator/create", create_blocker, kAuth).status == 200);
  REQUIRE(c.Post("/api/generator/create",
                 R"({"mode":"shell","shell_text":"echo queued","name_prefix":"later","append_timestamp":false})", kAuth)
              .status == 200);
  REQUIRE(c.Post("/api/generator/create",
                 R"({"mode":"shell","shell_text":"echo now","name_prefix":"now","append_timestamp":false})", kAuth)
              .status == 200);
  // One batch worker, busy with the blocker; "later" waits behind it.
  auto batch = c.Post("/api/tasks/batch/run", R"({"task_names":["blocker","later"],"max_workers":1})", kAuth);
  REQUIRE(batch.status == 200);
  REQUIRE(StatusOnce(c, "blocker", "running") == "running");

  auto run = c.Post("/api/tasks/now/run", "{}", kAuth);
  CHECK(run.status == 200);
  CHECK(run.json().at("ok") == bj::value(true));
  // It completes while the pool's only worker is still held: it never waited for a slot.
  CHECK(StatusOnce(c, "now", "completed") == "completed");
  CHECK(c.Get("/api/tasks/blocker", kAuth).json().at("status") == bj::value("running"));
  CHECK(c.Get("/api/tasks/later", kAuth).json().at("status") == bj::value("queued"));

  // Active tasks are refused with Pyruns' 400, unknown ones with 404; nothing changes.
  auto again = c.Post("/api/tasks/blocker/run", "{}", kAuth);
  CHECK(again.status == 400);
  CHECK(again.detail() == "task 'blocker' is already queued or running here");
  auto queued = c.Post("/api/tasks/later/run", "{}", kAuth);
  CHECK(queued.status == 400);
  CHECK(queued.detail() == "task 'later' is already queued or running here");
  CHECK(c.Post("/api/tasks/nosuch/run", "{}", kAuth).status == 404);

  std::ofstream(gate).put('\n');
  CHECK(StatusOnce(c, "later", "completed") == "completed");
  CHECK(StatusOnce(c, "blocker", "completed") == "completed");
}

TEST_CASE("tasks api: notes and env are optimistic (409 on a stale expected value)", "[tasks_api]") {
  TaskServer s;
  HttpClient c(s.port());
  REQUIRE(c.Post("/api/generator/create", R"({"shell_text":"true","name_prefix":"n","append_timestamp":false})", kAuth).status == 200);
  auto ok = Patch(c, "/api/tasks/n/notes", R"({"notes":"first","expected_notes":""})");
  CHECK(ok.status == 200);
  CHECK(ok.json().at("task").at("notes") == bj::value("first"));
  auto stale = Patch(c, "/api/tasks/n/notes", R"({"notes":"second","expected_notes":""})");
  CHECK(stale.status == 409);
  CHECK(c.Get("/api/tasks/n", kAuth).json().at("notes") == bj::value("first"));

  auto env = Patch(c, "/api/tasks/n/env", R"({"env":{"A":"1"},"expected_env":{}})");
  CHECK(env.status == 200);
  CHECK(Patch(c, "/api/tasks/n/env", R"({"env":{"A":"2"},"expected_env":{}})").status == 409);
  CHECK(c.Get("/api/tasks/n", kAuth).json().at("env") == bj::value(bj::object{{"A", "1"}}));

  auto unknown = Patch(c, "/api/tasks/n/notes", R"({"notes":"x","bogus":1})");
  CHECK(unknown.status == 400);
  CHECK(unknown.detail() == "unknown field 'bogus'");
  CHECK(c.Get("/api/tasks/..%2Fx", kAuth).status == 400);
  CHECK(c.Get("/api/tasks/nosuch", kAuth).status == 404);
  CHECK(c.Post("/api/tasks/n/rename", R"({"new_name":"m"})", kAuth).json().at("task").at("name") == bj::value("m"));
  auto del = c.Post("/api/tasks/batch/delete", R"({"task_names":["m"]})", kAuth);
  CHECK(del.body == R"({"count":1,"deleted":["m"],"skipped":[]})");
}

TEST_CASE("tasks api: a missing or wrong token, a cross-origin POST and a rebinding Host are refused", "[tasks_api]") {
  TaskServer s;
  HttpClient c(s.port());
  const std::string create = R"({"shell_text":"touch pwned","name_prefix":"x","append_timestamp":false})";

  auto none = c.Post("/api/generator/create", create);
  CHECK(none.status == 401);
  CHECK(none.detail() == "Task routes need the viewer's task token (printed at start): send Authorization: Bearer TOKEN");
  CHECK(c.Get("/api/tasks").status == 401);
  CHECK(c.Post("/api/generator/create", create, {{"Authorization", "Bearer wrong"}}).status == 401);

  auto h = kAuth;
  h["Origin"] = "http://evil.example";
  auto cross = c.Post("/api/generator/create", create, h);
  CHECK(cross.status == 403);

  h = kAuth;
  h["Host"] = "evil.example:80";
  auto rebind = c.Post("/api/generator/create", create, h);
  CHECK(rebind.status == 403);

  // Nothing was created by the refused requests.
  auto list = c.Get("/api/tasks", kAuth).json();
  CHECK(list.at("total") == bj::value(0));
  // Routes other than the task routes still work without a token on this viewer.
  CHECK(c.Get("/api/runs").status == 200);
}

}  // namespace
}  // namespace runicorn::testing
