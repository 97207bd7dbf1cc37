// The task queue shared by replicas on one PostgreSQL (service/pg/pg_task_queue.h): the local
// runner's order, claims that concurrent claimers never share, recovery of a dead replica's
// claims, cancel, and what is refused.
#ifdef RUNICORN_HAVE_PG
#include <algorithm>
#include <set>
#include <thread>

#include "pg/pg_test_support.h"
#include "service/pg/pg_task_queue.h"

using namespace runicorn::testing;
using runicorn::service::pg::PgConnection;
using runicorn::service::pg::PgTaskQueue;
using runicorn::service::pg::TaskClaim;
using runicorn::service::pg::TaskSubmission;
using runtrack::CancelOutcome;
using runtrack::StatusCode;

namespace {

constexpr const char* kWs = "/projects/p/_pyruns_/train";

std::unique_ptr<PgTaskQueue> OpenQueue(const std::string& conninfo, const std::string& replica) {
  REQUIRE_FALSE(conninfo.empty());
  auto q = PgTaskQueue::Open(conninfo, replica);
  INFO(q.status().ToString());
  REQUIRE(q.ok());
  return std::move(q).value();
}

TaskClaim Claim(PgTaskQueue& q, const std::string& ws = kWs) {
  auto c = q.ClaimNext(ws);
  INFO(c.status().ToString());
  REQUIRE(c.ok());
  REQUIRE(c->has_value());
  return **c;
}

std::string StateOf(PgTaskQueue& q, const std::string& name) {
  auto e = q.Get(kWs, name);
  REQUIRE(e.ok());
  REQUIRE(e->has_value());
  return fmt::format("{}|{}|attempts={}|by={}|{}", (*e)->name, (*e)->state, (*e)->attempts, (*e)->claimed_by,
                     (*e)->reason);
}

std::vector<TaskSubmission> Named(const std::vector<std::string>& names) {
  std::vector<TaskSubmission> out;
  for (const auto& n : names) out.push_back({n, "{}", std::nullopt});
  return out;
}

}  // namespace

TEST_CASE("pg tasks: claims follow the local runner's order, manual order first, then FIFO", "[pg][tasks]") {
  RUNICORN_PG_TEST_SERVER(server);
  auto q = OpenQueue(server.NewDatabase(), "r1");
  auto report = q->Submit(kWs, {{"a", R"({"cmd":["python","a.py"]})", std::nullopt},
                                {"b", "{}", std::nullopt},
                                {"c", "{}", 5},
                                {"d", "{}", std::nullopt},
                                {"e", "{}", 1}});
  REQUIRE(report.ok());
  CHECK(report->queued == std::vector<std::string>{"a", "b", "c", "d", "e"});
  CHECK(report->skipped.empty());
  // Reordering a queued task counts (Pyruns' reorder): d goes first.
  REQUIRE(q->SetOrder(kWs, "d", 0).ok());
  // Another workspace's task is never claimed here.
  REQUIRE(q->Submit("/other/ws", Named({"z"})).ok());
  std::vector<std::string> order;
  for (int i = 0; i < 5; ++i) order.push_back(Claim(*q).name);
  CHECK(order == std::vector<std::string>{"d", "e", "c", "a", "b"});
  auto none = q->ClaimNext(kWs);
  REQUIRE(none.ok());
  CHECK_FALSE(none->has_value());
  auto entry = q->Get(kWs, "a");
  REQUIRE(entry.ok());
  CHECK((*entry)->spec == R"({"cmd": ["python", "a.py"]})");  // jsonb's text form
  CHECK((*entry)->state == "claimed");
  CHECK((*entry)->claimed_by == "r1");
  CHECK((*entry)->submitted_by == "r1");
}

