#include "service/pg/pg_task_queue.h"

#include <unistd.h>

#include <charconv>
#include <chrono>

#include <boost/json/parse.hpp>
#include <fmt/format.h>
#include "runtrack/json_parse.h"

#include "service/pg/pg_run_mirror.h"
#include "service/pg/pg_schema.h"
#include "service/pg/pg_viewer_catalog.h"

namespace runicorn::service::pg {
using runtrack::Result;
using runtrack::Status;

namespace {

constexpr const char* kEntryColumns =
    "id, workspace, name, spec::text, task_order, state, submitted_by, submitted_at, coalesce(claimed_by, ''), "
    "claimed_at, started_at, finished_at, exit_code, attempts, reason, cancel_requested";

// The rank the local runner uses: manually ordered first (lowest first), then FIFO.
constexpr const char* kClaimOrder = "(task_order IS NULL), task_order, id";

// A presence lock is held by a live session of this database. ($1: kPresenceLockClass; the
// two-int form records the class in classid, the key in objid, objsubid 2.)
constexpr const char* kPresenceHeld =
    "EXISTS (SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2"
    " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    " AND l.classid = $1::integer::oid AND l.objid = q.claim_key::oid)";

double NowSeconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

template <typename T>
T Number(std::string_view text) {
  T v{};
  std::from_chars(text.data(), text.data() + text.size(), v);
  return v;
}

double Double(std::string_view text) { return Number<double>(text); }

TaskQueueEntry EntryOf(const PgResult& r, int i) {
  TaskQueueEntry e;
  e.id = Number<int64_t>(r.Get(i, 0));
  e.workspace = std::string(r.Get(i, 1));
  e.name = std::string(r.Get(i, 2));
  e.spec = std::string(r.Get(i, 3));
  if (!r.IsNull(i, 4)) e.task_order = Number<int64_t>(r.Get(i, 4));
  e.state = std::string(r.Get(i, 5));
  e.submitted_by = std::string(r.Get(i, 6));
  e.submitted_at = Double(r.Get(i, 7));
  e.claimed_by = std::string(r.Get(i, 8));
  if (!r.IsNull(i, 9)) e.claimed_at = Double(r.Get(i, 9));
  if (!r.IsNull(i, 10)) e.started_at = Double(r.Get(i, 10));
  if (!r.IsNull(i, 11)) e.finished_at = Double(r.Get(i, 11));
  if (!r.IsNull(i, 12)) e.exit_code = Number<int>(r.Get(i, 12));
  e.attempts = Number<int>(r.Get(i, 13));
  e.reason = std::string(r.Get(i, 14));
  e.cancel_requested = r.Get(i, 15) == "t";
  return e;
}

Status CheckWorkspace(std::string_view workspace) {
  if (workspace.empty() || workspace.size() > 4096)
    return Status::InvalidArgument("Invalid task workspace: use 1-4096 bytes");
  for (char c : workspace)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      return Status::InvalidArgument("Invalid task workspace: control characters are not allowed");
  return Status::Ok();
}

Status CheckSpec(const std::string& spec) {
  boost::system::error_code ec;
  boost::json::value v = runtrack::ParseJson(spec, ec);
  if (ec || !v.is_object()) return Status::InvalidArgument("Invalid task spec: must be a JSON object");
  return Status::Ok();
}

Status NoLongerClaimed(const TaskClaim& claim) {
  return Status::FailedPrecondition(fmt::format(
      "task '{}' is no longer claimed by this replica (finished, released, or recovered after this replica's "
      "PostgreSQL session was lost)",
      claim.name));
}

}  // namespace

Result<std::unique_ptr<PgTaskQueue>> PgTaskQueue::Open(const std::string& conninfo, std::string replica_id) {
  if (replica_id.empty()) replica_id = DefaultReplicaId();
  std::unique_ptr<PgTaskQueue> queue(new PgTaskQueue(conninfo, std::move(replica_id)));
  {
    RUNTRACK_ASSIGN_OR_RETURN(auto conn, queue->readers_.Acquire());
    RUNTRACK_RETURN_IF_ERROR(MigrateSchema(*conn).status());
  }
  std::lock_guard lock(queue->mu_);
  RUNTRACK_RETURN_IF_ERROR(queue->EnsurePresence());
  return queue;
}

