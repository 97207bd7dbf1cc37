// The task runner on the shared PostgreSQL queue (`viewer --catalog`, docs/SCALE-OUT.md "Tasks on
// PostgreSQL"): replicas (in-process TaskServices, a forked runner process, a real `runicorn
// viewer`) on one private PostgreSQL and one tasks folder run every task once, follow cancels sent
// through another replica, and take over from a replica that was SIGKILLed.
#ifdef RUNICORN_HAVE_PG
#include <signal.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include <boost/json.hpp>

#include "pg/pg_test_support.h"
#include "s3/runicorn_process.h"
#include "server_fixture.h"
#include "service/pg/pg_shared_task_queue.h"
#include "service/pg/pg_task_queue.h"
#include "service/task_service.h"
#include "test_support.h"

using namespace runicorn::testing;
using runtrack::testing::TempDir;
using runicorn::service::TaskService;
using runicorn::service::TaskServiceOptions;
using runicorn::service::pg::PgSharedTaskQueue;
using runicorn::service::pg::PgTaskQueue;
using runicorn::service::pg::TaskQueueEntry;
using runtrack::CancelOutcome;
using runtrack::StatusCode;
using runtrack::TaskStatus;
namespace fs = std::filesystem;

namespace {

// The queue key of the shell workspace of `root`, as the viewer makes it.
std::string WorkspaceKey(const fs::path& root) { return (root / "_pyruns_" / "_shell_" / "tasks").string(); }

std::shared_ptr<PgTaskQueue> OpenQueue(const std::string& conninfo, const std::string& replica) {
  REQUIRE_FALSE(conninfo.empty());
  auto q = PgTaskQueue::Open(conninfo, replica);
  INFO(q.status().ToString());
  REQUIRE(q.ok());
  return std::shared_ptr<PgTaskQueue>(std::move(q).value());
}

// One replica: a TaskService whose runner takes the shell workspace's tasks from the queue with
// `workers` workers.
std::unique_ptr<TaskService> Replica(std::shared_ptr<PgTaskQueue> queue, const fs::path& root, int workers = 1) {
  TaskServiceOptions o;
  o.project_root = root;
  o.shared_workers = workers;
  o.scan_interval = std::chrono::milliseconds(200);
  o.cancel_grace = std::chrono::milliseconds(500);
  o.shared_queue = [queue](const runtrack::Workspace& ws)
      -> runtrack::Result<std::shared_ptr<runtrack::SharedTaskQueue>> {
    return std::shared_ptr<runtrack::SharedTaskQueue>(
        std::make_shared<PgSharedTaskQueue>(queue, (ws.dir() / "tasks").lexically_normal().string()));
  };
  auto svc = std::make_unique<TaskService>(std::move(o));
  REQUIRE(svc->InitShell().ok());
  return svc;
}

// Shell tasks named `names`, each running `script` (created in the folder only: not queued).
void MakeTasks(const fs::path& root, const std::vector<std::string>& names, const std::string& script) {
  auto ws = runtrack::Workspace::OpenShell(root);
  REQUIRE(ws.ok());
  for (const auto& n : names) {
    runtrack::CreateTasksOptions o;
    o.name_prefix = n;
    o.append_timestamp = false;
    o.shell_text = script;
    auto created = (*ws)->CreateTasks(o);
    INFO(created.status().ToString());
    REQUIRE(created.ok());
    REQUIRE(*created == std::vector<std::string>{n});
  }
}

// Polls `done` every 50 ms for at most `limit` (a bound on a hang, not a timing assertion).
bool WaitUntil(const std::function<bool()>& done, std::chrono::seconds limit = std::chrono::seconds(90)) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return done();
}

std::string FolderStatus(const fs::path& root, const std::string& name) {
  auto ws = runtrack::Workspace::OpenShell(root);
  if (!ws.ok()) return "?";
  auto info = (*ws)->ReadTaskInfo(name);
  if (!info.ok()) return "?";
  const auto* s = info->if_contains("status");
  return s && s->is_string() ? std::string(s->as_string()) : "?";
}

std::optional<TaskQueueEntry> Entry(PgTaskQueue& q, const fs::path& root, const std::string& name) {
  auto e = q.Get(WorkspaceKey(root), name);
  REQUIRE(e.ok());
  return *e;
}

std::string Describe(const TaskQueueEntry& e) {
  return fmt::format("{}|{}|attempts={}|by={}|exit={}|{}", e.name, e.state, e.attempts, e.claimed_by,
                     e.exit_code ? std::to_string(*e.exit_code) : "-", e.reason);
}

