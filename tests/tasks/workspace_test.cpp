// Workspaces: Pyruns' layout, batch creation (naming, transactional), listing, trash, metrics.
#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include "runtrack/tasks.h"
#include "task_test_util.h"
#include "tasks/task_info_store.h"
#include "test_support.h"

using namespace runtrack;
using runtrack::testing::ReadText;
using runtrack::testing::TempDir;
using runtrack::testing::WriteText;
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

std::unique_ptr<Workspace> ScriptWorkspace(const TempDir& tmp, const std::string& config = "lr: 0.1\n") {
  WriteText(tmp.path() / "train.py", "print('hi')\n");
  auto ws = Workspace::OpenScript(tmp.path(), tmp.path() / "train.py", config);
  REQUIRE(ws.ok());
  return std::move(ws).value();
}

CreateTasksOptions Batch(const std::string& prefix, const std::string& yaml) {
  CreateTasksOptions o;
  o.name_prefix = prefix;
  o.append_timestamp = false;
  o.yaml_text = yaml;
  return o;
}

std::vector<std::string> TaskDirs(const fs::path& tasks) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(tasks)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("a script workspace is created in Pyruns' layout", "[tasks][workspace]") {
  TempDir tmp;
  auto ws = ScriptWorkspace(tmp, "lr: 0.1 | 0.2\n");
  fs::path dir = tmp.path() / "_pyruns_" / "train";
  CHECK(ws->dir() == dir);
  CHECK(ws->kind() == WorkspaceKind::kScript);
  CHECK(ReadText(dir / "config_default.yaml") == "lr: 0.1 | 0.2\n");
  auto info = json::parse(ReadText(dir / "script_info.json")).as_object();
  CHECK(info.at("workspace_kind") == "script");
  CHECK(info.at("script_name") == "train");
  CHECK(info.at("script_path").as_string() == (tmp.path() / "train.py").string());
  CHECK(fs::is_directory(dir / "tasks"));

  auto shell = Workspace::OpenShell(tmp.path());
  REQUIRE(shell.ok());
  CHECK((*shell)->dir() == tmp.path() / "_pyruns_" / "_shell_");
  auto sinfo = json::parse(ReadText((*shell)->dir() / "script_info.json")).as_object();
  CHECK(sinfo.at("workspace_kind") == "shell");
  CHECK(sinfo.at("script_name") == "_shell_");
  CHECK(sinfo.at("script_path") == "");

  CHECK(Workspace::OpenScript(tmp.path(), tmp.path() / "shell.py").status().code() == StatusCode::kInvalidArgument);
  CHECK(Workspace::Open(tmp.path() / "nothing").status().code() == StatusCode::kNotFound);
}

TEST_CASE("a batch is named <prefix>_<i>-of-<n> and each task gets its config", "[tasks][workspace]") {
  TempDir tmp;
  auto ws = ScriptWorkspace(tmp, "lr: 0.1 | 0.2\nepochs: 3\n");
  auto names = ws->CreateTasks(Batch("demo", ""));  // empty yaml: the workspace template
  REQUIRE(names.ok());
  CHECK(*names == std::vector<std::string>{"demo_1-of-2", "demo_2-of-2"});
  fs::path t2 = ws->dir() / "tasks" / "demo_2-of-2";
  CHECK(ReadText(t2 / "config.yaml") == "lr: 0.2\nepochs: 3\n");
  auto info = json::parse(ReadText(t2 / "task_info.json")).as_object();
  CHECK(info.at("name") == "demo_2-of-2");
  CHECK(info.at("status") == "pending");
  CHECK(info.at("task_kind") == "python");
  CHECK(info.at("config_file") == "config.yaml");
  CHECK(info.at("run_index") == 0);
  for (auto key : tasks::kRunHistoryKeys) CHECK(info.at(key).as_array().empty());
  CHECK(fs::is_directory(t2 / "run_logs"));

  // Names never collide: a taken name gets Pyruns' `_<epoch ms>` suffix.
  auto single = ws->CreateTasks(Batch("demo", "x: 1\n"));
  REQUIRE(single.ok());
  CHECK(*single == std::vector<std::string>{"demo"});
  auto again = ws->CreateTasks(Batch("demo", "x: 2\n"));
  REQUIRE(again.ok());
  REQUIRE(again->size() == 1);
  CHECK(again->front().rfind("demo_", 0) == 0);
  CHECK(again->front().size() > 10);
  CHECK(ReadText(ws->dir() / "tasks" / "demo" / "config.yaml") == "x: 1\n");
  CHECK(ReadText(ws->dir() / "tasks" / again->front() / "config.yaml") == "x: 2\n");
}

