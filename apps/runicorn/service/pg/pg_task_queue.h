// The task queue shared by viewer replicas on one PostgreSQL (docs/SCALE-OUT.md "Users, tokens and
// tasks on PostgreSQL"): tasks submitted through any replica are rows of `task_queue`; each
// replica's runner claims the next runnable one with `SELECT … FOR UPDATE SKIP LOCKED` inside one
// short UPDATE statement (its own transaction) that marks it claimed by that replica, so two
// claimers never get the same task and neither waits for the other's row lock.
//
// Order: as the local runner (lib/tasks/task_runner.cpp) — tasks with a manual order (`task_order`,
// Pyruns' reorder) first, lowest first; then the rest; FIFO (submission order) among equals.
//
// Lifecycle of an entry: queued → claimed (ClaimNext), or entered claimed (SubmitClaimed) → running (Start) → completed | failed |
// cancelled (Finish); claimed → queued again (Release: the runner could not start it); queued →
// cancelled (Cancel); claimed | running → cancel_requested set (Cancel; the claimer's runner polls
// CancelRequested and acts). A task name is live (queued, claimed or running) at most once per
// workspace; a finished one may be submitted again (a new entry: a rerun).
//
// Dead replicas: each PgTaskQueue keeps one PostgreSQL session for its lifetime (the presence
// session) holding a session-level advisory lock pg_advisory_lock(kPresenceLockClass, key) with a
// random key, and every claim records that key. When the replica dies its session ends and
// PostgreSQL releases the lock at once — no lease to wait out, no clock, no pid reuse.
// RecoverAbandoned() (any replica; run it at start and periodically) finds claimed/running entries
// whose lock nobody holds: a claimed one never started, so it is queued again (or cancelled, when
// a cancel was requested); a running one is marked `lost` (reason runner_lost), not rerun — its
// process may have had effects, which is what the local runner does with a dead runner's task
// (running → failed runner_lost). A replica whose presence session broke gets a new key on its next
// call; its older claims are then recoverable by anyone, and its own Start/Finish of such a claim
// answers FailedPrecondition once it was recovered (never overwriting the recovered state).
//
// Thread safety: every method may be called from any number of threads; writes of one instance go
// through its presence session one at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "runtrack/status.h"
#include "runtrack/tasks.h"
#include "service/pg/pg_connection.h"
#include "service/pg/pg_presence.h"

namespace runicorn::service::pg {

// The advisory-lock class of presence locks (the first int of the two-int form, which PostgreSQL
// keeps apart from the one-bigint form: objsubid 2 vs 1). "tq".
inline constexpr int32_t kPresenceLockClass = 0x7471;

struct TaskSubmission {
  std::string name;                   // runtrack::CheckTaskName
  std::string spec = "{}";            // a JSON object the runner needs (opaque to the queue)
  std::optional<int64_t> task_order;  // manual order: lower first; nullopt after every ordered task
};

struct TaskQueueSubmitReport {
  std::vector<std::string> queued;                                // in submission order
  std::vector<std::pair<std::string, runtrack::Status>> skipped;  // with the reason
};

struct TaskClaim {
  int64_t id = 0;
  std::string workspace;
  std::string name;
  std::string spec;  // JSON text
  int attempts = 0;  // claims of this entry so far, this one included
  int32_t claim_key = 0;
};

struct TaskQueueEntry {
  int64_t id = 0;
  std::string workspace;
  std::string name;
  std::string spec;
  std::optional<int64_t> task_order;
  std::string state;  // queued claimed running completed failed cancelled lost
  std::string submitted_by;
  double submitted_at = 0;
  std::string claimed_by;  // replica id; kept after the end ("" if never claimed)
  std::optional<double> claimed_at, started_at, finished_at;
  std::optional<int> exit_code;
  int attempts = 0;
  std::string reason;
  bool cancel_requested = false;
};

struct TaskRecoveryReport {
  std::vector<std::string> requeued;   // claimed, never started: queued again
  std::vector<std::string> cancelled;  // claimed with a cancel request: cancelled
  std::vector<std::string> lost;       // running: marked lost
};

class PgTaskQueue {
 public:
  // `replica_id` names this replica in claimed_by (e.g. "host:pid"); "" makes one from the host
  // name and pid. Connects, brings the schema to the newest version and takes the presence lock.
  static runtrack::Result<std::unique_ptr<PgTaskQueue>> Open(const std::string& conninfo,
                                                             std::string replica_id = "");
  // Releases the presence lock and ends the session: what this instance still has claimed is
  // recoverable by any replica once this returns.
  ~PgTaskQueue();
  PgTaskQueue(const PgTaskQueue&) = delete;
  PgTaskQueue& operator=(const PgTaskQueue&) = delete;

