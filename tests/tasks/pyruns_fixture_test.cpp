// A workspace written by Pyruns (files as its notes show them) opens, lists and runs, and what
// we write back keeps every field Pyruns reads.
#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include "runtrack/tasks.h"
#include "task_test_util.h"
#include "tasks/task_info_store.h"
#include "test_support.h"

using namespace runtrack;
using namespace runtrack::testing;
namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

// task_info.json after two runs of a batch task, as in Pyruns' notes (§3).
std::string PyrunsTaskInfo(const fs::path& script) {
  return R"({"name":"demo_1-of-2","status":"completed","progress":1.0,"created_at":"2026-11-25_01-56-23",)"
         R"("pinned":false,"task_kind":"python","config_file":"config.yaml","script":")" + script.string() + R"(",)"
         R"("start_times":["2026-11-25_01-56-23","2026-11-25_01-56-24"],)"
         R"("finish_times":["2026-11-25_01-56-23","2026-11-25_01-56-24"],"pids":[14828,14833],)"
         R"("pid_create_times":[1764035783.12,1764035784.55],"run_statuses":["completed","completed"],)"
         R"("durations":[0.197911,0.169863],"exit_codes":[0,0],)"
         R"("source_states":["git none | unknown | script 4a97f4992adb","git none | unknown | script 4a97f4992adb"],)"
         R"("records":[{"final_loss":0.33,"lr":0.1,"acc":0.9},{"final_loss":0.31}],)"
         R"("tracks":[{"loss":[1.0,0.5,0.333],"step":[0,1,2]},{"loss":[0.9]}],"run_index":2,)"
         R"("notes":"from pyruns","env":{"EXTRA":"yes"}})";
}

}  // namespace

TEST_CASE("a Pyruns-written workspace opens, lists and runs, and stays Pyruns-readable", "[tasks][pyruns]") {
  TempDir tmp;
  fs::path project = tmp.path();
  fs::path script = project / "train.py";
  WriteText(script, R"(import os
print('config at', os.environ['__PYRUNS_CONFIG__'])
print('extra', os.environ.get('EXTRA'), 'run', os.environ['PYRUNS_RUN_INDEX'])
)");
  fs::path ws_dir = project / "_pyruns_" / "train";
  WriteText(project / "_pyruns_" / "_pyruns_settings.yaml", "ui_port: 8099\nglobal_env: {}\n");
  WriteText(project / "_pyruns_" / ".active_workspace", "train");
  WriteText(ws_dir / "script_info.json",
            R"({"workspace_kind":"script","script_name":"train","script_path":")" + script.string() +
                R"(","created_at":"2026-11-25 01:56:20","config_default_source":"","config_default_source_name":""})");
  WriteText(ws_dir / "config_default.yaml", "lr: 0.1 | 0.2\nepochs: 3\n");
  fs::path done = ws_dir / "tasks" / "demo_1-of-2";
  WriteText(done / "task_info.json", PyrunsTaskInfo(script));
  WriteText(done / "config.yaml", "lr: 0.1\nepochs: 3\n");
  WriteText(done / "run_logs" / "run1.log", "[PYRUNS] ==================== START ====================\nold run 1\n");
  WriteText(done / "run_logs" / "run2.log", "old run 2\n");
  WriteText(done / ".task_info.json.lock.unused", "");
  fs::path pending = ws_dir / "tasks" / "demo_2-of-2";
  WriteText(pending / "task_info.json",
            R"({"name":"demo_2-of-2","status":"pending","progress":0.0,"created_at":"2026-11-25_01-56-23",)"
            R"("pinned":false,"task_kind":"python","config_file":"config.yaml","script":")" + script.string() +
                R"(","run_index":0})");
  WriteText(pending / "config.yaml", "lr: 0.2\nepochs: 3\n");
  WriteText(ws_dir / "tasks" / ".trash" / "old_task" / "task_info.json", R"({"name":"old_task","status":"failed"})");
  WriteText(ws_dir / "tasks" / ".pyruns-create-x.lock", "1 2 host 0");

  auto ws = Workspace::Open(ws_dir);
  REQUIRE(ws.ok());
  CHECK((*ws)->kind() == WorkspaceKind::kScript);
  CHECK((*ws)->script_path() == script);
  CHECK((*ws)->project_root() == project);
  auto page = (*ws)->ListTasks({});
  REQUIRE(page.ok());
  CHECK(page->total == 2);  // .trash and lock files are not tasks
  CHECK(page->status_counts[static_cast<size_t>(TaskStatus::kCompleted)] == 1);
  CHECK(page->status_counts[static_cast<size_t>(TaskStatus::kPending)] == 1);
  CHECK((*ws)->GetTask("demo_1-of-2")->run_index == 2);

  TaskRunnerOptions o;
  o.workers = 2;
  o.python_executable = PythonForTests();
  auto runner = TaskRunner::Start(**ws, o);
  REQUIRE(runner.ok());
  REQUIRE((*runner)->Submit({"demo_1-of-2", "demo_2-of-2"})->queued.size() == 2);
  REQUIRE((*runner)->WaitIdle(60s).ok());

  auto info = json::parse(ReadText(done / "task_info.json")).as_object();
  CHECK(info.at("status") == "completed");
  CHECK(info.at("run_index") == 3);
  CHECK(info.at("run_statuses").as_array() == json::array{"completed", "completed", "completed"});
  CHECK(info.at("exit_codes").as_array() == json::array{0, 0, 0});
  auto pids = info.at("pids").as_array();
  CHECK(pids[0] == 14828);
  CHECK(pids[1] == 14833);
  CHECK(info.at("pid_create_times").as_array()[2].is_double());
  CHECK(json::serialize(info.at("records")) == R"([{"final_loss":3.3E-1,"lr":1E-1,"acc":9E-1},{"final_loss":3.1E-1},{}])");
  CHECK(json::serialize(info.at("tracks")) == R"([{"loss":[1E0,5E-1,3.33E-1],"step":[0,1,2]},{"loss":[9E-1]},{}])");
  CHECK(info.at("notes") == "from pyruns");
  for (auto key : tasks::kRunHistoryKeys) {
    INFO(key);
    CHECK(info.at(key).as_array().size() == 3);
  }
  CHECK(ReadText(done / "run_logs" / "run1.log") ==
        "[PYRUNS] ==================== START ====================\nold run 1\n");
  std::string run3 = ReadText(done / "run_logs" / "run3.log");
  CHECK(run3.find("config at " + (done / "config.yaml").string() + "\n") != std::string::npos);
  CHECK(run3.find("extra yes run 3\n") != std::string::npos);

  auto second = json::parse(ReadText(pending / "task_info.json")).as_object();
  CHECK(second.at("status") == "completed");
  CHECK(second.at("run_index") == 1);
  CHECK(second.at("records").as_array() == json::array{json::object{}});
}
