#include "service/pg/pg_training_jobs.h"

#include <unistd.h>

#include <charconv>
#include <cmath>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "runtrack/json_parse.h"
#include "service/pg/pg_run_mirror.h"
#include "service/pg/pg_schema.h"

namespace runicorn::service::pg {
namespace json = boost::json;
using runtrack::Result;
using runtrack::Status;

namespace {

constexpr const char* kColumns =
    "j.task_id, j.replica_id, j.facts::text, j.status, j.progress, j.metrics::text, j.model_id, j.error, j.run_id,"
    " j.created_at, j.started_at, j.updated_at, j.cancel_requested";

// The tables a job is read from: its row, and the owner's registration for run ownership (table
// `replicas`, pg_run_ownership.h), which holds its --replica-url when it was given one.
constexpr const char* kJobTables = "training_jobs j LEFT JOIN replicas r ON r.replica_id = j.replica_id";

// The job's owner holds its presence lock. ($1: kTrainingPresenceLockClass.)
constexpr const char* kOwnerAlive =
    "EXISTS (SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2"
    " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    " AND l.classid = $1::integer::oid AND l.objid = j.owner_key::oid)";

double Double(std::string_view text) {
  double v = 0;
  std::from_chars(text.data(), text.data() + text.size(), v);
  return v;
}

// A JSON object of the finite metrics (JSON has no NaN or infinity).
std::string MetricsJson(const std::map<std::string, double>& metrics) {
  json::object o;
  for (const auto& [k, v] : metrics)
    if (std::isfinite(v)) o[k] = v;
  return json::serialize(o);
}

Result<BoardJob> JobOf(const PgResult& r, int i) {
  BoardJob j;
  j.status.task_id = std::string(r.Get(i, 0));
  j.replica_id = std::string(r.Get(i, 1));
  j.facts = std::string(r.Get(i, 2));
  j.status.status = std::string(r.Get(i, 3));
  j.status.progress = Double(r.Get(i, 4));
  boost::system::error_code ec;
  json::value metrics = runtrack::ParseJson(r.Get(i, 5), ec);
  if (ec || !metrics.is_object())
    return Status::Corruption(fmt::format("postgresql: training_jobs row {} has no metrics object", j.status.task_id));
  for (const auto& [k, v] : metrics.as_object())
    if (v.is_number()) j.status.metrics[std::string(k)] = v.to_number<double>();
  if (!r.IsNull(i, 6)) j.status.model_id = std::string(r.Get(i, 6));
  j.status.error = std::string(r.Get(i, 7));
  j.status.run_id = std::string(r.Get(i, 8));
  j.created_at = Double(r.Get(i, 9));
  if (!r.IsNull(i, 10)) j.status.started_at = Double(r.Get(i, 10));
  j.status.updated_at = Double(r.Get(i, 11));
  j.cancel_requested = r.Get(i, 12) == "t";
  j.owner_alive = r.Get(i, 13) == "t";
  j.replica_url = std::string(r.Get(i, 14));
  return j;
}

}  // namespace

Result<std::unique_ptr<PgTrainingJobs>> PgTrainingJobs::Open(const std::string& conninfo, std::string replica_id) {
  if (replica_id.empty()) replica_id = DefaultReplicaId();
  std::unique_ptr<PgTrainingJobs> board(new PgTrainingJobs(conninfo, std::move(replica_id)));
  {
    RUNTRACK_ASSIGN_OR_RETURN(auto conn, board->readers_.Acquire());
    RUNTRACK_RETURN_IF_ERROR(MigrateSchema(*conn).status());
  }
  std::lock_guard lock(board->mu_);
  RUNTRACK_RETURN_IF_ERROR(board->EnsurePresence());
  return board;
}

PgTrainingJobs::PgTrainingJobs(std::string conninfo, std::string replica_id)
    : replica_id_(std::move(replica_id)),
      readers_(conninfo),
      presence_(conninfo, kTrainingPresenceLockClass, "SELECT 1 FROM training_jobs WHERE owner_key = $1",
                "training jobs") {}

// presence_'s destructor releases the lock: this replica's unfinished jobs read as failed then.
PgTrainingJobs::~PgTrainingJobs() = default;

int PgTrainingJobs::presence_backend_pid() const {
  std::lock_guard lock(mu_);
  return presence_.backend_pid();
}

Status PgTrainingJobs::EnsurePresence() { return presence_.Ensure(RekeyOwnJobs()); }

std::function<Status(PgConnection&, int32_t)> PgTrainingJobs::RekeyOwnJobs() const {
  return [this](PgConnection& conn, int32_t key) {
    // The jobs this process published under an earlier session are alive again: it still runs them.
    return conn.Exec("UPDATE training_jobs SET owner_key = $1 WHERE replica_id = $2", {std::to_string(key), replica_id_})
        .status();
  };
}