TEST_CASE("a failing batch creates nothing", "[tasks][workspace]") {
  TempDir tmp;
  auto ws = ScriptWorkspace(tmp);
  fs::path tasks = ws->dir() / "tasks";
  auto zip = ws->CreateTasks(Batch("bad", "a: (1 | 2)\nb: (1 | 2 | 3)\n"));
  CHECK(zip.status().message() == "All (zip) parameters must have equal length. Got: a=2, b=3");
  auto limit = ws->CreateTasks(Batch("big", "a: 0:20000\n"));
  CHECK(limit.status().message() ==
        "Batch expansion would create 20000 tasks; limit is 10000. Narrow the range or split it "
        "into smaller batches.");
  auto bad_name = ws->CreateTasks(Batch("../escape", "a: 1 | 2\n"));
  CHECK(bad_name.status().code() == StatusCode::kInvalidArgument);
  CreateTasksOptions single = Batch("one", "a: 1 | 2\n");
  single.mode = TaskCreationMode::kSingle;
  CHECK(ws->CreateTasks(single).status().message() ==
        "YAML mode does not support batch syntax. Switch to Grid or Tree mode.");
  CreateTasksOptions bad_env = Batch("env", "a: 1\n");
  bad_env.env["BAD NAME"] = "x";
  CHECK(ws->CreateTasks(bad_env).status().code() == StatusCode::kInvalidArgument);
  CHECK(TaskDirs(tasks).empty());  // no task, no staging directory left behind
  CHECK_FALSE(fs::exists(tmp.path() / "escape"));
}

TEST_CASE("names from outside cannot leave the workspace", "[tasks][workspace]") {
  TempDir tmp;
  auto ws = ScriptWorkspace(tmp);
  for (const char* bad : {"..", ".", "../x", "a/b", "a\\b", "", " x", "x.", "-x", "a@1", "CON", "com1.txt",
                          "a\nb", ".hidden"}) {
    INFO(bad);
    CHECK(CheckTaskName(bad).code() == StatusCode::kInvalidArgument);
    CHECK(ws->GetTask(bad).status().code() == StatusCode::kInvalidArgument);
    CHECK(ws->TrashTask(bad).code() == StatusCode::kInvalidArgument);
    CHECK(ws->AppendRecord(bad, 1, json::object{{"a", 1}}).code() == StatusCode::kInvalidArgument);
  }
  CHECK(CheckTaskName("..").message() == "invalid task name '..': starts with '.' or '-'");
  CHECK(CheckTaskName("demo_1-of-2").ok());
  CHECK(CheckTaskName(std::string(200, 'a')).ok());
  CHECK_FALSE(CheckTaskName(std::string(201, 'a')).ok());
  CHECK(ws->GetTask("missing").status().code() == StatusCode::kNotFound);
}

TEST_CASE("statuses parse and print as Pyruns spells them", "[tasks][workspace]") {
  for (auto s : {TaskStatus::kPending, TaskStatus::kQueued, TaskStatus::kRunning, TaskStatus::kCompleted,
                 TaskStatus::kFailed, TaskStatus::kCancelled})
    CHECK(*ParseTaskStatus(TaskStatusName(s)) == s);
  CHECK(ParseTaskStatus("done").status().message() ==
        "unknown task status 'done': expected pending, queued, running, completed, failed or cancelled");
}

