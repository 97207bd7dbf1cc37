// TaskRunner: sweeps on a worker pool, exit codes, logs, env, reruns, cancel, dead runners.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>

#include "runtrack/tasks.h"
#include "task_test_util.h"
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

std::string ShellTask(Workspace& ws, const std::string& name, const std::string& script,
                      std::map<std::string, std::string> env = {}) {
  CreateTasksOptions o;
  o.name_prefix = name;
  o.append_timestamp = false;
  o.shell_text = script;
  o.env = std::move(env);
  auto names = ws.CreateTasks(o);
  REQUIRE(names.ok());
  return names->front();
}

TaskRunnerOptions FastOptions(int workers = 1) {
  TaskRunnerOptions o;
  o.workers = workers;
  o.cancel_grace = 300ms;
  o.python_executable = PythonForTests();
  return o;
}

json::object Info(Workspace& ws, const std::string& name) {
  auto info = ws.ReadTaskInfo(name);
  REQUIRE(info.ok());
  return *info;
}

std::string StatusOf(Workspace& ws, const std::string& name) {
  return std::string(Info(ws, name).at("status").as_string());
}

pid_t ReadPid(const fs::path& p) {
  std::string text = ReadText(p);
  return text.empty() ? 0 : static_cast<pid_t>(std::stol(text));
}

}  // namespace

TEST_CASE("a 12-task sweep runs on 4 workers and every result is present", "[tasks][runner]") {
  TempDir tmp;
  // The script reads its config from __PYRUNS_CONFIG__ and records a result through the task
  // link (what the Python layer's pyruns.record will do).
  WriteText(tmp.path() / "train.py", R"(import json, os, time
cfg = dict(line.split(': ', 1) for line in open(os.environ['__PYRUNS_CONFIG__']).read().splitlines())
lr, seed = float(cfg['lr']), int(cfg['seed'])
print(f'training lr={lr} seed={seed}', flush=True)
time.sleep(0.2)
with open(os.path.join(os.environ['RUNICORN_TASK'], 'task_metrics.jsonl'), 'a') as f:
    f.write(json.dumps({'run': int(os.environ['PYRUNS_RUN_INDEX']), 'kind': 'record',
                        'values': {'final': lr * seed}}) + '\n')
)");
  auto ws = Workspace::OpenScript(tmp.path(), tmp.path() / "train.py", "lr: 0.1 | 0.2 | 0.3\nseed: 1:5\n");
  REQUIRE(ws.ok());
  CreateTasksOptions o;
  o.name_prefix = "sweep";
  o.append_timestamp = false;
  auto names = (*ws)->CreateTasks(o);
  REQUIRE(names.ok());
  REQUIRE(names->size() == 12);

  auto runner = TaskRunner::Start(**ws, FastOptions(4));
  REQUIRE(runner.ok());
  auto report = (*runner)->Submit(*names);
  REQUIRE(report.ok());
  CHECK(report->queued == *names);
  CHECK(report->skipped.empty());
  REQUIRE((*runner)->WaitIdle(120s).ok());

  auto page = (*ws)->ListTasks({});
  CHECK(page->status_counts[static_cast<size_t>(TaskStatus::kCompleted)] == 12);
  for (size_t k = 0; k < names->size(); ++k) {
    const std::string& name = (*names)[k];
    INFO(name);
    json::object info = Info(**ws, name);
    CHECK(info.at("status") == "completed");
    CHECK(info.at("run_index") == 1);
    CHECK(info.at("exit_codes").as_array() == json::array{0});
    CHECK(info.at("run_statuses").as_array() == json::array{"completed"});
    CHECK(info.at("pids").as_array()[0].as_int64() > 0);
    CHECK(info.at("durations").as_array()[0].as_double() > 0);
    CHECK(info.at("source_states").as_array()[0].as_string().starts_with("git "));
    CHECK_FALSE(info.contains("runner_id"));
    const double lrs[] = {0.1, 0.2, 0.3};
    double lr = lrs[k / 4];
    double seed = static_cast<double>(k % 4 + 1);
    CHECK(info.at("records").as_array()[0].at("final").to_number<double>() == Approx(lr * seed));
    // Folded into the file itself, for Pyruns.
    auto on_disk = json::parse(ReadText((*ws)->dir() / "tasks" / name / "task_info.json")).as_object();
    CHECK(on_disk.at("records").as_array()[0].at("final").to_number<double>() == Approx(lr * seed));
    std::string log = ReadText((*ws)->dir() / "tasks" / name / "run_logs" / "run1.log");
    CHECK(log.starts_with("[PYRUNS] ==================== START ====================\n[PYRUNS] Task " + name + " started at "));
    CHECK(log.find(fmt::format("training lr={} seed={}", lr, static_cast<int>(seed))) != std::string::npos);
    CHECK(log.find("[PYRUNS] ==================== FINISH ====================\n[PYRUNS] Exit code: 0\n[PYRUNS] Duration: ") != std::string::npos);
    CHECK(log.find("Final status") == std::string::npos);
  }
}

