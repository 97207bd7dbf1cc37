// Manual task order (Pyruns' reorder) and the workspace change feed (Workspace::ChangesSince).
#include <catch2/catch.hpp>

#include <fstream>

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

std::unique_ptr<Workspace> ShellWorkspace(const TempDir& tmp) {
  auto ws = Workspace::OpenShell(tmp.path());
  REQUIRE(ws.ok());
  return std::move(ws).value();
}

std::string ShellTask(Workspace& ws, const std::string& name, const std::string& script = "true\n") {
  CreateTasksOptions o;
  o.name_prefix = name;
  o.append_timestamp = false;
  o.shell_text = script;
  auto names = ws.CreateTasks(o);
  REQUIRE(names.ok());
  return names->front();
}

std::vector<std::string> Names(Workspace& ws) {
  auto page = ws.ListTasks({});
  REQUIRE(page.ok());
  std::vector<std::string> out;
  for (const auto& t : page->items) out.push_back(t.name);
  return out;
}

json::object Info(const Workspace& ws, const std::string& name) {
  return json::parse(ReadText(ws.dir() / "tasks" / name / "task_info.json")).as_object();
}

// "name:event" (or "old>new:renamed") for each change, in order.
std::vector<std::string> Events(const TaskChanges& c) {
  std::vector<std::string> out;
  for (const auto& ch : c.changes)
    out.push_back((ch.old_name.empty() ? "" : ch.old_name + ">") + ch.name + ":" + ch.event);
  return out;
}

}  // namespace

TEST_CASE("reorder writes task_order, listings put unordered tasks first, then the manual order", "[tasks][order]") {
  TempDir tmp;
  auto ws = ShellWorkspace(tmp);
  for (const char* n : {"a", "b", "c", "d"}) ShellTask(*ws, n);

  REQUIRE(ws->ReorderTasks({{"c", std::nullopt}, {"a", std::nullopt}, {"d", true}}).ok());
  CHECK(Info(*ws, "c").at("task_order") == json::value(0));
  CHECK(Info(*ws, "a").at("task_order") == json::value(1));
  CHECK(Info(*ws, "d").at("task_order") == json::value(2));
  CHECK(Info(*ws, "d").at("pinned") == json::value(true));
  CHECK_FALSE(Info(*ws, "b").contains("task_order"));
  // Pinned first; then b (no manual order); then the manual order.
  CHECK(Names(*ws) == std::vector<std::string>{"d", "b", "c", "a"});
  auto c = ws->GetTask("c");
  REQUIRE(c.ok());
  CHECK(c->task_order == 0);
  CHECK(ws->GetTask("b")->task_order == -1);

  // Another Workspace object (another process) sees the new order without a rescan.
  auto other = Workspace::Open(ws->dir());
  REQUIRE(other.ok());
  REQUIRE(Names(**other) == std::vector<std::string>{"d", "b", "c", "a"});
  REQUIRE(ws->ReorderTasks({{"a", std::nullopt}, {"c", std::nullopt}, {"d", false}}).ok());
  CHECK(Names(**other) == std::vector<std::string>{"b", "a", "c", "d"});
}

TEST_CASE("a bad reorder writes nothing: empty, duplicate, missing or invalid names", "[tasks][order]") {
  TempDir tmp;
  auto ws = ShellWorkspace(tmp);
  ShellTask(*ws, "a");
  ShellTask(*ws, "b");
  std::string before_a = ReadText(ws->dir() / "tasks" / "a" / "task_info.json");

  Status empty = ws->ReorderTasks({});
  CHECK(empty.code() == StatusCode::kInvalidArgument);
  CHECK(empty.message() == "reorder needs at least one task");
  Status dup = ws->ReorderTasks({{"a", std::nullopt}, {"b", std::nullopt}, {"a", std::nullopt}});
  CHECK(dup.code() == StatusCode::kInvalidArgument);
  CHECK(dup.message() == "task 'a' appears twice in the new order");
  Status missing = ws->ReorderTasks({{"a", std::nullopt}, {"zz", std::nullopt}});
  CHECK(missing.code() == StatusCode::kNotFound);
  CHECK(missing.message() == "task 'zz' does not exist");
  Status escape = ws->ReorderTasks({{"a", std::nullopt}, {"../a", std::nullopt}});
  CHECK(escape.code() == StatusCode::kInvalidArgument);
  std::vector<TaskOrderItem> too_many(10001, TaskOrderItem{"a", std::nullopt});
  CHECK(ws->ReorderTasks(too_many).message() == "reorder takes at most 10000 tasks");

  CHECK(ReadText(ws->dir() / "tasks" / "a" / "task_info.json") == before_a);  // "a" came first: untouched
}