TEST_CASE("pg tasks: a task's lifecycle, resubmission and refusals", "[pg][tasks]") {
  RUNICORN_PG_TEST_SERVER(server);
  auto q = OpenQueue(server.NewDatabase(), "r1");
  REQUIRE(q->Submit(kWs, Named({"t1"})).ok());
  auto again = q->Submit(kWs, Named({"t1", "t2"}));
  REQUIRE(again.ok());
  CHECK(again->queued == std::vector<std::string>{"t2"});
  REQUIRE(again->skipped.size() == 1);
  CHECK(again->skipped[0].first == "t1");
  CHECK(again->skipped[0].second.ToString() == "failed_precondition: task 't1' is already queued or running");

  TaskClaim c = Claim(*q);
  CHECK(c.name == "t1");
  CHECK(c.attempts == 1);
  CHECK(StateOf(*q, "t1") == "t1|claimed|attempts=1|by=r1|");
  CHECK(q->SetOrder(kWs, "t1", 3).ToString() ==
        "failed_precondition: task 't1' is claimed; only queued tasks can be reordered");
  REQUIRE(q->Start(c).ok());
  CHECK(q->Start(c).ToString().rfind("failed_precondition: task 't1' is no longer claimed by this replica", 0) == 0);
  CHECK(q->Finish(c, "done", 0).ToString() ==
        "invalid_argument: a finished task is completed, failed or cancelled, not 'done'");
  REQUIRE(q->Finish(c, "failed", 3, "exit_code 3").ok());
  auto e = q->Get(kWs, "t1");
  REQUIRE(e.ok());
  CHECK((*e)->state == "failed");
  CHECK((*e)->exit_code == 3);
  CHECK((*e)->reason == "exit_code 3");
  CHECK((*e)->started_at.has_value());
  CHECK((*e)->finished_at.has_value());
  CHECK(q->Finish(c, "completed", 0).code() == StatusCode::kFailedPrecondition);
  // Finished: it may be submitted again (a rerun is a new entry).
  auto rerun = q->Submit(kWs, Named({"t1"}));
  REQUIRE(rerun.ok());
  CHECK(rerun->queued == std::vector<std::string>{"t1"});
  CHECK(StateOf(*q, "t1") == "t1|queued|attempts=0|by=|");

  // Released (could not start): queued again at its old rank, ahead of later submissions.
  TaskClaim t2 = Claim(*q);
  CHECK(t2.name == "t2");
  REQUIRE(q->Release(t2).ok());
  CHECK(Claim(*q).name == "t2");

  // Bad input: nothing is queued.
  CHECK(q->Submit(kWs, Named({"ok", "../escape"})).status().code() == StatusCode::kInvalidArgument);
  CHECK(q->Submit(kWs, {{"ok", "[1, 2]", std::nullopt}}).status().ToString() ==
        "invalid_argument: Invalid task spec: must be a JSON object");
  CHECK(q->Submit("", Named({"ok"})).status().ToString() == "invalid_argument: Invalid task workspace: use 1-4096 bytes");
  CHECK(q->Submit("a\nb", Named({"ok"})).status().ToString() ==
        "invalid_argument: Invalid task workspace: control characters are not allowed");
  auto ok = q->Get(kWs, "ok");
  REQUIRE(ok.ok());
  CHECK_FALSE(ok->has_value());
  // SQL in names is data.
  REQUIRE(q->Submit(kWs, Named({"x'); DROP TABLE task_queue; --"})).ok());
  CHECK(StateOf(*q, "x'); DROP TABLE task_queue; --") == "x'); DROP TABLE task_queue; --|queued|attempts=0|by=|");
}

