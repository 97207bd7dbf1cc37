// Training jobs shared by viewer replicas (docs/SCALE-OUT.md "Training on the team back end").
//
// A training job runs on the replica that accepted its POST /api/v1/train (its task runner, its
// disk: training_service.h). With `viewer --catalog`, that replica publishes what it knows of each
// of its jobs to a board every replica reads: the job's facts (job.json) and its latest status.
// Another replica answers status and job lists from the board, and a cancel it receives is a
// request on the board that the owner's sweep carries out. A job whose owner is gone (its session
// with the board ended: the process died or lost PostgreSQL) cannot progress: readers report it
// failed. What only the owner's disk holds (the job's log) is forwarded to the owner's URL
// (server/training_log_forwarding.h). The PostgreSQL implementation is pg/pg_training_jobs.h.
//
// Thread safety: implementations allow every method from any number of threads at once.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtrack/status.h"

namespace runicorn::service {

// queued | running | completed | failed | canceled (the API's spelling).
struct JobStatus {
  std::string task_id;
  std::string status;
  double progress = 0;                      // 0..100
  std::map<std::string, double> metrics;    // the run's latest value of each metric
  std::string run_id;
  std::optional<double> started_at;         // the run's start
  double updated_at = 0;
  std::optional<std::string> model_id;      // once the model artifact exists
  std::string error;                        // failed: why
};

// A job as its owner last published it.
struct BoardJob {
  JobStatus status;
  std::string facts;             // the job's job.json (a JSON object)
  double created_at = 0;         // when it was submitted
  std::string replica_id;        // the replica that runs it
  // Where the other replicas reach that replica: the --replica-url it registered for run ownership
  // under the same id (`viewer --replica-url` gives the board the ownership's id); "" when it
  // registered none (started without --replica-url), so its job's log is read only there.
  std::string replica_url;
  bool owner_alive = false;      // that replica is still connected to the board
  bool cancel_requested = false;
};

class TrainingJobBoard {
 public:
  virtual ~TrainingJobBoard() = default;

  // This replica's id, as the board records the owner of the jobs it publishes.
  virtual const std::string& replica_id() const = 0;
  // Records a job this replica runs, or its new status (a pending cancel request is kept).
  virtual runtrack::Status Publish(std::string_view facts_json, double created_at, const JobStatus& status) = 0;
  // NotFound "Training job not found: ID" when no replica published it.
  virtual runtrack::Result<BoardJob> Get(const std::string& task_id) = 0;
  // Every published job, newest first.
  virtual runtrack::Result<std::vector<BoardJob>> List() = 0;
  // Asks the owner to cancel a job it published as queued or running; false when the board holds
  // it in another state (it ended meanwhile) or its owner is gone.
  virtual runtrack::Result<bool> RequestCancel(const std::string& task_id) = 0;
  // This replica's jobs with a cancel requested through another replica, still queued or running
  // as last published. Also proves this replica is alive (reconnecting when its session broke).
  virtual runtrack::Result<std::vector<std::string>> CancelRequests() = 0;
};

}  // namespace runicorn::service