TEST_CASE("a failing run is failed with its exit code, and a rerun appends run 2", "[tasks][runner]") {
  TempDir tmp;
  auto ws = ShellWorkspace(tmp);
  fs::path flag = tmp.path() / "second";
  std::string name = ShellTask(*ws, "flaky", "echo attempt\nif [ -f " + flag.string() + " ]; then exit 0; fi\nexit 3\n");
  auto runner = TaskRunner::Start(*ws, FastOptions());
  REQUIRE(runner.ok());
  REQUIRE((*runner)->RunNow(name).ok());
  REQUIRE((*runner)->WaitIdle(60s).ok());
  json::object info = Info(*ws, name);
  CHECK(info.at("status") == "failed");
  CHECK(info.at("exit_codes").as_array() == json::array{3});
  fs::path logs = ws->dir() / "tasks" / name / "run_logs";
  std::string error_log = ReadText(logs / "error.log");
  CHECK(error_log.starts_with(std::string(70, '=') + "\n[PYRUNS] Run #1 failed at "));
  CHECK(error_log.find("\nreason=exit_code 3\n") != std::string::npos);
  CHECK(ReadText(logs / "run1.log").find("[PYRUNS] Exit code: 3\n") != std::string::npos);

  WriteText(flag, "");
  auto report = (*runner)->Submit({name});
  REQUIRE(report->queued.size() == 1);
  REQUIRE((*runner)->WaitIdle(60s).ok());
  info = Info(*ws, name);
  CHECK(info.at("status") == "completed");
  CHECK(info.at("run_index") == 2);
  CHECK(info.at("exit_codes").as_array() == json::array{3, 0});
  CHECK(info.at("run_statuses").as_array() == json::array{"failed", "completed"});
  CHECK(info.at("start_times").as_array().size() == 2);
  CHECK(fs::exists(logs / "run1.log"));
  CHECK(ReadText(logs / "run2.log").find("attempt\n") != std::string::npos);
  CHECK(ReadText(logs / "run1.log").find("[PYRUNS] Exit code: 3\n") != std::string::npos);  // untouched
}

TEST_CASE("the child gets Pyruns' env, the task link, and task env over global env", "[tasks][runner]") {
  TempDir tmp;
  auto ws = ShellWorkspace(tmp);
  std::string name = ShellTask(*ws, "envtask",
                               "echo \"run=$PYRUNS_RUN_INDEX task=$RUNICORN_TASK dir=$RUNICORN_DIR a=$A b=$B "
                               "cfg=${__PYRUNS_CONFIG__-unset} utf=$PYTHONUTF8\"\n",
                               {{"A", "task"}});
  TaskRunnerOptions o = FastOptions();
  o.global_env = {{"A", "global"}, {"B", "global"}};
  o.runicorn_dir = tmp.path() / "store";
  auto runner = TaskRunner::Start(*ws, o);
  REQUIRE(runner.ok());
  REQUIRE((*runner)->RunNow(name).ok());
  REQUIRE((*runner)->WaitIdle(60s).ok());
  std::string log = ReadText(ws->dir() / "tasks" / name / "run_logs" / "run1.log");
  CHECK(log.find(fmt::format("run=1 task={} dir={} a=task b=global cfg=unset utf=1\n",
                             (ws->dir() / "tasks" / name).string(), (tmp.path() / "store").string())) !=
        std::string::npos);
}

