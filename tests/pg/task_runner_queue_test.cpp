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

// One replica: a TaskService whose runner takes the shell workspace's tasks from the queue.
std::unique_ptr<TaskService> Replica(std::shared_ptr<PgTaskQueue> queue, const fs::path& root) {
  TaskServiceOptions o;
  o.project_root = root;
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
  auto cancelled = a->Cancel("slow");
  INFO(cancelled.status().ToString());
  REQUIRE(cancelled.ok());
  CHECK(*cancelled == CancelOutcome::kRequested);
  REQUIRE(WaitUntil([&] { return FolderStatus(root, "slow") == "cancelled"; }));
  auto observer = OpenQueue(conninfo, "observer");
  REQUIRE(WaitUntil([&] { return Entry(*observer, root, "slow")->state == "cancelled"; }));
  auto entry = Entry(*observer, root, "slow");
  CHECK(Describe(*entry) == "slow|cancelled|attempts=1|by=B|exit=-15|cancelled_by_user");
  CHECK(entry->cancel_requested);
  const fs::path task = root / "_pyruns_" / "_shell_" / "tasks" / "slow";
  CHECK(Slurp(task / "run_logs" / "error.log").find("reason=cancelled_by_user") != std::string::npos);
  CHECK(Slurp(task / "run_logs" / "run1.log").find("[PYRUNS] Final status: cancelled") != std::string::npos);
  // Over: cancelling again is refused with the local runner's words.
  auto twice = a->Cancel("slow");
  CHECK(twice.status().code() == StatusCode::kFailedPrecondition);
  CHECK(twice.status().message() == "task 'slow' is cancelled; only queued or running tasks can be cancelled");
}

TEST_CASE("pg task runner: PostgreSQL unreachable at submit is Busy (503) and leaves the folder as it was",
          "[pg][pg_task_runner]") {
  PgTestServer pg;  // its own server: this case stops it
  if (!pg.available()) {
    const char* require = std::getenv("RUNICORN_REQUIRE_PG");
    if (require != nullptr && std::string(require) == "1") FAIL(pg.unavailable_reason());
    WARN("SKIPPED: " << pg.unavailable_reason());
    return;
  }
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

#endif  // RUNICORN_HAVE_PG