PgTaskQueue::PgTaskQueue(std::string conninfo, std::string replica_id)
    : replica_id_(std::move(replica_id)),
      readers_(conninfo, 2),
      presence_(conninfo, kPresenceLockClass, "SELECT 1 FROM task_queue WHERE claim_key = $1", "the task queue") {}

// presence_'s destructor releases the lock: this replica's claims are recoverable then.
PgTaskQueue::~PgTaskQueue() = default;

int PgTaskQueue::presence_backend_pid() const {
  std::lock_guard lock(mu_);
  return presence_.backend_pid();
}

Status PgTaskQueue::EnsurePresence() { return presence_.Ensure(); }

Result<PgResult> PgTaskQueue::Write(std::string_view sql, const PgParams& params) {
  return WriteWith(sql, [&] { return params; });
}

// Safe for every write here: each is one statement conditioned on the state it changes.
Result<PgResult> PgTaskQueue::WriteWith(std::string_view sql, const std::function<PgParams()>& params) {
  return presence_.Exec(sql, params);
}

Result<TaskQueueSubmitReport> PgTaskQueue::Submit(std::string_view workspace, const std::vector<TaskSubmission>& tasks) {
  RUNTRACK_RETURN_IF_ERROR(CheckWorkspace(workspace));
  for (const auto& t : tasks) {
    RUNTRACK_RETURN_IF_ERROR(runtrack::CheckTaskName(t.name));
    RUNTRACK_RETURN_IF_ERROR(CheckSpec(t.spec));
  }
  std::lock_guard lock(mu_);
  TaskQueueSubmitReport report;
  RUNTRACK_RETURN_IF_ERROR(EnsurePresence());
  auto tx = PgTransaction::Begin(presence_.session());
  if (!tx.ok()) return Unavailable(tx.status());
  const std::string now = PgFloat(NowSeconds());
  for (const auto& t : tasks) {
    auto r = presence_.session().Exec(
        "INSERT INTO task_queue (workspace, name, spec, task_order, state, submitted_by, submitted_at)"
        " VALUES ($1, $2, $3::jsonb, $4, 'queued', $5, $6)"
        " ON CONFLICT (workspace, name) WHERE state IN ('queued', 'claimed', 'running') DO NOTHING RETURNING id",
        {std::string(workspace), t.name, t.spec,
         t.task_order ? PgParam(std::to_string(*t.task_order)) : PgParam(std::nullopt), replica_id_, now});
    if (!r.ok()) return Unavailable(r.status());
    if (r->rows() == 1)
      report.queued.push_back(t.name);
    else
      report.skipped.emplace_back(t.name, Status::FailedPrecondition(
                                              fmt::format("task '{}' is already queued or running", t.name)));
  }
  if (Status s = tx->Commit(); !s.ok()) return Unavailable(s);
  return report;
}

Result<std::optional<TaskClaim>> PgTaskQueue::ClaimNext(std::string_view workspace) {
  RUNTRACK_RETURN_IF_ERROR(CheckWorkspace(workspace));
  std::lock_guard lock(mu_);
  // One statement, one short transaction: the subquery locks the first queued row no other
  // claimer has locked (SKIP LOCKED: concurrent claimers take the next ones instead of waiting),
  // and the UPDATE marks it claimed under this session's presence key.
  auto r = WriteWith(fmt::format("UPDATE task_queue SET state = 'claimed', claimed_by = $2, claim_key = $3, claimed_at = $4,"
                             " attempts = attempts + 1"
                             " WHERE id = (SELECT id FROM task_queue WHERE workspace = $1 AND state = 'queued'"
                             " ORDER BY {} LIMIT 1 FOR UPDATE SKIP LOCKED)"
                             " RETURNING id, workspace, name, spec::text, attempts",
                             kClaimOrder),
                 [&]() -> PgParams {
                   return {std::string(workspace), replica_id_, std::to_string(presence_.key()), PgFloat(NowSeconds())};
                 });
  if (!r.ok()) return Unavailable(r.status());
  if (r->rows() == 0) return std::optional<TaskClaim>();
  TaskClaim c;
  c.id = Number<int64_t>(r->Get(0, 0));
  c.workspace = std::string(r->Get(0, 1));
  c.name = std::string(r->Get(0, 2));
  c.spec = std::string(r->Get(0, 3));
  c.attempts = Number<int>(r->Get(0, 4));
  c.claim_key = presence_.key();  // the key the statement was sent with: Write() is over, it is that session's
  return std::optional<TaskClaim>(std::move(c));
}