TEST_CASE("submitting what cannot be claimed is reported, never ignored", "[tasks][runner]") {
  TempDir tmp;
  auto ws = ShellWorkspace(tmp);
  std::string slow = ShellTask(*ws, "slow", "sleep 30\n");
  auto runner = TaskRunner::Start(*ws, FastOptions());
  REQUIRE(runner.ok());
  REQUIRE((*runner)->RunNow(slow).ok());
  auto report = (*runner)->Submit({slow, "missing", "../etc"});
  REQUIRE(report.ok());
  CHECK(report->queued.empty());
  REQUIRE(report->skipped.size() == 3);
  CHECK(report->skipped[0].second.code() == StatusCode::kFailedPrecondition);
  CHECK(report->skipped[0].second.message() == "task 'slow' is already queued or running here");
  CHECK(report->skipped[1].second.code() == StatusCode::kNotFound);
  CHECK(report->skipped[2].second.code() == StatusCode::kInvalidArgument);
  CHECK(TaskRunner::Start(*ws, FastOptions(33)).status().code() == StatusCode::kInvalidArgument);
  CHECK(TaskRunner::Start(*ws, FastOptions(0)).status().code() == StatusCode::kInvalidArgument);

  // A second runner (as another process would) sees it as owned by a live runner.
  auto other = TaskRunner::Start(*ws, FastOptions());
  REQUIRE(other.ok());
  auto foreign = (*other)->Submit({slow});
  REQUIRE(foreign->skipped.size() == 1);
  CHECK(foreign->skipped[0].second.message().starts_with("task 'slow' is already "));
  CHECK((*runner)->Cancel(slow).ok());
}

TEST_CASE("cancel kills the whole process tree and records cancelled", "[tasks][runner]") {
  TempDir tmp;
  auto ws = ShellWorkspace(tmp);
  fs::path child_pid = tmp.path() / "child.pid";
  // A shell that spawns a sleeping grandchild and waits for it.
  std::string name = ShellTask(*ws, "tree", "sleep 300 &\necho $! > " + child_pid.string() + "\nwait\n");
  auto runner = TaskRunner::Start(*ws, FastOptions());
  REQUIRE(runner.ok());
  REQUIRE((*runner)->RunNow(name).ok());
  REQUIRE(WaitUntil([&] { return ReadPid(child_pid) > 0; }));
  REQUIRE(WaitUntil([&] { return Info(*ws, name).at("pids").as_array()[0].is_int64(); }));
  pid_t shell = static_cast<pid_t>(Info(*ws, name).at("pids").as_array()[0].as_int64());
  pid_t grandchild = ReadPid(child_pid);
  CHECK_FALSE(ProcessGone(shell));
  CHECK_FALSE(ProcessGone(grandchild));

  auto outcome = (*runner)->Cancel(name);
  REQUIRE(outcome.ok());
  CHECK(*outcome == CancelOutcome::kCancelled);
  CHECK(ProcessGone(shell));
  CHECK(WaitUntil([&] { return ProcessGone(grandchild); }, 5s));
  json::object info = Info(*ws, name);
  CHECK(info.at("status") == "cancelled");
  CHECK(info.at("run_statuses").as_array() == json::array{"cancelled"});
  fs::path logs = ws->dir() / "tasks" / name / "run_logs";
  CHECK(ReadText(logs / "run1.log").find("[PYRUNS] Final status: cancelled\n") != std::string::npos);
  CHECK(ReadText(logs / "error.log").find("\nreason=cancelled_by_user\n") != std::string::npos);

  auto again = (*runner)->Cancel(name);
  CHECK(again.status().code() == StatusCode::kFailedPrecondition);
  CHECK(again.status().message() == "task '" + name + "' is cancelled; only queued or running tasks can be cancelled");
}