TEST_CASE("listing pages, filters and counts, and sees changes from other writers", "[tasks][workspace]") {
  TempDir tmp;
  auto ws = ScriptWorkspace(tmp);
  REQUIRE(ws->CreateTasks(Batch("t", "i: 0:120\n")).ok());
  auto page = ws->ListTasks({});
  REQUIRE(page.ok());
  CHECK(page->total == 120);
  CHECK(page->items.size() == 50);
  CHECK(page->has_more);
  CHECK(page->status_counts[static_cast<size_t>(TaskStatus::kPending)] == 120);
  CHECK(page->items[0].name == "t_1-of-120");
  CHECK(page->items[1].name == "t_2-of-120");  // natural order, not t_10-of-120
  TaskListQuery last;
  last.offset = 100;
  CHECK(ws->ListTasks(last)->items.size() == 20);
  CHECK_FALSE(ws->ListTasks(last)->has_more);

  // A status change made through the library (here: as another process would) shows up.
  fs::path tasks = ws->dir() / "tasks";
  REQUIRE(tasks::UpdateTaskInfo(tasks, "t_7-of-120", [](json::object& i) {
    i["status"] = "completed";
    return Status::Ok();
  }).ok());
  TaskListQuery done;
  done.status = TaskStatus::kCompleted;
  auto completed = ws->ListTasks(done);
  REQUIRE(completed->items.size() == 1);
  CHECK(completed->items[0].name == "t_7-of-120");
  CHECK(completed->status_counts[static_cast<size_t>(TaskStatus::kPending)] == 119);

  // An edit by a foreign tool (no status log line) needs a rescan.
  auto info = json::parse(ReadText(tasks / "t_8-of-120" / "task_info.json")).as_object();
  info["status"] = "failed";
  info["pinned"] = true;
  WriteText(tasks / "t_8-of-120" / "task_info.json", json::serialize(info));
  CHECK(ws->ListTasks({})->status_counts[static_cast<size_t>(TaskStatus::kFailed)] == 0);
  TaskListQuery rescan;
  rescan.rescan = true;
  auto fresh = ws->ListTasks(rescan);
  CHECK(fresh->status_counts[static_cast<size_t>(TaskStatus::kFailed)] == 1);
  CHECK(fresh->items[0].name == "t_8-of-120");  // pinned first

  // Tasks created through another Workspace object (another process) show up.
  auto other = Workspace::Open(ws->dir());
  REQUIRE(other.ok());
  REQUIRE((*other)->CreateTasks(Batch("late", "a: 1\n")).ok());
  CHECK(ws->ListTasks({})->total == 121);
  REQUIRE((*other)->TrashTask("late").ok());
  CHECK(ws->ListTasks({})->total == 120);

  // Trash removes it from the listing and keeps it under .trash/.
  REQUIRE(ws->TrashTask("t_8-of-120").ok());
  CHECK(fs::exists(tasks / ".trash" / "t_8-of-120" / "task_info.json"));
  CHECK(ws->ListTasks({})->total == 119);
}

TEST_CASE("an active task cannot be trashed", "[tasks][workspace]") {
  TempDir tmp;
  auto ws = ScriptWorkspace(tmp);
  REQUIRE(ws->CreateTasks(Batch("busy", "a: 1\n")).ok());
  REQUIRE(tasks::UpdateTaskInfo(ws->dir() / "tasks", "busy", [](json::object& i) {
    i["status"] = "running";
    return Status::Ok();
  }).ok());
  Status s = ws->TrashTask("busy");
  CHECK(s.code() == StatusCode::kFailedPrecondition);
  CHECK(s.message() == "task 'busy' is running; cancel it before moving it to the trash");
  CHECK(fs::exists(ws->dir() / "tasks" / "busy"));
}

