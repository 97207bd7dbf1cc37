// `runicorn tasks`: the real binary on a temporary project (--tasks-root), shell tasks run by
// /bin/sh, exact outputs and exit codes.
#include <algorithm>
#include <regex>
#include <thread>

#include "cli_fixture.h"

namespace runicorn::testing {
namespace {

namespace bj = boost::json;

struct TasksEnv : CliEnv {
  fs::path project() const { return dir() / "project"; }
  CliResult Tasks(std::vector<std::string> args) const {
    args.insert(args.begin(), {"tasks", "--tasks-root", project().string()});
    return Run(args);
  }
  void AddShell(const std::string& name, const std::string& cmd) const {
    auto r = Tasks({"add", "--cmd", cmd, "--name", name, "--no-timestamp"});
    REQUIRE(r.exit_code == 0);
    REQUIRE(r.out == name + "\n");
  }
  // Polls `ls --json` until `name` has `status` (or gives up after ~20 s, which fails the test).
  void AwaitStatus(const std::string& name, const std::string& status) const {
    for (int i = 0; i < 200; ++i) {
      auto r = Tasks({"show", name, "--json"});
      REQUIRE(r.exit_code == 0);
      if (r.json().at("status") == bj::value(status)) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    FAIL("task " << name << " never became " << status);
  }
};

// The fields that hold clock readings, replaced so the rest can be compared byte for byte; items
// by name (the listing is newest first, and the tasks may straddle a second).
std::string WithoutClock(bj::value v) {
  auto& arr = v.at("items").as_array();
  std::sort(arr.begin(), arr.end(), [](const bj::value& a, const bj::value& b) {
    return a.at("name").as_string() < b.at("name").as_string();
  });
  for (auto& item : v.at("items").as_array()) {
    auto& o = item.as_object();
    REQUIRE(std::regex_match(std::string(o.at("created_at").as_string()),
                             std::regex(R"(\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d)")));
    o["created_at"] = "T";
    if (o.at("queued_at").as_double() > 0) o["queued_at"] = 1;
  }
  return bj::serialize(v);
}

TEST_CASE("tasks: a 4-task sweep runs with -j 2 and every result is kept", "[tasks]") {
  TasksEnv env;
  REQUIRE(env.Tasks({"init", "--shell"}).exit_code == 0);
  for (int i = 1; i <= 4; ++i) env.AddShell(fmt::format("sweep{}", i), fmt::format("echo result-{}; exit 0", i));

  auto before = env.Tasks({"ls", "--json"});
  REQUIRE(before.exit_code == 0);
  std::string pending_item = R"({"name":"sweep%","status":"pending","task_kind":"shell","created_at":"T","pinned":false,"run_index":0,"queued_at":0E0})";
  std::string items;
  for (int i = 1; i <= 4; ++i)
    items += (i > 1 ? "," : "") + std::regex_replace(pending_item, std::regex("%"), std::to_string(i));
  CHECK(WithoutClock(before.json()) ==
        R"({"items":[)" + items +
            R"(],"total":4,"offset":0,"limit":50,"has_more":false,"status_counts":{"pending":4,"queued":0,"running":0,"completed":0,"failed":0,"cancelled":0}})");

  auto run = env.Tasks({"run", "-j", "2"});
  CHECK(run.exit_code == 0);
  CHECK(run.out ==
        "NAME    STATUS     RUNS\n"
        "sweep1  completed  1\n"
        "sweep2  completed  1\n"
        "sweep3  completed  1\n"
        "sweep4  completed  1\n");
  CHECK(run.err == "running 4 tasks with 2 workers\n");

  auto after = env.Tasks({"ls", "--json"});
  REQUIRE(after.exit_code == 0);
  std::string done_item = R"({"name":"sweep%","status":"completed","task_kind":"shell","created_at":"T","pinned":false,"run_index":1,"queued_at":1})";
  items.clear();
  for (int i = 1; i <= 4; ++i)
    items += (i > 1 ? "," : "") + std::regex_replace(done_item, std::regex("%"), std::to_string(i));
  CHECK(WithoutClock(after.json()) ==
        R"({"items":[)" + items +
            R"(],"total":4,"offset":0,"limit":50,"has_more":false,"status_counts":{"pending":0,"queued":0,"running":0,"completed":4,"failed":0,"cancelled":0}})");

  for (int i = 1; i <= 4; ++i) {
    auto log = env.Tasks({"log", fmt::format("sweep{}", i)});
    CHECK(log.exit_code == 0);
    CHECK(log.out.find(fmt::format("\nresult-{}\n", i)) != std::string::npos);
    CHECK(log.out.find("[PYRUNS] Exit code: 0\n") != std::string::npos);
  }
  auto csv = env.Tasks({"export"});
  REQUIRE(csv.exit_code == 0);
  CHECK(csv.out.rfind("name,status,run,start_time,finish_time,duration_seconds,exit_code,pid\n", 0) == 0);
  for (int i = 1; i <= 4; ++i)
    CHECK(std::regex_search(csv.out, std::regex(fmt::format("\nsweep{},completed,1,[^,]+,[^,]+,[0-9.e-]+,0,[0-9]+\n", i))));

  // A rerun appends run 2 and keeps run 1's log.
  CHECK(env.Tasks({"run", "sweep1"}).exit_code == 0);
  CHECK(env.Tasks({"log", "sweep1", "--file", "run1.log"}).out.find("result-1") != std::string::npos);
  CHECK(env.Tasks({"show", "sweep1", "--json"}).json().at("run_index") == bj::value(2));
}

TEST_CASE("tasks: a failing task makes run exit 1 and leaves an error.log", "[tasks]") {
  TasksEnv env;
  env.AddShell("bad", "echo oops; exit 3");
  auto run = env.Tasks({"run", "bad"});
  CHECK(run.exit_code == 1);
  CHECK(run.out == "NAME  STATUS  RUNS\nbad   failed  1\n");
  auto log = env.Tasks({"log", "bad"});  // a failed task shows error.log by default, as Pyruns does
  CHECK(log.out.find("reason=exit_code 3") != std::string::npos);
  auto show = env.Tasks({"show", "bad", "--json"}).json().as_object();
  CHECK(show.at("exit_codes") == bj::value(bj::array{3}));
  CHECK(show.at("config_text") == bj::value("echo oops; exit 3\n"));
}

TEST_CASE("tasks: a script workspace expands a batch template", "[tasks]") {
  TasksEnv env;
  WriteAll(env.project() / "train.py", "print('hi')\n");
  WriteAll(env.dir() / "base.yaml", "lr: 0.1 | 0.2\nseed: 7\n");
  auto init = env.Tasks({"init", (env.project() / "train.py").string(), "--config", (env.dir() / "base.yaml").string()});
  CHECK(init.exit_code == 0);
  CHECK(init.out == fmt::format("workspace train (script): {}\n", (env.project() / "_pyruns_" / "train").string()));
  auto add = env.Tasks({"add", "--name", "demo", "--no-timestamp"});
  CHECK(add.exit_code == 0);
  CHECK(add.out == "demo_1-of-2\ndemo_2-of-2\n");
  auto single = env.Tasks({"add", "--single", "--name", "one"});
  CHECK(single.exit_code == 2);
  CHECK(single.err == "runicorn: YAML mode does not support batch syntax. Switch to Grid or Tree mode.\n");
  CHECK(env.Tasks({"show", "demo_2-of-2", "--json"}).json().at("config_text") == bj::value("lr: 0.2\nseed: 7\n"));
}

TEST_CASE("tasks: stop ends a task running under a detached runner", "[tasks]") {
  TasksEnv env;
  env.AddShell("long", "echo started; exec sleep 60");
  auto run = env.Tasks({"run", "long", "--detach", "--json"});
  REQUIRE(run.exit_code == 0);
  CHECK(run.out == "{\"count\":1,\"items\":[\"long\"],\"skipped\":[]}\n");
  env.AwaitStatus("long", "running");
  auto stop = env.Tasks({"stop", "long"});
  CHECK(stop.exit_code == 0);
  CHECK(stop.out == "long: cancelled\n");
  CHECK(env.Tasks({"show", "long", "--json"}).json().at("run_statuses") == bj::value(bj::array{"cancelled"}));
  auto again = env.Tasks({"stop", "long"});
  CHECK(again.exit_code == 5);
  CHECK(again.err == "runicorn: task 'long' is cancelled; only queued or running tasks can be cancelled\n");
}

TEST_CASE("tasks: rm, restore, mv and pin", "[tasks]") {
  TasksEnv env;
  env.AddShell("a", "true");
  env.AddShell("b", "true");
  CHECK(env.Tasks({"pin", "b"}).exit_code == 0);
  auto ls = env.Tasks({"ls"});
  CHECK(ls.out.find("NAME  STATUS   KIND   RUNS  CREATED") == 0);
  CHECK(ls.out.find("\nb ") < ls.out.find("\na "));  // pinned first
  CHECK(env.Tasks({"mv", "a", "b"}).exit_code == 5);
  CHECK(env.Tasks({"mv", "a", "c"}).exit_code == 0);
  auto rm = env.Tasks({"rm", "c"});
  CHECK(rm.exit_code == 0);
  CHECK(rm.out == "moved c to the trash\n");
  CHECK(env.Tasks({"show", "c"}).exit_code == 4);
  auto restore = env.Tasks({"restore", "c"});
  CHECK(restore.exit_code == 0);
  CHECK(restore.out == "restored c\n");
  CHECK(env.Tasks({"show", "c"}).exit_code == 0);
  CHECK(env.Tasks({"restore", "c"}).exit_code == 4);  // nothing left in the trash
}

TEST_CASE("tasks: bad input exits with the status's code and changes nothing", "[tasks]") {
  TasksEnv env;
  env.AddShell("a", "true");
  struct Case {
    std::vector<std::string> args;
    int code;
    std::string err;
  };
  const std::vector<Case> cases = {
      {{"show", "nosuch"}, 4, "runicorn: task 'nosuch' does not exist\n"},
      {{"show", "../etc"}, 2, ""},
      {{"run", "a", "-j", "0"}, 2, "runicorn: -j must be in [1, 32]\n"},
      {{"ls", "--status", "bogus"}, 2, ""},
      {{"add", "--cmd", "true", "--env", "NOEQUALS"}, 2, "runicorn: --env takes KEY=VALUE, not 'NOEQUALS'\n"},
      {{"frobnicate"}, 2, ""},
      {{"log", "a"}, 4, ""},  // never ran: no log yet
      {{"restore", "zzz"}, 4, "runicorn: no trashed task 'zzz'\n"},
  };
  for (const auto& c : cases) {
    INFO(c.args[0] << " " << (c.args.size() > 1 ? c.args[1] : ""));
    auto r = env.Tasks(c.args);
    CHECK(r.exit_code == c.code);
    if (!c.err.empty()) CHECK(r.err == c.err);
  }
  auto ls = env.Tasks({"ls", "--json"}).json();
  CHECK(ls.at("total") == bj::value(1));
}

}  // namespace
}  // namespace runicorn::testing