TEST_CASE("cancel escalates to SIGKILL when SIGTERM is ignored", "[tasks][runner]") {
  TempDir tmp;
  auto ws = ShellWorkspace(tmp);
  fs::path child_pid = tmp.path() / "child.pid";
  std::string name = ShellTask(*ws, "stubborn", "trap '' TERM\nsleep 300 &\necho $! > " + child_pid.string() + "\nwait\n");
  auto runner = TaskRunner::Start(*ws, FastOptions());
  REQUIRE(runner.ok());
  REQUIRE((*runner)->RunNow(name).ok());
  REQUIRE(WaitUntil([&] { return ReadPid(child_pid) > 0; }));
  pid_t grandchild = ReadPid(child_pid);
  auto outcome = (*runner)->Cancel(name);
  REQUIRE(outcome.ok());
  CHECK(WaitUntil([&] { return ProcessGone(grandchild); }, 5s));
  json::object info = Info(*ws, name);
  CHECK(info.at("status") == "cancelled");
  CHECK(info.at("exit_codes").as_array() == json::array{-SIGKILL});
}

TEST_CASE("a queued task is cancelled without taking a run slot", "[tasks][runner]") {
  TempDir tmp;
  auto ws = ShellWorkspace(tmp);
  std::string first = ShellTask(*ws, "first", "sleep 30\n");
  std::string second = ShellTask(*ws, "second", "echo never\n");
  auto runner = TaskRunner::Start(*ws, FastOptions(1));
  REQUIRE(runner.ok());
  REQUIRE((*runner)->Submit({first, second})->queued.size() == 2);
  REQUIRE(WaitUntil([&] { return StatusOf(*ws, first) == "running"; }));
  CHECK(StatusOf(*ws, second) == "queued");
  CHECK(*(*runner)->Cancel(second) == CancelOutcome::kCancelled);
  json::object info = Info(*ws, second);
  CHECK(info.at("status") == "cancelled");
  CHECK(info.at("run_index") == 0);
  CHECK(info.at("run_statuses").as_array().empty());
  CHECK_FALSE(fs::exists(ws->dir() / "tasks" / second / "run_logs" / "run1.log"));
  CHECK(*(*runner)->Cancel(first) == CancelOutcome::kCancelled);
  REQUIRE((*runner)->WaitIdle(30s).ok());
  CHECK(StatusOf(*ws, second) == "cancelled");
}

TEST_CASE("a cancel from another runner is a request the owner carries out", "[tasks][runner]") {
  TempDir tmp;
  auto ws = ShellWorkspace(tmp);
  std::string name = ShellTask(*ws, "remote", "sleep 300\n");
  auto owner = TaskRunner::Start(*ws, FastOptions());
  auto other = TaskRunner::Start(*ws, FastOptions());
  REQUIRE(owner.ok());
  REQUIRE(other.ok());
  REQUIRE((*owner)->RunNow(name).ok());
  REQUIRE(WaitUntil([&] { return StatusOf(*ws, name) == "running"; }));
  auto outcome = (*other)->Cancel(name);
  REQUIRE(outcome.ok());
  CHECK(*outcome == CancelOutcome::kRequested);
  CHECK(WaitUntil([&] { return StatusOf(*ws, name) == "cancelled"; }, 30s));
  CHECK(Info(*ws, name).at("cancel_requested_at").is_double());
}