TEST_CASE("records and tracks append lines and fold into records/tracks per run", "[tasks][workspace]") {
  TempDir tmp;
  auto ws = ScriptWorkspace(tmp);
  REQUIRE(ws->CreateTasks(Batch("m", "a: 1\n")).ok());
  REQUIRE(ws->AppendRecord("m", 1, json::object{{"epoch", 1}, {"loss", 0.5}}).ok());
  REQUIRE(ws->AppendRecord("m", 1, json::object{{"acc", 92.3}, {"loss", 0.4}}).ok());
  REQUIRE(ws->AppendTrack("m", 1, {{"loss", 0.5}}).ok());
  REQUIRE(ws->AppendTrack("m", 1, {{"loss", 0.4}, {"acc", 0.9}}).ok());
  REQUIRE(ws->AppendTrack("m", 2, {{"loss", std::nan("")}}).ok());
  CHECK(ws->AppendRecord("m", 0, json::object{{"a", 1}}).code() == StatusCode::kInvalidArgument);
  CHECK(ws->AppendRecord("m", 1, json::object{}).code() == StatusCode::kInvalidArgument);
  CHECK(ws->AppendTrack("m", 1, {}).code() == StatusCode::kInvalidArgument);
  CHECK(ws->AppendRecord("nope", 1, json::object{{"a", 1}}).code() == StatusCode::kNotFound);

  auto info = ws->ReadTaskInfo("m");
  REQUIRE(info.ok());
  CHECK(info->at("run_index") == 2);
  CHECK(json::serialize(info->at("records")) == R"([{"epoch":1,"loss":4E-1,"acc":9.23E1},{}])");
  CHECK(json::serialize(info->at("tracks")) == R"([{"loss":[5E-1,4E-1],"acc":[9E-1]},{"loss":[null]}])");
  // The appends did not rewrite task_info.json.
  auto on_disk = json::parse(ReadText(ws->dir() / "tasks" / "m" / "task_info.json")).as_object();
  CHECK(on_disk.at("records").as_array().empty());
}

TEST_CASE("a taken name too long for a suffix is refused, not looped on", "[tasks][workspace]") {
  TempDir tmp;
  auto ws = ScriptWorkspace(tmp);
  std::string longest(200, 'n');
  REQUIRE(ws->CreateTasks(Batch(longest, "a: 1\n")).ok());
  auto again = ws->CreateTasks(Batch(longest, "a: 2\n"));
  CHECK(again.status().code() == StatusCode::kAlreadyExists);
  CHECK(again.status().message() == "task '" + longest + "' exists and no free variant of the name fits in 200 bytes");
  CHECK(ws->ListTasks({})->total == 1);
}

TEST_CASE("a batch whose publish fails half-way is rolled back", "[tasks][workspace]") {
  TempDir tmp;
  auto ws = ScriptWorkspace(tmp);
  fs::path tasks = ws->dir() / "tasks";
  // A name taken after the free-name check (here: a dangling symlink, which exists() does not
  // see) makes the third rename fail after two tasks were published.
  fs::create_symlink(tmp.path() / "nowhere", tasks / "t_3-of-3");
  auto r = ws->CreateTasks(Batch("t", "a: 1 | 2 | 3\n"));
  CHECK(r.status().code() == StatusCode::kAlreadyExists);
  CHECK(r.status().message() == "task 't_3-of-3' already exists");
  CHECK(TaskDirs(tasks) == std::vector<std::string>{"t_3-of-3"});  // only the symlink is left
  CHECK(ws->ListTasks({})->total == 0);
}

