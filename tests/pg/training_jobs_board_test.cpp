// The training job board on PostgreSQL (service/pg/pg_training_jobs.h): what an owner publishes is
// what another replica reads, a cancel request reaches only the owner and only while the job runs,
// and the owner's liveness follows its presence session (lost, regained, closed).
#ifdef RUNICORN_HAVE_PG
#include <chrono>
#include <thread>

#include "pg/pg_test_support.h"
#include "service/pg/pg_run_ownership.h"
#include "service/pg/pg_training_jobs.h"

namespace {
using runicorn::service::JobStatus;
using runicorn::service::pg::PgConnection;
using runicorn::service::pg::PgTrainingJobs;

const std::string kId = "0b6f5a52-1a0e-4d1c-9d6e-0d3c1f2a7b10";

std::unique_ptr<PgTrainingJobs> OpenBoard(const std::string& db, const std::string& replica) {
  auto board = PgTrainingJobs::Open(db, replica);
  INFO(board.status().ToString());
  REQUIRE(board.ok());
  return std::move(*board);
}

JobStatus Running() {
  JobStatus s;
  s.task_id = kId;
  s.status = "running";
  s.progress = 33.3;
  s.metrics = {{"train_loss", 0.625}, {"epoch", 1.0}};
  s.run_id = "20260101_000000_a1b2c3";
  s.started_at = 1767225601.5;
  s.updated_at = 1767225630.25;
  return s;
}

bool Alive(PgTrainingJobs& reader) {
  auto job = reader.Get(kId);
  REQUIRE(job.ok());
  return job->owner_alive;
}

}  // namespace

TEST_CASE("pg training jobs: published, read, canceled through another replica, owner liveness", "[pg][training]") {
  RUNICORN_PG_TEST_SERVER(server);
  const std::string db = server.NewDatabase();
  auto owner = OpenBoard(db, "replica-a");
  auto reader = OpenBoard(db, "replica-b");
  auto unknown = reader->Get(kId);
  CHECK(unknown.status().code() == runtrack::StatusCode::kNotFound);
  CHECK(unknown.status().message() == "Training job not found: " + kId);

  // In jsonb's own spelling (keys by length, then bytes), so the text reads back identical.
  const std::string facts = R"({"user": "ada", "dataset": "qa:v1", "model_name": "qa"})";
  REQUIRE(owner->Publish(facts, 1767225600.125, Running()).ok());
  auto job = reader->Get(kId);
  REQUIRE(job.ok());
  CHECK(job->replica_id == "replica-a");
  CHECK(job->replica_url.empty());  // A takes no part in run ownership (no --replica-url)
  CHECK(job->owner_alive);
  CHECK_FALSE(job->cancel_requested);
  CHECK(job->facts == facts);
  CHECK(job->created_at == 1767225600.125);
  CHECK(job->status.status == "running");
  CHECK(job->status.progress == 33.3);
  CHECK(job->status.metrics == std::map<std::string, double>{{"epoch", 1.0}, {"train_loss", 0.625}});
  CHECK(job->status.run_id == "20260101_000000_a1b2c3");
  CHECK(job->status.started_at == 1767225601.5);
  CHECK(job->status.updated_at == 1767225630.25);
  CHECK_FALSE(job->status.model_id.has_value());

  // Registered for run ownership, A is reached at its --replica-url: where a job's log is read
  // (server/training_log_forwarding.h).
  {
    auto ownership = runicorn::service::pg::PgRunOwnership::Open({db, "http://127.0.0.1:23301", "replica-a"});
    INFO(ownership.status().ToString());
    REQUIRE(ownership.ok());
    auto registered = reader->Get(kId);
    REQUIRE(registered.ok());
    CHECK(registered->replica_url == "http://127.0.0.1:23301");
    auto listed = reader->List();
    REQUIRE(listed.ok());
    REQUIRE(listed->size() == 1);
    CHECK(listed->front().replica_url == "http://127.0.0.1:23301");
  }

  // A cancel through B is a request only A sees, kept across A's next publication.
  REQUIRE(owner->CancelRequests()->empty());
  REQUIRE(reader->RequestCancel(kId).ok());
  CHECK(*reader->RequestCancel(kId));
  CHECK(reader->CancelRequests()->empty());
  REQUIRE(owner->Publish(facts, 1767225600.125, Running()).ok());
  CHECK(*owner->CancelRequests() == std::vector<std::string>{kId});
  JobStatus canceled = Running();
  canceled.status = "canceled";
  REQUIRE(owner->Publish(facts, 1767225600.125, canceled).ok());
  CHECK(owner->CancelRequests()->empty());
  CHECK_FALSE(*reader->RequestCancel(kId));  // ended: nothing to cancel
  auto list = reader->List();
  REQUIRE(list.ok());
  REQUIRE(list->size() == 1);
  CHECK(list->front().status.status == "canceled");

  // A's presence session ends while A lives: its job reads as ownerless until A's next call
  // takes a new key and re-attaches it.
  REQUIRE(owner->Publish(facts, 1767225600.125, Running()).ok());
  const int pid = owner->presence_backend_pid();
  auto admin = PgConnection::Connect(db);
  REQUIRE(admin.ok());
  REQUIRE((*admin)->Exec("SELECT pg_terminate_backend($1)", {std::to_string(pid)}).ok());
  bool gone = false;
  for (int i = 0; i < 500 && !gone; ++i) {
    gone = !Alive(*reader);
    if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CHECK(gone);
  CHECK_FALSE(*reader->RequestCancel(kId));  // no owner to carry it out
  REQUIRE(owner->CancelRequests().ok());
  CHECK(owner->presence_backend_pid() != pid);
  CHECK(Alive(*reader));
  // A closes: its job is ownerless at once.
  owner.reset();
  CHECK_FALSE(Alive(*reader));
}

#else
#include <catch2/catch.hpp>
TEST_CASE("pg training jobs (libpq not found at build time)", "[pg]") { WARN("SKIPPED: built without libpq"); }
#endif