TEST_CASE("a killed runner's running task is marked failed and its children die", "[tasks][runner]") {
  TempDir tmp;
  auto ws = ShellWorkspace(tmp);
  fs::path child_pid = tmp.path() / "child.pid";
  std::string name = ShellTask(*ws, "orphan", "sleep 300 &\necho $! > " + child_pid.string() + "\nwait\n");
  std::string queued = ShellTask(*ws, "waiting", "echo hi\n");

  pid_t runner_process = ::fork();
  REQUIRE(runner_process >= 0);
  if (runner_process == 0) {
    // The runner lives in this child process until the test kills it.
    auto child_ws = Workspace::OpenShell(tmp.path());
    if (!child_ws.ok()) ::_exit(2);
    auto runner = TaskRunner::Start(**child_ws, FastOptions(1));
    if (!runner.ok()) ::_exit(3);
    if (!(*runner)->Submit({name, queued}).ok()) ::_exit(4);
    for (;;) ::pause();
  }
  REQUIRE(WaitUntil([&] { return ReadPid(child_pid) > 0 && StatusOf(*ws, queued) == "queued"; }));
  pid_t shell = static_cast<pid_t>(Info(*ws, name).at("pids").as_array()[0].as_int64());
  pid_t grandchild = ReadPid(child_pid);
  CHECK(StatusOf(*ws, name) == "running");

  ::kill(runner_process, SIGKILL);
  int wstatus = 0;
  ::waitpid(runner_process, &wstatus, 0);
  CHECK(WaitUntil([&] { return ProcessGone(shell); }, 10s));  // PR_SET_PDEATHSIG

  auto report = ws->ReconcileAbandonedTasks();
  REQUIRE(report.ok());
  CHECK(report->failed == std::vector<std::string>{name});
  CHECK(report->cancelled == std::vector<std::string>{queued});
  CHECK(WaitUntil([&] { return ProcessGone(grandchild); }, 10s));
  json::object info = Info(*ws, name);
  CHECK(info.at("status") == "failed");
  CHECK(info.at("run_statuses").as_array() == json::array{"failed"});
  CHECK_FALSE(info.contains("runner_id"));
  CHECK(ReadText(ws->dir() / "tasks" / name / "run_logs" / "error.log").find("\nreason=runner_lost\n") != std::string::npos);
  CHECK(StatusOf(*ws, queued) == "cancelled");
  // A second scan finds nothing more to do.
  CHECK(ws->ReconcileAbandonedTasks()->failed.empty());

  // And the task can run again under a live runner: run 2 is appended.
  auto runner = TaskRunner::Start(*ws, FastOptions());
  REQUIRE(runner.ok());
  fs::remove(child_pid);
  REQUIRE((*runner)->RunNow(name).ok());
  REQUIRE(WaitUntil([&] { return ReadPid(child_pid) > 0; }));
  CHECK(*(*runner)->Cancel(name) == CancelOutcome::kCancelled);
  CHECK(Info(*ws, name).at("run_statuses").as_array() == json::array{"failed", "cancelled"});
}

TEST_CASE("a missing program fails the run with a clear message", "[tasks][runner]") {
  TempDir tmp;
  auto ws = ShellWorkspace(tmp);
  std::string name = ShellTask(*ws, "noshell", "echo hi\n");
  TaskRunnerOptions o = FastOptions();
  o.shell_executable = "definitely-not-a-shell";
  auto runner = TaskRunner::Start(*ws, o);
  REQUIRE(runner.ok());
  REQUIRE((*runner)->RunNow(name).ok());
  REQUIRE((*runner)->WaitIdle(30s).ok());
  json::object info = Info(*ws, name);
  CHECK(info.at("status") == "failed");
  CHECK(info.at("exit_codes").as_array()[0].is_null());
  CHECK(ReadText(ws->dir() / "tasks" / name / "run_logs" / "error.log")
            .find("reason=launch_failed: command 'definitely-not-a-shell' not found in PATH\n") != std::string::npos);
}

TEST_CASE("the pool runs queued tasks in FIFO order", "[tasks][runner]") {
  TempDir tmp;
  auto ws = ShellWorkspace(tmp);
  fs::path order = tmp.path() / "order.txt";
  std::vector<std::string> names;
  for (const char* n : {"c", "a", "b"}) names.push_back(ShellTask(*ws, n, std::string("echo ") + n + " >> " + order.string() + "\n"));
  auto runner = TaskRunner::Start(*ws, FastOptions(1));
  REQUIRE(runner.ok());
  REQUIRE((*runner)->Submit(names)->queued == names);
  REQUIRE((*runner)->WaitIdle(60s).ok());
  CHECK(ReadText(order) == "c\na\nb\n");
}