Result<TaskClaim> PgTaskQueue::SubmitClaimed(std::string_view workspace, const TaskSubmission& task) {
  RUNTRACK_RETURN_IF_ERROR(CheckWorkspace(workspace));
  RUNTRACK_RETURN_IF_ERROR(runtrack::CheckTaskName(task.name));
  RUNTRACK_RETURN_IF_ERROR(CheckSpec(task.spec));
  std::lock_guard lock(mu_);
  // The live-name index decides (as for Submit): a task queued, claimed or running already is
  // left as it is. The row is born claimed under this session's presence key, so it is never
  // visible as queued to another replica's ClaimNext, and a dead replica's RunNow entry is
  // recovered like any claim.
  auto r = WriteWith("INSERT INTO task_queue (workspace, name, spec, task_order, state, submitted_by, submitted_at,"
                     " claimed_by, claim_key, claimed_at, attempts)"
                     " VALUES ($1, $2, $3::jsonb, $4, 'claimed', $5, $6, $5, $7, $6, 1)"
                     " ON CONFLICT (workspace, name) WHERE state IN ('queued', 'claimed', 'running') DO NOTHING"
                     " RETURNING id, attempts",
                     [&]() -> PgParams {
                       return {std::string(workspace), task.name, task.spec,
                               task.task_order ? PgParam(std::to_string(*task.task_order)) : PgParam(std::nullopt),
                               replica_id_, PgFloat(NowSeconds()), std::to_string(presence_.key())};
                     });
  if (!r.ok()) return Unavailable(r.status());
  if (r->rows() == 0)
    return Status::FailedPrecondition(fmt::format("task '{}' is already queued or running", task.name));
  TaskClaim c;
  c.id = Number<int64_t>(r->Get(0, 0));
  c.workspace = std::string(workspace);
  c.name = task.name;
  c.spec = task.spec;
  c.attempts = Number<int>(r->Get(0, 1));
  c.claim_key = presence_.key();  // the key the statement was sent with (see ClaimNext)
  return c;
}

Status PgTaskQueue::Start(const TaskClaim& claim) {
  std::lock_guard lock(mu_);
  auto r = Write("UPDATE task_queue SET state = 'running', started_at = $3"
                 " WHERE id = $1 AND claim_key = $2 AND state = 'claimed' RETURNING id",
                 {std::to_string(claim.id), std::to_string(claim.claim_key), PgFloat(NowSeconds())});
  if (!r.ok()) return Unavailable(r.status());
  return r->rows() == 1 ? Status::Ok() : NoLongerClaimed(claim);
}

Status PgTaskQueue::Finish(const TaskClaim& claim, std::string_view status, std::optional<int> exit_code,
                           std::string_view reason) {
  if (status != "completed" && status != "failed" && status != "cancelled")
    return Status::InvalidArgument(
        fmt::format("a finished task is completed, failed or cancelled, not '{}'", status));
  std::lock_guard lock(mu_);
  auto r = Write("UPDATE task_queue SET state = $3, finished_at = $4, exit_code = $5, reason = $6, claim_key = NULL"
                 " WHERE id = $1 AND claim_key = $2 AND state IN ('claimed', 'running') RETURNING id",
                 {std::to_string(claim.id), std::to_string(claim.claim_key), std::string(status),
                  PgFloat(NowSeconds()), exit_code ? PgParam(std::to_string(*exit_code)) : PgParam(std::nullopt),
                  std::string(reason)});
  if (!r.ok()) return Unavailable(r.status());
  return r->rows() == 1 ? Status::Ok() : NoLongerClaimed(claim);
}