TEST_CASE("the pool starts manually ordered queued tasks first, the rest FIFO", "[tasks][order][runner]") {
  TempDir tmp;
  auto ws = ShellWorkspace(tmp);
  fs::path order = tmp.path() / "order.txt";
  fs::path release = tmp.path() / "release";
  // One worker, held by `gate` until the whole queue is in place and reordered.
  std::string gate = ShellTask(*ws, "gate", "while [ ! -f " + release.string() + " ]; do sleep 0.02; done\necho gate >> " +
                                                order.string() + "\n");
  std::vector<std::string> names;
  for (const char* n : {"a", "b", "c", "d"})
    names.push_back(ShellTask(*ws, n, std::string("echo ") + n + " >> " + order.string() + "\n"));
  TaskRunnerOptions o;
  o.workers = 1;
  auto runner = TaskRunner::Start(*ws, o);
  REQUIRE(runner.ok());
  REQUIRE((*runner)->Submit({gate})->queued.size() == 1);
  REQUIRE(WaitUntil([&] { return ws->GetTask(gate)->status == TaskStatus::kRunning; }));
  REQUIRE((*runner)->Submit(names)->queued == names);
  // While they wait: d, then b have a manual order; a and c keep FIFO after them.
  REQUIRE(ws->ReorderTasks({{"d", std::nullopt}, {"b", std::nullopt}}).ok());
  WriteText(release, "go");
  REQUIRE((*runner)->WaitIdle(60s).ok());
  CHECK(ReadText(order) == "gate\nd\nb\na\nc\n");
}

TEST_CASE("the change feed reports created, statuses, reordered, renamed and deleted", "[tasks][order][changes]") {
  TempDir tmp;
  auto ws = ShellWorkspace(tmp);
  ShellTask(*ws, "a");
  auto start = ws->ChangesSince(UINT64_MAX);  // what exists now is not a change
  REQUIRE(start.ok());
  CHECK(start->changes.empty());
  CHECK_FALSE(start->truncated);
  uint64_t rev = start->revision;

  ShellTask(*ws, "b");
  auto created = ws->ChangesSince(rev);
  REQUIRE(created.ok());
  CHECK(Events(*created) == std::vector<std::string>{"b:created"});
  CHECK(created->revision == rev + 1);
  CHECK(created->changes[0].revision == rev + 1);
  rev = created->revision;
  CHECK(ws->ChangesSince(rev)->changes.empty());  // nothing new: nothing again

  // A status change through the library (as a runner in another process makes it).
  REQUIRE(tasks::UpdateTaskInfo(ws->dir() / "tasks", "a", [](json::object& i) {
    i["status"] = "completed";
    return Status::Ok();
  }).ok());
  REQUIRE(ws->ReorderTasks({{"b", std::nullopt}}).ok());
  auto changed = ws->ChangesSince(rev);
  REQUIRE(changed.ok());
  CHECK(Events(*changed) == std::vector<std::string>{"a:completed", "b:reordered"});
  rev = changed->revision;

  REQUIRE(ws->RenameTask("b", "b2").ok());
  REQUIRE(ws->TrashTask("a").ok());
  auto moved = ws->ChangesSince(rev);
  REQUIRE(moved.ok());
  auto events = Events(*moved);
  std::sort(events.begin(), events.end());  // one directory scan finds both: no order between them
  CHECK(events == std::vector<std::string>{"a:deleted", "b>b2:renamed"});

  auto all = ws->ChangesSince(0);  // everything since revision 0 is still kept
  REQUIRE(all.ok());
  CHECK_FALSE(all->truncated);
  CHECK(all->changes.size() == all->revision);
}