TEST_CASE("a runner renews the lease of what it owns", "[tasks][runner]") {
  TempDir tmp;
  auto ws = ShellWorkspace(tmp);
  std::string name = ShellTask(*ws, "leased", "sleep 30\n");
  TaskRunnerOptions o = FastOptions();
  o.heartbeat_interval = 100ms;
  o.lease_duration = 5000ms;
  auto runner = TaskRunner::Start(*ws, o);
  REQUIRE(runner.ok());
  REQUIRE((*runner)->RunNow(name).ok());
  REQUIRE(WaitUntil([&] { return StatusOf(*ws, name) == "running"; }));
  double first = Info(*ws, name).at("lease_heartbeat").to_number<double>();
  CHECK(WaitUntil([&] { return Info(*ws, name).at("lease_heartbeat").to_number<double>() > first; }, 10s));
  json::object info = Info(*ws, name);
  CHECK(info.at("lease_until").to_number<double>() ==
        Approx(info.at("lease_heartbeat").to_number<double>() + 5.0));
  CHECK(info.at("runner_id").as_string() == (*runner)->runner_id());
  CHECK(*(*runner)->Cancel(name) == CancelOutcome::kCancelled);
}

TEST_CASE("destroying a runner fails its running tasks and cancels its queued ones", "[tasks][runner]") {
  TempDir tmp;
  auto ws = ShellWorkspace(tmp);
  std::string running = ShellTask(*ws, "busy", "sleep 300\n");
  std::string queued = ShellTask(*ws, "next", "echo never\n");
  pid_t pid = 0;
  {
    auto runner = TaskRunner::Start(*ws, FastOptions(1));
    REQUIRE(runner.ok());
    REQUIRE((*runner)->Submit({running, queued})->queued.size() == 2);
    REQUIRE(WaitUntil([&] { return StatusOf(*ws, running) == "running"; }));
    pid = static_cast<pid_t>(Info(*ws, running).at("pids").as_array()[0].as_int64());
  }
  CHECK(ProcessGone(pid));
  json::object info = Info(*ws, running);
  CHECK(info.at("status") == "failed");
  CHECK(info.at("run_statuses").as_array() == json::array{"failed"});
  fs::path logs = ws->dir() / "tasks" / running / "run_logs";
  CHECK(ReadText(logs / "run1.log").find("[PYRUNS] Final status: failed\n") != std::string::npos);
  CHECK(ReadText(logs / "error.log").find("\nreason=system_shutdown\n") != std::string::npos);
  CHECK(StatusOf(*ws, queued) == "cancelled");
  CHECK(Info(*ws, queued).at("run_index") == 0);
}

TEST_CASE("an argparse script gets its config as flags", "[tasks][runner]") {
  TempDir tmp;
  WriteText(tmp.path() / "cli.py", R"(import argparse
p = argparse.ArgumentParser()
p.add_argument('--lr', type=float)
p.add_argument('--epochs', type=int)
p.add_argument('--verbose', action='store_true')
p.add_argument('--quiet', action='store_true')
p.add_argument('--layers', type=int, nargs='+')
p.add_argument('--name')
a = p.parse_args()
print(f'lr={a.lr} epochs={a.epochs} verbose={a.verbose} quiet={a.quiet} layers={a.layers} name={a.name}')
)");
  auto ws = Workspace::OpenScript(tmp.path(), tmp.path() / "cli.py",
                                  "lr: 0.5\nepochs: 3\nverbose: true\nquiet: false\nlayers: [1, 2]\nname: x y\n");
  REQUIRE(ws.ok());
  CreateTasksOptions o;
  o.name_prefix = "flags";
  o.append_timestamp = false;
  auto names = (*ws)->CreateTasks(o);
  REQUIRE(names.ok());
  auto runner = TaskRunner::Start(**ws, FastOptions());
  REQUIRE(runner.ok());
  REQUIRE((*runner)->RunNow("flags").ok());
  REQUIRE((*runner)->WaitIdle(60s).ok());
  CHECK(StatusOf(**ws, "flags") == "completed");
  CHECK(ReadText((*ws)->dir() / "tasks" / "flags" / "run_logs" / "run1.log")
            .find("\nlr=0.5 epochs=3 verbose=True quiet=False layers=[1, 2] name=x y\n") != std::string::npos);
}