std::string Slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> Lines(const fs::path& p) {
  std::vector<std::string> out;
  std::istringstream in(Slurp(p));
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// Each task appends "<its name> <run>" to ran.txt in the project folder (its working directory).
constexpr const char* kRecordRun = "echo \"$(basename \"$RUNICORN_TASK\") $PYRUNS_RUN_INDEX\" >> ran.txt\n";

// Each task appends "start <its name>" when it begins and "end <its name>" once the file `go`
// exists in the project folder: until then every started task holds its worker.
constexpr const char* kGatedRun =
    "n=$(basename \"$RUNICORN_TASK\")\necho \"start $n\" >> events.txt\n"
    "while [ ! -e go ]; do sleep 0.05; done\necho \"end $n\" >> events.txt\n";

// A string field of a task's task_info.json ("" when absent).
std::string FolderField(const fs::path& root, const std::string& name, const std::string& key) {
  auto ws = runtrack::Workspace::OpenShell(root);
  if (!ws.ok()) return "?";
  auto info = (*ws)->ReadTaskInfo(name);
  if (!info.ok()) return "?";
  const auto* v = info->if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : "";
}

// Entries of the workspace by state; running ones also by their replica ("running@A").
std::map<std::string, int> QueueStates(PgTaskQueue& q, const fs::path& root) {
  std::map<std::string, int> out;
  auto all = q.List(WorkspaceKey(root));
  REQUIRE(all.ok());
  for (const auto& e : *all) ++out[e.state == "running" ? "running@" + e.claimed_by : e.state];
  return out;
}

// `asker`'s cancel of the task "slow" that replica `runner` runs: a request the runner carries out.
// The task ends cancelled in its folder and in the queue with the local runner's records, and a
// second cancel is refused in the local runner's words.
void CheckCancelRequestCarriedOut(TaskService& asker, PgTaskQueue& observer, const fs::path& root,
                                  const std::string& runner) {
  auto cancelled = asker.Cancel("slow");
  INFO(cancelled.status().ToString());
  REQUIRE(cancelled.ok());
  CHECK(*cancelled == CancelOutcome::kRequested);
  REQUIRE(WaitUntil([&] {
    return FolderStatus(root, "slow") == "cancelled" && Entry(observer, root, "slow")->state == "cancelled";
  }));
  auto entry = Entry(observer, root, "slow");
  CHECK(Describe(*entry) == fmt::format("slow|cancelled|attempts=1|by={}|exit=-15|cancelled_by_user", runner));
  CHECK(entry->cancel_requested);
  const fs::path task = root / "_pyruns_" / "_shell_" / "tasks" / "slow";
  CHECK(Slurp(task / "run_logs" / "error.log").find("reason=cancelled_by_user") != std::string::npos);
  CHECK(Slurp(task / "run_logs" / "run1.log").find("[PYRUNS] Final status: cancelled") != std::string::npos);
  auto twice = asker.Cancel("slow");
  CHECK(twice.status().code() == StatusCode::kFailedPrecondition);
  CHECK(twice.status().message() == "task 'slow' is cancelled; only queued or running tasks can be cancelled");
}

pid_t PostmasterPidOf(const PgTestServer& pg) {
  std::ifstream f(pg.dir() / "data" / "postmaster.pid");
  pid_t pid = 0;
  f >> pid;
  return pid;
}

}  // namespace