TEST_CASE("pin, notes, env and rename are compare-and-set edits", "[tasks][workspace]") {
  TempDir tmp;
  auto ws = ScriptWorkspace(tmp);
  REQUIRE(ws->CreateTasks(Batch("e", "a: 1\n")).ok());
  REQUIRE(ws->SetPinned("e", true).ok());
  CHECK(ws->GetTask("e")->pinned);
  REQUIRE(ws->UpdateNotes("e", "first", "").ok());
  Status stale = ws->UpdateNotes("e", "second", "");
  CHECK(stale.code() == StatusCode::kFailedPrecondition);
  CHECK(stale.message() == "the notes of task 'e' changed meanwhile");
  CHECK(ws->ReadTaskInfo("e")->at("notes") == "first");
  REQUIRE(ws->UpdateEnv("e", {{"SEED", "1"}}, {}).ok());
  CHECK(ws->UpdateEnv("e", {{"SEED", "2"}}, {}).code() == StatusCode::kFailedPrecondition);
  CHECK(ws->UpdateEnv("e", {{"1BAD", "2"}}, {{"SEED", "1"}}).code() == StatusCode::kInvalidArgument);
  REQUIRE(ws->UpdateEnv("e", {{"SEED", "2"}}, {{"SEED", "1"}}).ok());
  CHECK(ws->ReadTaskInfo("e")->at("env").at("SEED") == "2");

  REQUIRE(ws->CreateTasks(Batch("other", "a: 1\n")).ok());
  CHECK(ws->RenameTask("e", "other").code() == StatusCode::kAlreadyExists);
  CHECK(ws->RenameTask("e", "../x").code() == StatusCode::kInvalidArgument);
  REQUIRE(ws->RenameTask("e", "renamed").ok());
  CHECK_FALSE(fs::exists(ws->dir() / "tasks" / "e"));
  CHECK(ws->ReadTaskInfo("renamed")->at("name") == "renamed");
  CHECK(ws->ReadTaskInfo("renamed")->at("notes") == "first");
  CHECK(ws->ListTasks({})->total == 2);
}

TEST_CASE("task logs are read as tails and as chunks from an offset", "[tasks][workspace]") {
  TempDir tmp;
  auto ws = ScriptWorkspace(tmp);
  REQUIRE(ws->CreateTasks(Batch("l", "a: 1\n")).ok());
  CHECK(ws->ReadTaskLog("l", {}).status().code() == StatusCode::kNotFound);
  fs::path logs = ws->dir() / "tasks" / "l" / "run_logs";
  WriteText(logs / "run1.log", "first run\n");
  WriteText(logs / "run2.log", "0123456789");
  WriteText(logs / "error.log", "boom\n");

  auto tail = ws->ReadTaskLog("l", {});
  REQUIRE(tail.ok());
  CHECK(tail->selected_log == "run2.log");  // pending: the latest run
  CHECK(tail->available_logs == std::vector<std::string>{"run1.log", "run2.log", "error.log"});
  CHECK(tail->content == "0123456789");
  CHECK(tail->offset == 10);

  TaskLogQuery q;
  q.log_file_name = "run2.log";
  q.max_bytes = 4;
  CHECK(ws->ReadTaskLog("l", q)->content == "6789");  // tail of 4 bytes
  q.offset = 2;
  q.log_identity = tail->log_identity;
  auto chunk = ws->ReadTaskLog("l", q);
  CHECK(chunk->content == "2345");
  CHECK(chunk->offset == 6);
  CHECK_FALSE(chunk->reset);
  q.offset = 50;  // past the end: the file was truncated or replaced
  auto reset = ws->ReadTaskLog("l", q);
  CHECK(reset->reset);
  CHECK(reset->content == "0123");

  REQUIRE(tasks::UpdateTaskInfo(ws->dir() / "tasks", "l", [](json::object& i) {
    i["status"] = "failed";
    return Status::Ok();
  }).ok());
  CHECK(ws->ReadTaskLog("l", {})->selected_log == "error.log");
  for (const char* bad : {"../task_info.json", "run0.log", "run01.log", "config.yaml", "run1.log/.."}) {
    TaskLogQuery b;
    b.log_file_name = bad;
    CHECK(ws->ReadTaskLog("l", b).status().code() == StatusCode::kInvalidArgument);
  }
}