Result<PgResult> PgTrainingJobs::Own(std::string_view sql, const std::function<PgParams()>& params) {
  return presence_.Exec(sql, params, RekeyOwnJobs());
}

Status PgTrainingJobs::Publish(std::string_view facts_json, double created_at, const JobStatus& s) {
  std::lock_guard lock(mu_);
  return Own(
             "INSERT INTO training_jobs (task_id, replica_id, owner_key, facts, status, progress, metrics, model_id,"
             " error, run_id, created_at, started_at, updated_at)"
             " VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7::jsonb, $8, $9, $10, $11, $12, $13)"
             " ON CONFLICT (task_id) DO UPDATE SET replica_id = EXCLUDED.replica_id, owner_key = EXCLUDED.owner_key,"
             " facts = EXCLUDED.facts, status = EXCLUDED.status, progress = EXCLUDED.progress,"
             " metrics = EXCLUDED.metrics, model_id = EXCLUDED.model_id, error = EXCLUDED.error,"
             " run_id = EXCLUDED.run_id, created_at = EXCLUDED.created_at, started_at = EXCLUDED.started_at,"
             " updated_at = EXCLUDED.updated_at",
             [&]() -> PgParams {
               return {s.task_id,
                       replica_id_,
                       std::to_string(presence_.key()),
                       std::string(facts_json),
                       s.status,
                       PgFloat(s.progress),
                       MetricsJson(s.metrics),
                       s.model_id ? PgParam(*s.model_id) : PgParam(),
                       s.error,
                       s.run_id,
                       PgFloat(created_at),
                       s.started_at ? PgParam(PgFloat(*s.started_at)) : PgParam(),
                       PgFloat(s.updated_at)};
             })
      .status();
}

Result<BoardJob> PgTrainingJobs::Get(const std::string& task_id) {
  return RetryDroppedConnections([&]() -> Result<BoardJob> {
    RUNTRACK_ASSIGN_OR_RETURN(auto conn, readers_.Acquire());
    RUNTRACK_ASSIGN_OR_RETURN(
        PgResult r, conn->Exec(fmt::format("SELECT {}, {}, COALESCE(r.url, '') FROM {} WHERE j.task_id = $2", kColumns,
                                           kOwnerAlive, kJobTables),
                               {std::to_string(kTrainingPresenceLockClass), task_id}));
    if (r.rows() == 0) return Status::NotFound(fmt::format("Training job not found: {}", task_id));
    return JobOf(r, 0);
  });
}

Result<std::vector<BoardJob>> PgTrainingJobs::List() {
  return RetryDroppedConnections([&]() -> Result<std::vector<BoardJob>> {
    RUNTRACK_ASSIGN_OR_RETURN(auto conn, readers_.Acquire());
    RUNTRACK_ASSIGN_OR_RETURN(
        PgResult r, conn->Exec(fmt::format("SELECT {}, {}, COALESCE(r.url, '') FROM {} ORDER BY j.created_at DESC, j.task_id",
                                           kColumns, kOwnerAlive, kJobTables),
                               {std::to_string(kTrainingPresenceLockClass)}));
    std::vector<BoardJob> out;
    for (int i = 0; i < r.rows(); ++i) {
      RUNTRACK_ASSIGN_OR_RETURN(BoardJob j, JobOf(r, i));
      out.push_back(std::move(j));
    }
    return out;
  });
}

Result<bool> PgTrainingJobs::RequestCancel(const std::string& task_id) {
  return RetryDroppedConnections([&]() -> Result<bool> {
    RUNTRACK_ASSIGN_OR_RETURN(auto conn, readers_.Acquire());
    RUNTRACK_ASSIGN_OR_RETURN(
        PgResult r,
        conn->Exec(fmt::format("UPDATE training_jobs j SET cancel_requested = true WHERE task_id = $2"
                               " AND status IN ('queued', 'running') AND {}",
                               kOwnerAlive),
                   {std::to_string(kTrainingPresenceLockClass), task_id}));
    return r.AffectedRows() == 1;
  });
}

Result<std::vector<std::string>> PgTrainingJobs::CancelRequests() {
  std::lock_guard lock(mu_);
  RUNTRACK_ASSIGN_OR_RETURN(
      PgResult r, Own("SELECT task_id FROM training_jobs WHERE replica_id = $1 AND cancel_requested"
                      " AND status IN ('queued', 'running') ORDER BY task_id",
                      [&]() -> PgParams { return {replica_id_}; }));
  std::vector<std::string> out;
  for (int i = 0; i < r.rows(); ++i) out.emplace_back(r.Get(i, 0));
  return out;
}

}  // namespace runicorn::service::pg