  // Queues each task of `workspace` (1..4096 bytes, no control characters). A name already live
  // in the workspace is skipped with FailedPrecondition "task 'x' is already queued or running";
  // InvalidArgument (nothing queued) for a bad workspace, name or spec.
  runtrack::Result<TaskQueueSubmitReport> Submit(std::string_view workspace,
                                                 const std::vector<TaskSubmission>& tasks);
  // The next runnable task of `workspace`, now claimed by this replica; nullopt when none.
  runtrack::Result<std::optional<TaskClaim>> ClaimNext(std::string_view workspace);
  // Enters one task already claimed by this replica (RunNow: it runs here at once): one INSERT,
  // so the entry is never queued and no other replica can claim it. attempts is 1, submitted_by
  // and claimed_by this replica. FailedPrecondition "task 'x' is already queued or running" when
  // the name is live in the workspace (nothing changed); InvalidArgument as Submit.
  runtrack::Result<TaskClaim> SubmitClaimed(std::string_view workspace, const TaskSubmission& task);
  // claimed → running.
  runtrack::Status Start(const TaskClaim& claim);
  // claimed | running → `status` (completed, failed or cancelled), with the exit code and reason.
  runtrack::Status Finish(const TaskClaim& claim, std::string_view status, std::optional<int> exit_code,
                          std::string_view reason = {});
  // claimed → queued (the runner could not start it: shutting down, no GPU slot). Keeps its rank.
  runtrack::Status Release(const TaskClaim& claim);
  // Queued → cancelled (kCancelled); claimed or running → cancel requested (kRequested: the
  // claimer acts). FailedPrecondition "task 'x' is <state>; only queued or running tasks can be
  // cancelled"; NotFound "task 'x' is not in the queue".
  runtrack::Result<runtrack::CancelOutcome> Cancel(std::string_view workspace, std::string_view name);
  // Whether a cancel was asked for this claim's entry (the claimer polls it).
  runtrack::Result<bool> CancelRequested(const TaskClaim& claim) const;
  // The manual order of a queued task (nullopt: none). FailedPrecondition unless queued.
  runtrack::Status SetOrder(std::string_view workspace, std::string_view name, std::optional<int64_t> task_order);
  // Every entry of `workspace`: live ones in claim order, then finished ones newest first.
  runtrack::Result<std::vector<TaskQueueEntry>> List(std::string_view workspace) const;
  // The newest entry of a task, or nullopt.
  runtrack::Result<std::optional<TaskQueueEntry>> Get(std::string_view workspace, std::string_view name) const;
  // Requeues / cancels / marks lost what dead replicas had claimed (see above), in every workspace.
  runtrack::Result<TaskRecoveryReport> RecoverAbandoned();

  const std::string& replica_id() const { return replica_id_; }
  // The presence session's backend pid (diagnostics; tests end it with pg_terminate_backend).
  int presence_backend_pid() const;

 private:
  PgTaskQueue(std::string conninfo, std::string replica_id);
  // Opens the presence session with a fresh key when there is none or it broke. Under mu_.
  runtrack::Status EnsurePresence();
  // One write on the presence session (reconnected first if needed). Under mu_.
  runtrack::Result<PgResult> Write(std::string_view sql, const PgParams& params);
  // The same with parameters made after the session is sure (they may name its key).
  runtrack::Result<PgResult> WriteWith(std::string_view sql, const std::function<PgParams()>& params);

  const std::string replica_id_;
  mutable PgPool readers_;
  mutable std::mutex mu_;
  PgPresence presence_;  // under mu_
};

}  // namespace runicorn::service::pg