TEST_CASE("pg task runner: tasks submitted through two replicas each run once, in queue order per runner",
          "[pg][pg_task_runner]") {
  RUNICORN_PG_TEST_SERVER(server);
  const std::string conninfo = server.NewDatabase();
  TempDir dir;
  const fs::path root = dir.path();
  std::vector<std::string> names;
  for (int i = 1; i <= 12; ++i) names.push_back(fmt::format("t{:02d}", i));
  MakeTasks(root, names, kRecordRun);
  auto a = Replica(OpenQueue(conninfo, "A"), root);
  auto b = Replica(OpenQueue(conninfo, "B"), root);
  REQUIRE(a->StartRunner().ok());
  REQUIRE(b->StartRunner().ok());

  auto through_a = a->Run({names.begin(), names.begin() + 6}, 1);
  auto through_b = b->Run({names.begin() + 6, names.end()}, 1);
  REQUIRE(through_a.ok());
  REQUIRE(through_b.ok());
  CHECK(through_a->queued == std::vector<std::string>(names.begin(), names.begin() + 6));
  CHECK(through_a->skipped.empty());
  CHECK(through_b->queued == std::vector<std::string>(names.begin() + 6, names.end()));
  CHECK(through_b->skipped.empty());

  auto observer = OpenQueue(conninfo, "observer");
  REQUIRE(WaitUntil([&] {
    auto all = observer->List(WorkspaceKey(root));
    return all.ok() && all->size() == names.size() &&
           std::all_of(all->begin(), all->end(), [](const TaskQueueEntry& e) { return e.state == "completed"; });
  }));
  // Every task ran exactly once (its own output, run 1)...
  auto ran = Lines(root / "ran.txt");
  std::sort(ran.begin(), ran.end());
  std::vector<std::string> expected;
  for (const auto& n : names) expected.push_back(n + " 1");
  CHECK(ran == expected);
  // ... recorded in the queue and in its folder, which both replicas list the same.
  auto entries = observer->List(WorkspaceKey(root));
  REQUIRE(entries.ok());
  std::map<std::string, std::vector<TaskQueueEntry>> by_runner;
  for (const auto& e : *entries) {
    CHECK(Describe(e) == fmt::format("{}|completed|attempts=1|by={}|exit=0|", e.name, e.claimed_by));
    CHECK((e.claimed_by == "A" || e.claimed_by == "B"));
    by_runner[e.claimed_by].push_back(e);
  }
  for (auto* svc : {a.get(), b.get()}) {
    runtrack::TaskListQuery q;
    q.limit = 100;
    auto page = svc->List(q);
    REQUIRE(page.ok());
    CHECK(page->total == names.size());
    CHECK(page->status_counts[static_cast<size_t>(TaskStatus::kCompleted)] == names.size());
  }
  // One worker per replica: each took its tasks in the queue's order (FIFO: submission order).
  for (auto& [runner, list] : by_runner) {
    std::sort(list.begin(), list.end(), [](const auto& x, const auto& y) { return *x.started_at < *y.started_at; });
    std::vector<std::string> order;
    for (const auto& e : list) order.push_back(e.name);
    INFO(runner);
    CHECK(std::is_sorted(order.begin(), order.end()));
  }
}

TEST_CASE("pg task runner: a reorder through one replica is the order the other runs them in",
          "[pg][pg_task_runner]") {
  RUNICORN_PG_TEST_SERVER(server);
  const std::string conninfo = server.NewDatabase();
  TempDir dir;
  const fs::path root = dir.path();
  // Each replica has one worker; a gate task holds it until its file appears.
  MakeTasks(root, {"gate_1"}, "while [ ! -e go_1 ]; do sleep 0.05; done\n");
  MakeTasks(root, {"gate_2"}, "while [ ! -e go_2 ]; do sleep 0.05; done\n");
  MakeTasks(root, {"x1", "x2", "x3"}, kRecordRun);
  auto a = Replica(OpenQueue(conninfo, "A"), root);
  auto b = Replica(OpenQueue(conninfo, "B"), root);
  REQUIRE(a->Run({"gate_1", "gate_2"}, 1).ok());
  REQUIRE(WaitUntil([&] { return FolderStatus(root, "gate_1") == "running" && FolderStatus(root, "gate_2") == "running"; }));
  REQUIRE(b->Run({"x1", "x2", "x3"}, 1).ok());
  auto reordered = a->Reorder({{"x3", std::nullopt}, {"x1", std::nullopt}, {"x2", std::nullopt}});
  INFO(reordered.status().ToString());
  REQUIRE(reordered.ok());
  auto observer = OpenQueue(conninfo, "observer");
  CHECK(Entry(*observer, root, "x3")->task_order == std::optional<int64_t>(0));
  CHECK(Entry(*observer, root, "x1")->task_order == std::optional<int64_t>(1));
  CHECK(Entry(*observer, root, "x2")->task_order == std::optional<int64_t>(2));
  // One worker becomes free: it runs them one after another in the manual order.
  std::ofstream(root / "go_1") << "go";
  REQUIRE(WaitUntil([&] {
    for (const char* n : {"x1", "x2", "x3"})
      if (Entry(*observer, root, n)->state != "completed") return false;
    return true;
  }));
  CHECK(Lines(root / "ran.txt") == std::vector<std::string>{"x3 1", "x1 1", "x2 1"});
  std::ofstream(root / "go_2") << "go";
  REQUIRE(WaitUntil([&] { return FolderStatus(root, "gate_2") == "completed"; }));
}

