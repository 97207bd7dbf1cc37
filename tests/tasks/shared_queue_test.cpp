// The runner on a shared queue (runtrack/task_queue.h), with an in-memory queue standing in for
// PostgreSQL (tests/pg/task_runner_queue_test.cpp runs the real one): what the folder holds when
// the queue refuses, and what the runner reports to the queue.
#include <catch2/catch.hpp>

#include <deque>
#include <map>
#include <mutex>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "runtrack/task_queue.h"
#include "runtrack/tasks.h"
#include "tasks/task_test_util.h"
#include "test_support.h"

using runtrack::testing::ReadText;
using runtrack::testing::TempDir;
using runtrack::testing::WaitUntil;
namespace fs = std::filesystem;

namespace {

// FIFO, one process; `refuse` makes Submit fail as an unreachable queue does, `skip` names a task
// Submit reports as already live.
class FakeQueue final : public runtrack::SharedTaskQueue {
 public:
  runtrack::Result<runtrack::SubmitReport> Submit(const std::vector<runtrack::SharedTaskSubmission>& tasks) override {
    std::lock_guard lock(mu_);
    if (refuse) return runtrack::Status::Busy("the queue is unreachable");
    runtrack::SubmitReport r;
    for (const auto& t : tasks) {
      if (t.name == skip) {
        r.skipped.emplace_back(t.name, runtrack::Status::FailedPrecondition(fmt::format("task '{}' is live there", t.name)));
        continue;
      }
      waiting_.push_back(t.name);
      r.queued.push_back(t.name);
    }
    return r;
  }
  runtrack::Result<std::optional<runtrack::SharedTaskClaim>> ClaimNext() override {
    std::lock_guard lock(mu_);
    if (waiting_.empty()) return std::optional<runtrack::SharedTaskClaim>();
    runtrack::SharedTaskClaim c{waiting_.front(), ++ids_, 7, 1};
    waiting_.pop_front();
    events.push_back("claim " + c.name);
    return std::optional<runtrack::SharedTaskClaim>(c);
  }
  runtrack::Status Start(const runtrack::SharedTaskClaim& c) override { return Record("start " + c.name); }
  runtrack::Status Finish(const runtrack::SharedTaskClaim& c, std::string_view status, std::optional<int> exit_code,
                          std::string_view reason) override {
    return Record(fmt::format("finish {} {} {} {}", c.name, status, exit_code ? std::to_string(*exit_code) : "-", reason));
  }
  runtrack::Status Release(const runtrack::SharedTaskClaim& c) override { return Record("release " + c.name); }
  runtrack::Result<runtrack::CancelOutcome> Cancel(std::string_view name) override {
    return runtrack::Status::NotFound(fmt::format("task '{}' is not in the queue", name));
  }
  runtrack::Result<bool> CancelRequested(const runtrack::SharedTaskClaim&) override { return false; }
  runtrack::Status SetOrder(std::string_view, std::optional<int64_t>) override { return runtrack::Status::Ok(); }
  runtrack::Result<runtrack::SharedQueueRecovery> RecoverAbandoned() override { return runtrack::SharedQueueRecovery{}; }

  std::vector<std::string> Events() {
    std::lock_guard lock(mu_);
    return events;
  }

  bool refuse = false;
  std::string skip;
  std::vector<std::string> events;  // guarded by mu_

 private:
  runtrack::Status Record(std::string e) {
    std::lock_guard lock(mu_);
    events.push_back(std::move(e));
    return runtrack::Status::Ok();
  }
  std::mutex mu_;
  std::deque<std::string> waiting_;
  int64_t ids_ = 0;
};

void MakeShellTask(runtrack::Workspace& ws, const std::string& name, const std::string& script) {
  runtrack::CreateTasksOptions o;
  o.name_prefix = name;
  o.append_timestamp = false;
  o.shell_text = script;
  auto created = ws.CreateTasks(o);
  REQUIRE(created.ok());
}

boost::json::value Info(runtrack::Workspace& ws, const std::string& name) {
  return boost::json::parse(ReadText(ws.dir() / "tasks" / name / "task_info.json"));
}

}  // namespace

