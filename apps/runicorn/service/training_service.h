// Training jobs of the training service API (POST /api/v1/train, docs/API-v1.md).
//
// A job is a task of the task runner (include/runtrack/tasks.h) in the shell workspace of the
// project `StoreLayout::training_dir()`, named by the job's UUID, whose payload runs the configured
// trainer command with the job's config file as its last argument. Its files live in
// `StoreLayout::training_job_dir(uuid)`:
//
//   job.json      what was asked (request, resolved defaults, dataset, run id, model name, times);
//                 written once before the task exists, never changed
//   config.json   the trainer's input: job.json's facts plus the folders below
//   dataset/      the dataset version's files, unpacked
//   base_model/   the LoRA base model version's files, unpacked (only with `base_model`)
//   output/       where the trainer writes the model; logged as a `model` artifact on success
//   model         the model artifact id ("NAME:vN") once logged; its presence means "finalised"
//   canceled_at   unix seconds of a cancel through this service
//
// Disk is the truth: the task's status is the job's status, and a job that completed while no
// viewer watched is finalised by the next read (status, model list) or the background sweep, so
// a restart loses nothing. The trainer logs its run with `import runicorn` under the run id the
// config names (the store is $RUNICORN_DIR), so status metrics are that run's latest values; the
// model artifact is produced by that run and the run used the dataset (lineage).
//
// Artifacts (datasets, base models, the logged model) are the `DatasetArtifacts` the viewer's
// /api/v1/datasets uses: this store's own by default, the team's catalog and bucket with
// `viewer --catalog … --objects …`. With a `TrainingJobBoard` (`viewer --catalog`), every change
// of a job this replica runs is published there (on reads and from the 1 s sweep), jobs other
// replicas run are answered from it, and a cancel of such a job is a request its owner's sweep
// carries out (docs/SCALE-OUT.md "Training on the team back end").
//
// Thread safety: every method may be called from any number of threads at once.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "runtrack/layout.h"
#include "runtrack/status.h"
#include "runtrack/tasks.h"
#include "service/dataset_artifacts.h"
#include "service/dataset_service.h"  // FieldError
#include "service/generation_gate.h"
#include "service/llm_service_config.h"
#include "service/run_service.h"
#include "service/training_job_board.h"

namespace runicorn::service {

// LlmServiceConfig and LoadLlmServiceConfig (the viewer's `--llm-service FILE`): llm_service_config.h.

struct TrainRequest {
  std::string dataset_path;  // a dataset id "NAME:vN" (GET /api/v1/datasets)
  double learning_rate = 3e-5;
  int64_t batch_size = 8;
  int64_t num_epochs = 3;
  std::string output_dir = "./models/checkpoints";  // its last component names the model
  std::optional<std::string> quantization;          // "int8" | "int4" | unset
  bool lora = false;                                // lora_config given
  int64_t lora_r = 8;
  int64_t lora_alpha = 16;
  double lora_dropout = 0.05;
  std::optional<std::string> base_model;  // a model id the adapters are trained on
  std::optional<uint64_t> seed;
  std::string user;
};

struct TrainStarted {
  std::string task_id;
  double created_at = 0;
};

// JobStatus (queued | running | completed | failed | canceled): training_job_board.h.

// One job as the viewer's Training page lists it (GET /api/training/jobs): its status plus what
// it was asked to do.
struct JobSummary {
  JobStatus status;
  double created_at = 0;               // when it was submitted
  std::optional<double> finished_at;   // ended (completed, failed, canceled): status.updated_at
  std::string dataset;                 // "NAME:vN"
  std::string model_name;              // the model artifact it logs (from config.output_dir)
  int64_t num_epochs = 0;
  std::string user;                    // who started it (/api/v1 user)
};

struct JobCanceled {
  std::string task_id;
  double canceled_at = 0;
};

class TrainingService {
 public:
  // `runs` reads the tracked runs (the viewer's catalog); it must outlive the service.
  // `artifacts` null: this store's own (LocalDatasetArtifacts); `board` null: jobs are this
  // replica's only.
  TrainingService(runtrack::StoreLayout layout, LlmServiceConfig config, const RunService& runs,
                  std::shared_ptr<DatasetArtifacts> artifacts = nullptr,
                  std::shared_ptr<TrainingJobBoard> board = nullptr);
  // Stops the sweep and the runner (queued jobs become canceled, running ones failed).
  ~TrainingService();
  TrainingService(const TrainingService&) = delete;
  TrainingService& operator=(const TrainingService&) = delete;