Status PgTaskQueue::Release(const TaskClaim& claim) {
  std::lock_guard lock(mu_);
  auto r = Write("UPDATE task_queue SET state = 'queued', claim_key = NULL, claimed_by = NULL, claimed_at = NULL"
                 " WHERE id = $1 AND claim_key = $2 AND state = 'claimed' RETURNING id",
                 {std::to_string(claim.id), std::to_string(claim.claim_key)});
  if (!r.ok()) return Unavailable(r.status());
  return r->rows() == 1 ? Status::Ok() : NoLongerClaimed(claim);
}

Result<runtrack::CancelOutcome> PgTaskQueue::Cancel(std::string_view workspace, std::string_view name) {
  RUNTRACK_RETURN_IF_ERROR(CheckWorkspace(workspace));
  RUNTRACK_RETURN_IF_ERROR(runtrack::CheckTaskName(name));
  const PgParams key{std::string(workspace), std::string(name)};
  {
    std::lock_guard lock(mu_);
    auto r = Write("UPDATE task_queue SET state = 'cancelled', finished_at = $3, reason = 'cancelled_by_user'"
                   " WHERE workspace = $1 AND name = $2 AND state = 'queued' RETURNING id",
                   {key[0], key[1], PgFloat(NowSeconds())});
    if (!r.ok()) return Unavailable(r.status());
    if (r->rows() == 1) return runtrack::CancelOutcome::kCancelled;
    r = Write("UPDATE task_queue SET cancel_requested = true"
              " WHERE workspace = $1 AND name = $2 AND state IN ('claimed', 'running') RETURNING id",
              key);
    if (!r.ok()) return Unavailable(r.status());
    if (r->rows() == 1) return runtrack::CancelOutcome::kRequested;
  }
  RUNTRACK_ASSIGN_OR_RETURN(auto entry, Get(workspace, name));
  if (!entry) return Status::NotFound(fmt::format("task '{}' is not in the queue", name));
  return Status::FailedPrecondition(
      fmt::format("task '{}' is {}; only queued or running tasks can be cancelled", name, entry->state));
}

Result<bool> PgTaskQueue::CancelRequested(const TaskClaim& claim) const {
  auto r = RetryDroppedConnections([&]() -> Result<PgResult> {
    RUNTRACK_ASSIGN_OR_RETURN(auto conn, readers_.Acquire());
    return conn->Exec("SELECT cancel_requested FROM task_queue WHERE id = $1", {std::to_string(claim.id)});
  });
  if (!r.ok()) return Unavailable(r.status());
  return r->rows() == 1 && r->Get(0, 0) == "t";
}

Status PgTaskQueue::SetOrder(std::string_view workspace, std::string_view name, std::optional<int64_t> task_order) {
  RUNTRACK_RETURN_IF_ERROR(CheckWorkspace(workspace));
  RUNTRACK_RETURN_IF_ERROR(runtrack::CheckTaskName(name));
  {
    std::lock_guard lock(mu_);
    auto r = Write("UPDATE task_queue SET task_order = $3 WHERE workspace = $1 AND name = $2 AND state = 'queued'"
                   " RETURNING id",
                   {std::string(workspace), std::string(name),
                    task_order ? PgParam(std::to_string(*task_order)) : PgParam(std::nullopt)});
    if (!r.ok()) return Unavailable(r.status());
    if (r->rows() == 1) return Status::Ok();
  }
  RUNTRACK_ASSIGN_OR_RETURN(auto entry, Get(workspace, name));
  if (!entry) return Status::NotFound(fmt::format("task '{}' is not in the queue", name));
  return Status::FailedPrecondition(
      fmt::format("task '{}' is {}; only queued tasks can be reordered", name, entry->state));
}