TEST_CASE("pg tasks: cancel ends a queued task, asks the claimer of a claimed one, refuses the rest", "[pg][tasks]") {
  RUNICORN_PG_TEST_SERVER(server);
  const std::string db = server.NewDatabase();
  auto a = OpenQueue(db, "a");
  auto b = OpenQueue(db, "b");
  REQUIRE(a->Submit(kWs, Named({"first", "second"})).ok());
  TaskClaim first = Claim(*a);
  REQUIRE(a->Start(first).ok());
  auto requested = b->Cancel(kWs, "first");
  REQUIRE(requested.ok());
  CHECK(*requested == CancelOutcome::kRequested);
  auto asked = a->CancelRequested(first);
  REQUIRE(asked.ok());
  CHECK(*asked);
  auto cancelled = b->Cancel(kWs, "second");
  REQUIRE(cancelled.ok());
  CHECK(*cancelled == CancelOutcome::kCancelled);
  CHECK(StateOf(*a, "second") == "second|cancelled|attempts=0|by=|cancelled_by_user");
  REQUIRE(a->Finish(first, "cancelled", -15, "cancelled_by_user").ok());
  CHECK(b->Cancel(kWs, "first").status().ToString() ==
        "failed_precondition: task 'first' is cancelled; only queued or running tasks can be cancelled");
  CHECK(b->Cancel(kWs, "never").status().ToString() == "not_found: task 'never' is not in the queue");
}

TEST_CASE("pg tasks: concurrent claimers never get the same task and together get every task",
          "[pg][tasks][concurrency]") {
  RUNICORN_PG_TEST_SERVER(server);
  const std::string db = server.NewDatabase();
  constexpr int kTasks = 240;
  {
    auto submitter = OpenQueue(db, "submitter");
    std::vector<std::string> names;
    for (int i = 0; i < kTasks; ++i) names.push_back(fmt::format("task-{:03d}", i));
    auto r = submitter->Submit(kWs, Named(names));
    REQUIRE(r.ok());
    REQUIRE(r->queued.size() == kTasks);
  }
  // Four replicas (own sessions) with two threads each, claiming and finishing until empty.
  constexpr int kReplicas = 4, kThreads = 2;
  std::vector<std::unique_ptr<PgTaskQueue>> replicas;
  for (int r = 0; r < kReplicas; ++r) replicas.push_back(OpenQueue(db, fmt::format("replica-{}", r)));
  std::vector<std::vector<TaskClaim>> got(kReplicas * kThreads);
  std::vector<std::string> errors(got.size());
  std::vector<std::thread> threads;
  for (int t = 0; t < kReplicas * kThreads; ++t)
    threads.emplace_back([&, t] {
      PgTaskQueue& q = *replicas[t / kThreads];
      for (;;) {
        auto c = q.ClaimNext(kWs);
        if (!c.ok()) {
          errors[t] = c.status().ToString();
          return;
        }
        if (!c->has_value()) return;
        if (runtrack::Status s = q.Finish(**c, "completed", 0); !s.ok()) {
          errors[t] = s.ToString();
          return;
        }
        got[t].push_back(**c);
      }
    });
  for (auto& t : threads) t.join();
  for (const auto& e : errors) CHECK(e.empty());
  std::multiset<std::string> names;
  std::set<int> replicas_used;
  for (size_t t = 0; t < got.size(); ++t)
    for (const auto& c : got[t]) {
      names.insert(c.name);
      replicas_used.insert(static_cast<int>(t / kThreads));
    }
  CHECK(names.size() == kTasks);  // no task twice ...
  CHECK(std::set<std::string>(names.begin(), names.end()).size() == kTasks);  // ... and every task
  auto list = replicas[0]->List(kWs);
  REQUIRE(list.ok());
  REQUIRE(list->size() == kTasks);
  for (const auto& e : *list) {
    CHECK(e.state == "completed");
    CHECK(e.attempts == 1);
  }
}