TEST_CASE("pg task runner: a cancel sent through replica A stops the task replica B runs",
          "[pg][pg_task_runner]") {
  RUNICORN_PG_TEST_SERVER(server);
  const std::string conninfo = server.NewDatabase();
  TempDir dir;
  const fs::path root = dir.path();
  MakeTasks(root, {"slow"}, "echo started\nsleep 60\n");
  auto b = Replica(OpenQueue(conninfo, "B"), root);
  REQUIRE(b->StartRunner().ok());
  REQUIRE(b->Run({"slow"}, 1).ok());
  REQUIRE(WaitUntil([&] { return FolderStatus(root, "slow") == "running"; }));

  auto a = Replica(OpenQueue(conninfo, "A"), root);
  // Running on B: A cannot queue it again...
  auto again = a->Run({"slow"}, 1);
  REQUIRE(again.ok());
  CHECK(again->queued.empty());
  REQUIRE(again->skipped.size() == 1);
  CHECK(again->skipped[0].second.code() == StatusCode::kFailedPrecondition);
  CHECK(again->skipped[0].second.message().rfind("task 'slow' is already running (runner ", 0) == 0);
  // ... and its cancel is a request that B carries out.
  CheckCancelRequestCarriedOut(*a, *OpenQueue(conninfo, "observer"), root, "B");
}

TEST_CASE("pg task runner: PostgreSQL unreachable at submit is Busy (503) and leaves the folder as it was",
          "[pg][pg_task_runner]") {
  PgTestServer pg;  // its own server: this case stops it
  RUNICORN_PG_REQUIRE_AVAILABLE(pg);
  const std::string conninfo = pg.NewDatabase();
  TempDir dir;
  const fs::path root = dir.path() / "project";
  fs::create_directories(root);
  MakeTasks(root, {"t"}, kRecordRun);
  auto a = Replica(OpenQueue(conninfo, "A"), root);
  REQUIRE(a->StartRunner().ok());
  // The same through the API of a real `runicorn viewer --catalog`.
  RunicornProcess viewer("viewer",
                         {"--storage", (dir.path() / "store").string(), "--port", "0", "--catalog", conninfo,
                          "--tasks-root", root.string()},
                         {}, dir.path());
  int port = viewer.WaitForPort();
  INFO(viewer.err());
  REQUIRE(port > 0);
  std::smatch m;
  std::string out = viewer.out();
  REQUIRE(std::regex_search(out, m, std::regex(R"(need the token: http://\S+\?token=(\S+))")));
  const std::string token = m[1];
  const fs::path info_path = root / "_pyruns_" / "_shell_" / "tasks" / "t" / "task_info.json";
  const std::string before = Slurp(info_path);

  pid_t postmaster = PostmasterPidOf(pg);
  REQUIRE(postmaster > 0);
  REQUIRE(::kill(postmaster, SIGINT) == 0);  // fast shutdown
  REQUIRE(WaitUntil([&] { return ::kill(postmaster, 0) != 0; }));

  auto run = a->Run({"t"}, 1);
  REQUIRE_FALSE(run.ok());
  CHECK(run.status().code() == StatusCode::kBusy);  // errors.cpp: Busy → HTTP 503
  CHECK(run.status().message().rfind("the task queue (PostgreSQL) is unavailable, retry later: postgresql:", 0) == 0);
  HttpClient c(static_cast<uint16_t>(port));
  auto refused = c.Post("/api/tasks/t/run", "{}", {{"Authorization", "Bearer " + token}});
  CHECK(refused.status == 503);
  CHECK(refused.detail().rfind("the task queue (PostgreSQL) is unavailable, retry later: postgresql:", 0) == 0);
  auto batch = c.Post("/api/tasks/batch/run", R"({"task_names":["t"]})", {{"Authorization", "Bearer " + token}});
  CHECK(batch.status == 503);
  CHECK(batch.detail().rfind("the task queue (PostgreSQL) is unavailable, retry later: postgresql:", 0) == 0);
  // Nothing half-written: the folder holds what it held (status pending, not queued).
  CHECK(boost::json::parse(Slurp(info_path)) == boost::json::parse(before));
  CHECK(FolderStatus(root, "t") == "pending");
  CHECK_FALSE(fs::exists(root / "ran.txt"));
}