Result<std::vector<TaskQueueEntry>> PgTaskQueue::List(std::string_view workspace) const {
  RUNTRACK_RETURN_IF_ERROR(CheckWorkspace(workspace));
  auto r = RetryDroppedConnections([&]() -> Result<PgResult> {
    RUNTRACK_ASSIGN_OR_RETURN(auto conn, readers_.Acquire());
    return conn->Exec(
        fmt::format("SELECT {} FROM task_queue WHERE workspace = $1 ORDER BY"
                    " (state NOT IN ('queued', 'claimed', 'running')), CASE WHEN state IN ('queued', 'claimed',"
                    " 'running') THEN 0 ELSE -id END, {}",
                    kEntryColumns, kClaimOrder),
        {std::string(workspace)});
  });
  if (!r.ok()) return Unavailable(r.status());
  std::vector<TaskQueueEntry> out;
  for (int i = 0; i < r->rows(); ++i) out.push_back(EntryOf(*r, i));
  return out;
}

Result<std::optional<TaskQueueEntry>> PgTaskQueue::Get(std::string_view workspace, std::string_view name) const {
  RUNTRACK_RETURN_IF_ERROR(CheckWorkspace(workspace));
  auto r = RetryDroppedConnections([&]() -> Result<PgResult> {
    RUNTRACK_ASSIGN_OR_RETURN(auto conn, readers_.Acquire());
    return conn->Exec(fmt::format("SELECT {} FROM task_queue WHERE workspace = $1 AND name = $2 ORDER BY id DESC LIMIT 1",
                                  kEntryColumns),
                      {std::string(workspace), std::string(name)});
  });
  if (!r.ok()) return Unavailable(r.status());
  if (r->rows() == 0) return std::optional<TaskQueueEntry>();
  return std::optional<TaskQueueEntry>(EntryOf(*r, 0));
}

Result<TaskRecoveryReport> PgTaskQueue::RecoverAbandoned() {
  std::lock_guard lock(mu_);
  // SKIP LOCKED: an entry another statement is changing right now (its claimer finishing it, or
  // another replica recovering it) is left to that statement.
  auto r = Write(fmt::format(
                     "WITH dead AS (SELECT id, state AS was FROM task_queue q WHERE state IN ('claimed', 'running')"
                     " AND NOT {} FOR UPDATE SKIP LOCKED)"
                     " UPDATE task_queue t SET"
                     " state = CASE WHEN dead.was = 'running' THEN 'lost'"
                     "   WHEN t.cancel_requested THEN 'cancelled' ELSE 'queued' END,"
                     " reason = CASE WHEN dead.was = 'running' THEN 'runner_lost'"
                     "   WHEN t.cancel_requested THEN 'cancelled_by_user' ELSE t.reason END,"
                     " finished_at = CASE WHEN dead.was = 'running' OR t.cancel_requested THEN $2::double precision END,"
                     " claimed_by = CASE WHEN dead.was = 'running' OR t.cancel_requested THEN t.claimed_by END,"
                     " claimed_at = CASE WHEN dead.was = 'running' OR t.cancel_requested THEN t.claimed_at END,"
                     " claim_key = NULL"
                     " FROM dead WHERE t.id = dead.id RETURNING t.name, t.state",
                     kPresenceHeld),
                 {std::to_string(kPresenceLockClass), PgFloat(NowSeconds())});
  if (!r.ok()) return Unavailable(r.status());
  TaskRecoveryReport report;
  for (int i = 0; i < r->rows(); ++i) {
    std::string name(r->Get(i, 0));
    std::string_view state = r->Get(i, 1);
    if (state == "queued") report.requeued.push_back(std::move(name));
    else if (state == "cancelled") report.cancelled.push_back(std::move(name));
    else report.lost.push_back(std::move(name));
  }
  return report;
}

}  // namespace runicorn::service::pg