TEST_CASE("pg tasks: a task entered claimed (RunNow) is never another replica's, refuses a second entry, and is "
          "recovered like any claim",
          "[pg][tasks]") {
  RUNICORN_PG_TEST_SERVER(server);
  const std::string db = server.NewDatabase();
  auto r1 = OpenQueue(db, "r1");
  auto r2 = OpenQueue(db, "r2");
  auto now = r1->SubmitClaimed(kWs, {"now", "{}", std::nullopt});
  INFO(now.status().ToString());
  REQUIRE(now.ok());
  CHECK(now->name == "now");
  CHECK(now->workspace == kWs);
  CHECK(now->attempts == 1);
  CHECK(StateOf(*r1, "now") == "now|claimed|attempts=1|by=r1|");
  auto entry = r1->Get(kWs, "now");
  REQUIRE(entry.ok());
  CHECK((*entry)->submitted_by == "r1");
  CHECK((*entry)->claimed_at == std::optional<double>((*entry)->submitted_at));
  // Never queued: another replica's claim does not see it.
  auto none = r2->ClaimNext(kWs);
  REQUIRE(none.ok());
  CHECK_FALSE(none->has_value());
  // Live: a second entry is refused either way, and nothing changes.
  CHECK(r2->SubmitClaimed(kWs, {"now", "{}", std::nullopt}).status().ToString() ==
        "failed_precondition: task 'now' is already queued or running");
  auto queued = r2->Submit(kWs, Named({"now"}));
  REQUIRE(queued.ok());
  CHECK(queued->queued.empty());
  REQUIRE(queued->skipped.size() == 1);
  CHECK(queued->skipped[0].second.ToString() == "failed_precondition: task 'now' is already queued or running");
  CHECK(StateOf(*r1, "now") == "now|claimed|attempts=1|by=r1|");
  // A cancel is a request to its claimer, as for a ClaimNext claim.
  auto asked = r2->Cancel(kWs, "now");
  REQUIRE(asked.ok());
  CHECK(*asked == CancelOutcome::kRequested);
  auto requested = r1->CancelRequested(*now);
  REQUIRE(requested.ok());
  CHECK(*requested);
  // Its claimer starts and finishes it: one run in the record.
  REQUIRE(r1->Start(*now).ok());
  CHECK(StateOf(*r1, "now") == "now|running|attempts=1|by=r1|");
  REQUIRE(r1->Finish(*now, "cancelled", -15, "cancelled_by_user").ok());
  CHECK(StateOf(*r1, "now") == "now|cancelled|attempts=1|by=r1|cancelled_by_user");

  // Finished: it may be entered again (a rerun is a new entry). Its replica goes away before
  // starting it: the claim is queued again for anyone, as a ClaimNext claim would be.
  auto rerun = r2->SubmitClaimed(kWs, {"now", "{}", 4});
  REQUIRE(rerun.ok());
  CHECK(rerun->id != now->id);
  CHECK(StateOf(*r1, "now") == "now|claimed|attempts=1|by=r2|");
  r2.reset();  // releases its presence lock
  auto recovered = r1->RecoverAbandoned();
  REQUIRE(recovered.ok());
  CHECK(recovered->requeued == std::vector<std::string>{"now"});
  CHECK(StateOf(*r1, "now") == "now|queued|attempts=1|by=|");
  TaskClaim taken = Claim(*r1);
  CHECK(taken.name == "now");
  CHECK(taken.id == rerun->id);
  CHECK(taken.attempts == 2);

  // Bad input: nothing is entered.
  CHECK(r1->SubmitClaimed(kWs, {"../escape", "{}", std::nullopt}).status().code() == StatusCode::kInvalidArgument);
  CHECK(r1->SubmitClaimed(kWs, {"ok", "[1, 2]", std::nullopt}).status().ToString() ==
        "invalid_argument: Invalid task spec: must be a JSON object");
  CHECK(r1->SubmitClaimed("", {"ok", "{}", std::nullopt}).status().ToString() ==
        "invalid_argument: Invalid task workspace: use 1-4096 bytes");
  auto ok = r1->Get(kWs, "ok");
  REQUIRE(ok.ok());
  CHECK_FALSE(ok->has_value());
}

