// The training job board on PostgreSQL (training_job_board.h; the `training_jobs` table of schema
// migration 8; docs/SCALE-OUT.md "Training on the team back end").
//
// Owner liveness, as the shared task queue does it (pg_task_queue.h): this replica keeps one
// PostgreSQL session for its lifetime (the presence session) holding the session-level advisory
// lock pg_advisory_lock(kTrainingPresenceLockClass, key) with a random key, and every job it
// publishes records that key. When the replica dies its session ends and PostgreSQL frees the
// lock at once, so readers see the owner gone without a lease or a clock. A presence session
// that broke is replaced on the next write (Publish, CancelRequests: the owner's 1 s sweep), with a
// new key given to every job of this replica.
//
// Thread safety: any number of threads; writes of this replica go through the presence session
// one at a time, reads through a pool.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "service/pg/pg_connection.h"
#include "service/pg/pg_presence.h"
#include "service/training_job_board.h"

namespace runicorn::service::pg {

// The advisory-lock class of training presence locks (two-int form, objsubid 2). "tj".
inline constexpr int32_t kTrainingPresenceLockClass = 0x746a;

class PgTrainingJobs final : public TrainingJobBoard {
 public:
  // Connects, brings the schema up to date and takes the presence lock. `replica_id` "": the
  // host name and pid; a replica that takes part in run ownership passes that id, so readers find
  // its --replica-url (BoardJob::replica_url, from the `replicas` table). IOError when PostgreSQL
  // cannot be reached.
  static runtrack::Result<std::unique_ptr<PgTrainingJobs>> Open(const std::string& conninfo,
                                                                std::string replica_id = "");
  // Releases the presence lock: this replica's unfinished jobs read as failed from then on.
  ~PgTrainingJobs() override;

  const std::string& replica_id() const override { return replica_id_; }
  runtrack::Status Publish(std::string_view facts_json, double created_at, const JobStatus& status) override;
  runtrack::Result<BoardJob> Get(const std::string& task_id) override;
  runtrack::Result<std::vector<BoardJob>> List() override;
  runtrack::Result<bool> RequestCancel(const std::string& task_id) override;
  runtrack::Result<std::vector<std::string>> CancelRequests() override;

  // The backend pid of the presence session (tests terminate it to simulate a lost replica).
  int presence_backend_pid() const;

 private:
  PgTrainingJobs(std::string conninfo, std::string replica_id);
  // Under mu_: a live presence session, made anew (with a new key) when it broke.
  runtrack::Status EnsurePresence();
  // What a new presence session does first: re-keys this replica's jobs to it.
  std::function<runtrack::Status(PgConnection&, int32_t)> RekeyOwnJobs() const;
  // Under mu_: one statement on the presence session, sent once more on a new session when the
  // old one broke; `params` is called once the session is known, so it may use its key.
  runtrack::Result<PgResult> Own(std::string_view sql, const std::function<PgParams()>& params);

  const std::string replica_id_;
  PgPool readers_;
  mutable std::mutex mu_;
  PgPresence presence_;  // under mu_
};

}  // namespace runicorn::service::pg