TEST_CASE("pg task runner: a runner process SIGKILLed while it holds a claim: the task is queued again and run "
          "by the other replica",
          "[pg][pg_task_runner]") {
  RUNICORN_PG_TEST_SERVER(server);
  const std::string conninfo = server.NewDatabase();
  TempDir dir;
  const fs::path root = dir.path() / "project";
  fs::create_directories(root);
  MakeTasks(root, {"g"}, kRecordRun);
  // The only GPU slot is held here, so the child's runner keeps the task claimed (GPU admission
  // happens before the queue is told it started).
  const fs::path slots = dir.path() / "slots";
  fs::create_directories(slots);
  int slot_fd = ::open((slots / "gpu-GPU-test-slot0.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  REQUIRE(slot_fd >= 0);
  REQUIRE(::flock(slot_fd, LOCK_EX) == 0);

  pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    // A replica of its own: its own PostgreSQL session, runner and queue entry claims.
    auto ws = runtrack::Workspace::OpenShell(root);
    auto q = PgTaskQueue::Open(conninfo, "K");
    if (!ws.ok() || !q.ok()) ::_exit(3);
    std::shared_ptr<PgTaskQueue> shared = std::move(q).value();
    runtrack::TaskRunnerOptions o;
    o.shared_queue = std::make_shared<PgSharedTaskQueue>(shared, WorkspaceKey(root));
    o.gpu.list_gpus = [] {
      return runtrack::Result<std::vector<runtrack::GpuSlotInfo>>(
          std::vector<runtrack::GpuSlotInfo>{{0, "GPU-test", "fake"}});
    };
    o.gpu.slot_lock_dir = slots;
    auto runner = runtrack::TaskRunner::Start(**ws, o);
    if (!runner.ok() || !(*runner)->Submit({"g"}).ok()) ::_exit(4);
    for (;;) ::pause();
  }
  auto observer = OpenQueue(conninfo, "observer");
  REQUIRE(WaitUntil([&] {
    auto e = Entry(*observer, root, "g");
    return e && e->state == "claimed" && Slurp(root / "_pyruns_" / "_shell_" / "tasks" / "g" / "task_info.json")
                                                 .find("\"gpu_wait\"") != std::string::npos;
  }));
  CHECK(Describe(*Entry(*observer, root, "g")) == "g|claimed|attempts=1|by=K|exit=-|");
  REQUIRE(::kill(child, SIGKILL) == 0);
  int wstatus = 0;
  REQUIRE(::waitpid(child, &wstatus, 0) == child);
  CHECK(WIFSIGNALED(wstatus));
  ::close(slot_fd);

  // The dead replica's claim comes back at A's start; A runs it (no GPU scheduling there).
  auto a = Replica(OpenQueue(conninfo, "A"), root);
  REQUIRE(a->StartRunner().ok());
  REQUIRE(WaitUntil([&] { return Entry(*observer, root, "g")->state == "completed"; }));
  CHECK(Describe(*Entry(*observer, root, "g")) == "g|completed|attempts=2|by=A|exit=0|");
  CHECK(Lines(root / "ran.txt") == std::vector<std::string>{"g 1"});  // one run, run 1: the claim made none
  auto shown = a->Show("g");
  REQUIRE(shown.ok());
  CHECK(shown->summary.status == TaskStatus::kCompleted);
  CHECK(shown->summary.run_index == 1);
}

TEST_CASE("pg task runner: runicorn viewer SIGKILLed while running a task: the other replica shows it failed "
          "runner_lost",
          "[pg][pg_task_runner]") {
  RUNICORN_PG_TEST_SERVER(server);
  const std::string conninfo = server.NewDatabase();
  TempDir dir;
  const fs::path root = dir.path() / "project";
  fs::create_directories(root);
  MakeTasks(root, {"long"}, "echo started\nsleep 60\n");
  RunicornProcess viewer("viewer",
                         {"--storage", (dir.path() / "store").string(), "--port", "0", "--catalog", conninfo,
                          "--tasks-root", root.string()},
                         {}, dir.path());
  int port = viewer.WaitForPort();
  INFO(viewer.err());
  REQUIRE(port > 0);
  std::smatch m;
  std::string out = viewer.out();
  REQUIRE(std::regex_search(out, m, std::regex(R"(need the token: http://\S+\?token=(\S+))")));
  const std::string token = m[1];
  HttpClient c(static_cast<uint16_t>(port));
  auto started = c.Post("/api/tasks/long/run", "{}", {{"Authorization", "Bearer " + token}});
  INFO(started.body);
  REQUIRE(started.status == 200);
  REQUIRE(WaitUntil([&] { return FolderStatus(root, "long") == "running"; }));

  auto observer = OpenQueue(conninfo, "observer");
  auto entry = Entry(*observer, root, "long");
  REQUIRE(entry);
  CHECK(entry->state == "running");
  // The viewer's replica id is host:pid; SIGKILL it.
  const std::string replica = entry->claimed_by;
  pid_t viewer_pid = static_cast<pid_t>(std::stol(replica.substr(replica.rfind(':') + 1)));
  REQUIRE(viewer_pid > 0);
  REQUIRE(::kill(viewer_pid, SIGKILL) == 0);
  CHECK(viewer.Wait() == -1);

  auto a = Replica(OpenQueue(conninfo, "A"), root);
  REQUIRE(a->StartRunner().ok());  // recovers at start
  REQUIRE(WaitUntil([&] { return Entry(*observer, root, "long")->state == "lost"; }));
  CHECK(Describe(*Entry(*observer, root, "long")) == fmt::format("long|lost|attempts=1|by={}|exit=-|runner_lost", replica));
  auto shown = a->Show("long");
  REQUIRE(shown.ok());
  CHECK(shown->summary.status == TaskStatus::kFailed);
  const fs::path task = root / "_pyruns_" / "_shell_" / "tasks" / "long";
  CHECK(Slurp(task / "run_logs" / "error.log").find("reason=runner_lost") != std::string::npos);
  // Not rerun behind the user's back: resubmitting runs it again, on A.
  auto rerun = a->Run({"long"}, 1);
  REQUIRE(rerun.ok());
  CHECK(rerun->queued == std::vector<std::string>{"long"});
  REQUIRE(WaitUntil([&] { return FolderStatus(root, "long") == "running"; }));
  auto cancelled = a->Cancel("long");
  REQUIRE(cancelled.ok());
  CHECK(*cancelled == CancelOutcome::kCancelled);
  CHECK(Describe(*Entry(*observer, root, "long")) == "long|cancelled|attempts=1|by=A|exit=-15|cancelled_by_user");
}

TEST_CASE("pg task runner: two workers on each of two replicas run 12 tasks once each, at most two at a time per "
          "replica",
          "[pg][pg_task_runner]") {
  RUNICORN_PG_TEST_SERVER(server);
  const std::string conninfo = server.NewDatabase();
  TempDir dir;
  const fs::path root = dir.path();
  std::vector<std::string> names;
  for (int i = 1; i <= 12; ++i) names.push_back(fmt::format("w{:02d}", i));
  MakeTasks(root, names, kGatedRun);
  auto a = Replica(OpenQueue(conninfo, "A"), root, 2);
  auto b = Replica(OpenQueue(conninfo, "B"), root, 2);
  REQUIRE(a->StartRunner().ok());
  REQUIRE(b->StartRunner().ok());
  auto through_a = a->Run({names.begin(), names.begin() + 6}, 1);
  auto through_b = b->Run({names.begin() + 6, names.end()}, 1);
  REQUIRE(through_a.ok());
  REQUIRE(through_b.ok());
  CHECK(through_a->queued.size() == 6);
  CHECK(through_b->queued.size() == 6);

  // Until `go` exists every started task holds its worker: two run on each replica, and the other
  // eight wait in the queue, claimed by nobody.
  auto observer = OpenQueue(conninfo, "observer");
  REQUIRE(WaitUntil([&] {
    auto states = QueueStates(*observer, root);
    return states["running@A"] == 2 && states["running@B"] == 2 && Lines(root / "events.txt").size() == 4;
  }));
  CHECK(QueueStates(*observer, root) == std::map<std::string, int>{{"queued", 8}, {"running@A", 2}, {"running@B", 2}});
  std::ofstream(root / "go") << "go";
  REQUIRE(WaitUntil([&] { return QueueStates(*observer, root) == std::map<std::string, int>{{"completed", 12}}; }));

  // Each ran once (attempt 1, run 1), on the replica the queue names.
  auto entries = observer->List(WorkspaceKey(root));
  REQUIRE(entries.ok());
  std::map<std::string, std::string> replica_of;
  for (const auto& e : *entries) {
    CHECK(Describe(e) == fmt::format("{}|completed|attempts=1|by={}|exit=0|", e.name, e.claimed_by));
    replica_of[e.name] = e.claimed_by;
  }
  CHECK(replica_of.size() == names.size());
  for (const auto& n : names) {
    auto shown = a->Show(n);
    REQUIRE(shown.ok());
    CHECK(shown->summary.run_index == 1);
  }
  // The tasks' own markers, in the order they were written: per replica, how many had started
  // and not yet ended. Never more than its two workers, and two at the gate.
  auto events = Lines(root / "events.txt");
  CHECK(events.size() == 2 * names.size());
  std::map<std::string, int> started, ended, running, peak;
  for (const auto& line : events) {
    const size_t space = line.find(' ');
    REQUIRE(space != std::string::npos);
    const std::string what = line.substr(0, space), name = line.substr(space + 1);
    REQUIRE(replica_of.count(name));
    const std::string& replica = replica_of[name];
    INFO(line);
    if (what == "start") {
      CHECK(started[name]++ == 0);
      peak[replica] = std::max(peak[replica], ++running[replica]);
    } else {
      CHECK(what == "end");
      CHECK(started[name] == 1);
      CHECK(ended[name]++ == 0);
      --running[replica];
    }
  }
  CHECK(peak == std::map<std::string, int>{{"A", 2}, {"B", 2}});
  for (const auto& n : names) {
    INFO(n);
    CHECK(started[n] == 1);
    CHECK(ended[n] == 1);
  }
}

TEST_CASE("pg task runner: RunNow through A while A's workers are busy runs the task at once and once, on A, and "
          "a task queued or running is refused in the local runner's words",
          "[pg][pg_task_runner]") {
  RUNICORN_PG_TEST_SERVER(server);
  const std::string conninfo = server.NewDatabase();
  TempDir dir;
  const fs::path root = dir.path();
  MakeTasks(root, {"gate_1", "gate_2", "gate_3"}, "while [ ! -e go ]; do sleep 0.05; done\n");
  MakeTasks(root, {"now", "waiting"}, kRecordRun);
  auto observer = OpenQueue(conninfo, "observer");
  auto a = Replica(OpenQueue(conninfo, "A"), root, 2);
  REQUIRE(a->StartRunner().ok());
  REQUIRE(a->Run({"gate_1", "gate_2"}, 1).ok());
  REQUIRE(WaitUntil([&] { return QueueStates(*observer, root)["running@A"] == 2; }));
  // B is idle and asks the queue every 250 ms: it must never get the task A runs now.
  auto b = Replica(OpenQueue(conninfo, "B"), root, 1);
  REQUIRE(b->StartRunner().ok());

  runtrack::Status now = a->RunNow("now");
  INFO(now.ToString());
  REQUIRE(now.ok());
  REQUIRE(WaitUntil([&] { return Entry(*observer, root, "now")->state == "completed"; }));
  CHECK(Describe(*Entry(*observer, root, "now")) == "now|completed|attempts=1|by=A|exit=0|");
  CHECK(Lines(root / "ran.txt") == std::vector<std::string>{"now 1"});
  // A's two workers were held by the gates all along: it ran outside the pool.
  CHECK(FolderStatus(root, "gate_1") == "running");
  CHECK(FolderStatus(root, "gate_2") == "running");
  auto shown = b->Show("now");
  REQUIRE(shown.ok());
  CHECK(shown->summary.status == TaskStatus::kCompleted);
  CHECK(shown->summary.run_index == 1);

  // Running here, running under another replica: the local runner's refusals.
  runtrack::Status here = a->RunNow("gate_1");
  CHECK(here.code() == StatusCode::kFailedPrecondition);
  CHECK(here.message() == "task 'gate_1' is already queued or running here");
  const std::string a_runner = FolderField(root, "gate_1", "runner_id");
  REQUIRE_FALSE(a_runner.empty());
  runtrack::Status there = b->RunNow("gate_1");
  CHECK(there.code() == StatusCode::kFailedPrecondition);
  CHECK(there.message() == "task 'gate_1' is already running (runner " + a_runner + ")");
  // Waiting in the queue (every worker busy: B's takes gate_3): refused, and left waiting there.
  REQUIRE(b->Run({"gate_3"}, 1).ok());
  REQUIRE(WaitUntil([&] { return QueueStates(*observer, root)["running@B"] == 1; }));
  auto waiting = b->Run({"waiting"}, 1);
  REQUIRE(waiting.ok());
  CHECK(waiting->queued == std::vector<std::string>{"waiting"});
  const fs::path waiting_info = root / "_pyruns_" / "_shell_" / "tasks" / "waiting" / "task_info.json";
  const std::string before = Slurp(waiting_info);
  for (auto* svc : {a.get(), b.get()}) {
    runtrack::Status queued = svc->RunNow("waiting");
    CHECK(queued.code() == StatusCode::kFailedPrecondition);
    CHECK(queued.message() == "task 'waiting' is already queued (runner unknown)");
  }
  CHECK(Describe(*Entry(*observer, root, "waiting")) == "waiting|queued|attempts=0|by=|exit=-|");
  CHECK(boost::json::parse(Slurp(waiting_info)) == boost::json::parse(before));

  std::ofstream(root / "go") << "go";
  REQUIRE(WaitUntil([&] { return QueueStates(*observer, root) == std::map<std::string, int>{{"completed", 5}}; }));
  auto ran = Lines(root / "ran.txt");
  std::sort(ran.begin(), ran.end());
  CHECK(ran == std::vector<std::string>{"now 1", "waiting 1"});
  CHECK(Describe(*Entry(*observer, root, "now")) == "now|completed|attempts=1|by=A|exit=0|");
}

TEST_CASE("pg task runner: a cancel sent through replica B stops the task RunNow started on A",
          "[pg][pg_task_runner]") {
  RUNICORN_PG_TEST_SERVER(server);
  const std::string conninfo = server.NewDatabase();
  TempDir dir;
  const fs::path root = dir.path();
  MakeTasks(root, {"slow"}, "echo started\nsleep 60\n");
  auto a = Replica(OpenQueue(conninfo, "A"), root, 2);
  auto b = Replica(OpenQueue(conninfo, "B"), root, 2);
  REQUIRE(a->StartRunner().ok());
  REQUIRE(b->StartRunner().ok());
  REQUIRE(a->RunNow("slow").ok());
  REQUIRE(WaitUntil([&] { return FolderStatus(root, "slow") == "running"; }));
  auto observer = OpenQueue(conninfo, "observer");
  CHECK(Describe(*Entry(*observer, root, "slow")) == "slow|running|attempts=1|by=A|exit=-|");

  CheckCancelRequestCarriedOut(*b, *observer, root, "A");
}

TEST_CASE("pg task runner: RunNow while PostgreSQL is unreachable is Busy (503) and leaves the folder as it was",
          "[pg][pg_task_runner]") {
  PgTestServer pg;  // its own server: this case stops it
  RUNICORN_PG_REQUIRE_AVAILABLE(pg);
  const std::string conninfo = pg.NewDatabase();
  TempDir dir;
  const fs::path root = dir.path();
  MakeTasks(root, {"t"}, kRecordRun);
  auto a = Replica(OpenQueue(conninfo, "A"), root, 2);
  REQUIRE(a->StartRunner().ok());
  const fs::path info_path = root / "_pyruns_" / "_shell_" / "tasks" / "t" / "task_info.json";
  const std::string before = Slurp(info_path);
  pid_t postmaster = PostmasterPidOf(pg);
  REQUIRE(postmaster > 0);
  REQUIRE(::kill(postmaster, SIGINT) == 0);  // fast shutdown
  REQUIRE(WaitUntil([&] { return ::kill(postmaster, 0) != 0; }));

  for (int attempt = 0; attempt < 2; ++attempt) {  // the second: the name was not left reserved
    runtrack::Status s = a->RunNow("t");
    INFO(s.ToString());
    CHECK(s.code() == StatusCode::kBusy);
    CHECK(s.message().rfind("the task queue (PostgreSQL) is unavailable, retry later: postgresql:", 0) == 0);
  }
  CHECK(boost::json::parse(Slurp(info_path)) == boost::json::parse(before));
  CHECK(FolderStatus(root, "t") == "pending");
  CHECK_FALSE(fs::exists(root / "ran.txt"));
}

TEST_CASE("pg task runner: runicorn viewer --task-workers 2 runs two tasks of the shared queue at once, and a "
          "bad count is a usage error",
          "[pg][pg_task_runner]") {
  RUNICORN_PG_TEST_SERVER(server);
  const std::string conninfo = server.NewDatabase();
  TempDir dir;
  const fs::path root = dir.path() / "project";
  fs::create_directories(root);
  {
    RunicornProcess bad("viewer", {"--storage", (dir.path() / "store").string(), "--port", "0", "--task-workers", "33"},
                        {}, dir.path());
    CHECK(bad.WaitExit() == 2);
    CHECK(bad.err().find("runicorn viewer: --task-workers must be an integer in [1, 32]") != std::string::npos);
  }
  MakeTasks(root, {"g1", "g2", "g3"}, kGatedRun);
  RunicornProcess viewer("viewer",
                         {"--storage", (dir.path() / "store").string(), "--port", "0", "--catalog", conninfo,
                          "--tasks-root", root.string(), "--task-workers", "2"},
                         {}, dir.path());
  int port = viewer.WaitForPort();
  INFO(viewer.err());
  REQUIRE(port > 0);
  std::smatch m;
  std::string out = viewer.out();
  REQUIRE(std::regex_search(out, m, std::regex(R"(need the token: http://\S+\?token=(\S+))")));
  const std::string token = m[1];
  HttpClient c(static_cast<uint16_t>(port));
  auto batch = c.Post("/api/tasks/batch/run", R"({"task_names":["g1","g2","g3"]})", {{"Authorization", "Bearer " + token}});
  INFO(batch.body);
  REQUIRE(batch.status == 200);
  // Two workers: two run, the third waits for one of them.
  auto observer = OpenQueue(conninfo, "observer");
  REQUIRE(WaitUntil([&] { return Lines(root / "events.txt").size() == 2; }));
  auto states = QueueStates(*observer, root);
  REQUIRE(states.size() == 2);
  CHECK(states["queued"] == 1);
  CHECK(states.rbegin()->second == 2);  // "running@<the viewer's replica id>"
  CHECK(states.rbegin()->first.rfind("running@", 0) == 0);
  std::ofstream(root / "go") << "go";
  REQUIRE(WaitUntil([&] { return QueueStates(*observer, root) == std::map<std::string, int>{{"completed", 3}}; }));
  CHECK(Lines(root / "events.txt").size() == 6);
}

#endif  // RUNICORN_HAVE_PG