TEST_CASE("pg tasks: a dead replica's claimed task is queued again and its running task marked lost",
          "[pg][tasks]") {
  RUNICORN_PG_TEST_SERVER(server);
  const std::string db = server.NewDatabase();
  auto a = OpenQueue(db, "replica-a");
  auto b = OpenQueue(db, "replica-b");
  REQUIRE(a->Submit(kWs, Named({"started", "claimed", "cancel-me", "waiting"})).ok());
  TaskClaim started = Claim(*a);
  TaskClaim claimed = Claim(*a);
  TaskClaim cancel_me = Claim(*a);
  REQUIRE(a->Start(started).ok());
  REQUIRE(b->Cancel(kWs, "cancel-me").ok());

  // While A's session lives nothing is recovered.
  auto nothing = b->RecoverAbandoned();
  INFO(nothing.status().ToString());
  REQUIRE(nothing.ok());
  CHECK(nothing->requeued.empty());
  CHECK(nothing->lost.empty());
  CHECK(nothing->cancelled.empty());

  // A dies: its PostgreSQL session ends (as when the process is killed), releasing its lock.
  const int a_pid = a->presence_backend_pid();
  auto admin = PgConnection::Connect(db);
  REQUIRE(admin.ok());
  auto killed = (*admin)->Exec("SELECT pg_terminate_backend($1)", {std::to_string(a_pid)});
  REQUIRE(killed.ok());
  CHECK(killed->Get(0, 0) == "t");
  // pg_terminate_backend only signals; the lock goes when the backend has exited.
  for (int i = 0; i < 200; ++i) {
    auto left = (*admin)->Exec("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", {std::to_string(a_pid)});
    REQUIRE(left.ok());
    if (left->Get(0, 0) == "0") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  auto recovered = b->RecoverAbandoned();
  REQUIRE(recovered.ok());
  CHECK(recovered->requeued == std::vector<std::string>{"claimed"});
  CHECK(recovered->lost == std::vector<std::string>{"started"});
  CHECK(recovered->cancelled == std::vector<std::string>{"cancel-me"});
  CHECK(StateOf(*b, "started") == "started|lost|attempts=1|by=replica-a|runner_lost");
  CHECK(StateOf(*b, "claimed") == "claimed|queued|attempts=1|by=|");
  CHECK(StateOf(*b, "cancel-me") == "cancel-me|cancelled|attempts=1|by=replica-a|cancelled_by_user");
  // A second recovery finds nothing more.
  auto again = b->RecoverAbandoned();
  REQUIRE(again.ok());
  CHECK(again->requeued.size() + again->lost.size() + again->cancelled.size() == 0);

  // The requeued task keeps its rank (ahead of "waiting") and is claimed by B, a second attempt.
  TaskClaim retry = Claim(*b);
  CHECK(retry.name == "claimed");
  CHECK(retry.attempts == 2);
  // A is still running (only its session died): its late writes are refused, never overwriting.
  CHECK(a->Finish(started, "completed", 0).ToString().rfind(
            "failed_precondition: task 'started' is no longer claimed by this replica", 0) == 0);
  CHECK(a->Start(claimed).code() == StatusCode::kFailedPrecondition);
  CHECK(StateOf(*b, "started") == "started|lost|attempts=1|by=replica-a|runner_lost");
  // ... and it goes on with a new session: a new presence lock, claims that count as alive.
  TaskClaim next = Claim(*a);
  CHECK(next.name == "waiting");
  CHECK(a->presence_backend_pid() != a_pid);
  auto alive = b->RecoverAbandoned();
  REQUIRE(alive.ok());
  CHECK(alive->requeued.empty());
  REQUIRE(a->Start(next).ok());
  REQUIRE(a->Finish(next, "completed", 0).ok());

  // Closing a queue (a replica shutting down) leaves its claims (B's retry) to recovery too.
  b.reset();
  auto after_close = a->RecoverAbandoned();
  REQUIRE(after_close.ok());
  CHECK(after_close->requeued == std::vector<std::string>{"claimed"});
}

#else
#include <catch2/catch.hpp>
TEST_CASE("pg task queue (libpq not found at build time)", "[pg]") { WARN("SKIPPED: built without libpq"); }
#endif