  const LlmServiceConfig& config() const { return config_; }
  // Admission for generations, sized by config().generate_concurrency and generate_queue; a
  // queued request waits at most generate_timeout_seconds for its turn.
  GenerationGate& generations() { return generations_; }

  // InvalidArgument (with `error`) for bad values; NotFound (field dataset_path / base_model)
  // for a dataset or base model that does not exist; Busy (503) without a trainer.
  runtrack::Result<TrainStarted> Train(const TrainRequest& request, FieldError* error);
  // InvalidArgument for an id that is not a UUID; NotFound for an unknown one. A job another
  // replica runs: as it last published it, and failed when that replica is gone.
  runtrack::Result<JobStatus> GetStatus(const std::string& task_id);
  // FailedPrecondition when the job already ended. A job another replica runs: answered once
  // that replica canceled it (Busy when it has not within kRemoteCancelWait).
  runtrack::Result<JobCanceled> Cancel(const std::string& task_id);
  static constexpr std::chrono::seconds kRemoteCancelWait{15};
  // Every job in the store (and on the board), newest first (the Training page; no /api/v1
  // token needed).
  runtrack::Result<std::vector<JobSummary>> ListJobs();
  // The job's task log (the trainer's stdout and stderr) as the task runner keeps it; errors as
  // GetStatus, NotFound while the job has no log yet, and FailedPrecondition for a job another
  // replica runs (its log is on that replica's disk).
  runtrack::Result<runtrack::TaskLogChunk> ReadJobLog(const std::string& task_id, const runtrack::TaskLogQuery& query);
  // Logs the models of completed jobs not finalised yet (what the background sweep does).
  runtrack::Status FinalizeCompleted();

 private:
  runtrack::Status EnsureRunner();
  runtrack::Result<std::string> Finalize(const std::string& task_id);
  void SweepLoop();
  // A job of this replica (its folder holds job.json).
  bool IsLocal(const std::string& task_id) const;
  runtrack::Result<JobStatus> LocalStatus(const std::string& task_id);
  runtrack::Result<JobCanceled> LocalCancel(const std::string& task_id);
  runtrack::Result<JobCanceled> RemoteCancel(const std::string& task_id);
  // The board's copy of a job another replica runs; failed when that replica is gone.
  runtrack::Result<BoardJob> RemoteJob(const std::string& task_id);
  // Publishes a local job's status when it changed since this process last published it.
  void Publish(const JobStatus& status);
  // The sweep's board work: publishes every local job not yet published as ended, and cancels
  // those whose cancel another replica received.
  void SyncBoard();

  runtrack::StoreLayout layout_;
  LlmServiceConfig config_;
  const RunService& runs_;
  std::shared_ptr<DatasetArtifacts> artifacts_;
  std::shared_ptr<TrainingJobBoard> board_;
  std::mutex published_mu_;
  std::map<std::string, std::string> published_;  // task id -> the status text last published
  std::set<std::string> published_ended_;         // ... of those, the ones published as ended
  GenerationGate generations_;
  std::mutex mu_;  // guards workspace_, runner_ and finalisation
  std::unique_ptr<runtrack::Workspace> workspace_;
  std::unique_ptr<runtrack::TaskRunner> runner_;
  std::mutex sweep_mu_;
  std::condition_variable sweep_cv_;
  bool stopping_ = false;
  std::thread sweep_;
};

// True for a lower-case UUID "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx".
bool IsUuid(std::string_view s);

}  // namespace runicorn::service