TEST_CASE("shared queue: a refused submit leaves every folder as it was", "[tasks][shared_queue]") {
  TempDir dir;
  auto ws = runtrack::Workspace::OpenShell(dir.path());
  REQUIRE(ws.ok());
  MakeShellTask(**ws, "a", "true\n");
  MakeShellTask(**ws, "b", "true\n");
  const auto before_a = Info(**ws, "a"), before_b = Info(**ws, "b");
  auto queue = std::make_shared<FakeQueue>();
  queue->refuse = true;
  runtrack::TaskRunnerOptions o;
  o.shared_queue = queue;
  auto runner = runtrack::TaskRunner::Start(**ws, o);
  REQUIRE(runner.ok());
  auto r = (*runner)->Submit({"a", "b"});
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().ToString() == runtrack::Status::Busy("the queue is unreachable").ToString());
  CHECK(Info(**ws, "a") == before_a);
  CHECK(Info(**ws, "b") == before_b);
  auto t = (*ws)->GetTask("a");
  REQUIRE(t.ok());
  CHECK(t->status == runtrack::TaskStatus::kPending);
  CHECK(queue->Events().empty());
  // RunNow would bypass the queue: refused.
  CHECK((*runner)->RunNow("a").code() == runtrack::StatusCode::kFailedPrecondition);
}

TEST_CASE("shared queue: a task the queue skips is put back and reported, the others run and are finished there",
          "[tasks][shared_queue]") {
  TempDir dir;
  auto ws = runtrack::Workspace::OpenShell(dir.path());
  REQUIRE(ws.ok());
  MakeShellTask(**ws, "ok", "true\n");
  MakeShellTask(**ws, "bad", "exit 3\n");
  MakeShellTask(**ws, "live", "true\n");
  const auto before_live = Info(**ws, "live");
  auto queue = std::make_shared<FakeQueue>();
  queue->skip = "live";
  runtrack::TaskRunnerOptions o;
  o.shared_queue = queue;
  o.shared_queue_poll = std::chrono::milliseconds(20);
  auto runner = runtrack::TaskRunner::Start(**ws, o);
  REQUIRE(runner.ok());
  auto r = (*runner)->Submit({"ok", "bad", "live", "ok"});
  REQUIRE(r.ok());
  CHECK(r->queued == std::vector<std::string>{"ok", "bad"});
  REQUIRE(r->skipped.size() == 2);
  // The folder's refusals first, then the queue's.
  CHECK(r->skipped[0].first == "ok");
  CHECK(r->skipped[0].second.message() == "task 'ok' is named twice");
  CHECK(r->skipped[1].first == "live");
  CHECK(r->skipped[1].second.message() == "task 'live' is live there");
  CHECK(Info(**ws, "live") == before_live);
  REQUIRE(WaitUntil([&] { return queue->Events().size() == 6; }));
  CHECK(queue->Events() == std::vector<std::string>{"claim ok", "start ok", "finish ok completed 0 ",
                                                    "claim bad", "start bad", "finish bad failed 3 exit_code 3"});
  REQUIRE((*runner)->WaitIdle(std::chrono::seconds(30)).ok());
  auto ok = (*ws)->ReadTaskInfo("ok");
  REQUIRE(ok.ok());
  CHECK(ok->at("status").as_string() == "completed");
  CHECK_FALSE(ok->contains("runicorn_shared_queue"));
  CHECK((*ws)->GetTask("bad")->status == runtrack::TaskStatus::kFailed);
}

TEST_CASE("shared queue: a waiting task is left to the queue by the folder's reconcile and by a local runner",
          "[tasks][shared_queue]") {
  TempDir dir;
  auto ws = runtrack::Workspace::OpenShell(dir.path());
  REQUIRE(ws.ok());
  MakeShellTask(**ws, "w", "true\n");
  // Mark it as a submit does, by hand: queued, marked, owned by no runner.
  auto info = Info(**ws, "w").as_object();
  info["status"] = "queued";
  info["runicorn_shared_queue"] = true;
  runtrack::testing::WriteText((*ws)->dir() / "tasks" / "w" / "task_info.json", boost::json::serialize(info));
  runtrack::TaskListQuery rescan;
  rescan.rescan = true;
  REQUIRE((*ws)->ListTasks(rescan).ok());
  auto rec = (*ws)->ReconcileAbandonedTasks();
  REQUIRE(rec.ok());
  CHECK(rec->cancelled.empty());
  CHECK(rec->failed.empty());
  CHECK((*ws)->GetTask("w")->status == runtrack::TaskStatus::kQueued);
  // A runner without the queue cannot queue it a second time.
  runtrack::TaskRunnerOptions local;
  auto runner = runtrack::TaskRunner::Start(**ws, local);
  REQUIRE(runner.ok());
  auto r = (*runner)->Submit({"w"});
  REQUIRE(r.ok());
  REQUIRE(r->skipped.size() == 1);
  CHECK(r->skipped[0].second.message() == "task 'w' is already queued (runner unknown)");
}