TEST_CASE("pinning is a change another process's listing and change feed see", "[tasks][order][changes]") {
  TempDir tmp;
  auto writer = ShellWorkspace(tmp);
  ShellTask(*writer, "a");
  ShellTask(*writer, "b");
  // A second Workspace object on the same folder stands for another process (its own index).
  auto reader = Workspace::OpenShell(tmp.path());
  REQUIRE(reader.ok());
  auto start = (*reader)->ChangesSince(UINT64_MAX);
  REQUIRE(start.ok());
  const std::vector<std::string> unpinned_order = Names(**reader);

  REQUIRE(writer->SetPinned("b", true).ok());
  auto pinned = (*reader)->ChangesSince(start->revision);
  REQUIRE(pinned.ok());
  CHECK(Events(*pinned) == std::vector<std::string>{"b:reordered"});
  CHECK(Names(**reader).front() == "b");

  REQUIRE(writer->SetPinned("b", true).ok());  // no change: nothing to report
  CHECK((*reader)->ChangesSince(pinned->revision)->changes.empty());

  REQUIRE(writer->SetPinned("b", false).ok());
  auto unpinned = (*reader)->ChangesSince(pinned->revision);
  REQUIRE(unpinned.ok());
  CHECK(Events(*unpinned) == std::vector<std::string>{"b:reordered"});
  CHECK(Names(**reader) == unpinned_order);
}

TEST_CASE("the status log is replaced once it is full, and other processes still see every change",
          "[tasks][order][changes]") {
  TempDir tmp;
  auto writer = ShellWorkspace(tmp);
  ShellTask(*writer, "a");
  ShellTask(*writer, "b");
  auto reader = Workspace::OpenShell(tmp.path());
  REQUIRE(reader.ok());
  auto start = (*reader)->ChangesSince(UINT64_MAX);
  REQUIRE(start.ok());
  const fs::path log = writer->dir() / "tasks" / std::string(tasks::kStatusLogFile);
  {
    // A long history: lines of a task that no longer exists, just under the limit.
    std::ofstream out(log, std::ios::app);
    const std::string line = "gone\tcompleted\n";
    for (uint64_t n = fs::exists(log) ? fs::file_size(log) : 0; n + line.size() < tasks::kStatusLogRotateBytes;
         n += line.size())
      out << line;
  }
  REQUIRE(fs::file_size(log) < tasks::kStatusLogRotateBytes);

  REQUIRE(writer->SetPinned("b", true).ok());  // this append crosses the limit
  CHECK(ReadText(log) == "*\trotated\n");
  auto pinned = (*reader)->ChangesSince(start->revision);
  REQUIRE(pinned.ok());
  CHECK(Events(*pinned) == std::vector<std::string>{"b:reordered"});
  CHECK(Names(**reader).front() == "b");

  // The fresh log carries the next change as usual.
  REQUIRE(writer->SetPinned("a", true).ok());
  CHECK(ReadText(log) == "*\trotated\na\treordered\n");
  auto next = (*reader)->ChangesSince(pinned->revision);
  REQUIRE(next.ok());
  CHECK(Events(*next) == std::vector<std::string>{"a:reordered"});
}

TEST_CASE("a change reader that fell too far behind is told to refetch", "[tasks][order][changes]") {
  TempDir tmp;
  WriteText(tmp.path() / "train.py", "print('hi')\n");
  auto ws = Workspace::OpenScript(tmp.path(), tmp.path() / "train.py", "i: 0\n");
  REQUIRE(ws.ok());
  auto start = (*ws)->ChangesSince(UINT64_MAX);
  REQUIRE(start.ok());
  CreateTasksOptions o;
  o.name_prefix = "t";
  o.append_timestamp = false;
  o.yaml_text = "i: 0:4100\n";  // more creations than the index keeps
  REQUIRE((*ws)->CreateTasks(o).ok());
  auto behind = (*ws)->ChangesSince(start->revision);
  REQUIRE(behind.ok());
  CHECK(behind->truncated);
  CHECK(behind->changes.empty());
  CHECK(behind->revision == start->revision + 4100);
  auto recent = (*ws)->ChangesSince(behind->revision - 2);
  REQUIRE(recent.ok());
  CHECK_FALSE(recent->truncated);
  CHECK(recent->changes.size() == 2);
}
