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
// Thread safety: every method may be called from any number of threads at once.
#pragma once

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "runtrack/layout.h"
#include "runtrack/status.h"
#include "runtrack/tasks.h"
#include "service/dataset_service.h"  // FieldError
#include "service/run_service.h"

namespace runicorn::service {

// The viewer's `--llm-service FILE` (JSON):
//   {"trainer": "python3 train.py", "generator": "python3 generate.py",
//    "quantization": ["int8"], "generate_timeout_seconds": 120, "workers": 1}
// Commands are shell command lines run with `/bin/sh -c` in the config file's folder; the
// trainer gets the job's config.json path appended, the generator a request and a response path.
struct LlmServiceConfig {
  std::string trainer;                    // empty: POST /train answers 503
  std::string generator;                  // empty: POST /generate answers 503
  std::filesystem::path dir;              // the config file's folder (commands run there)
  std::vector<std::string> quantization;  // the values of config.quantization the trainer supports
  int generate_timeout_seconds = 120;
  int workers = 1;                        // jobs running at once
};
// InvalidArgument naming the problem for a file that is not such an object.
runtrack::Result<LlmServiceConfig> LoadLlmServiceConfig(const std::filesystem::path& file);

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

struct JobCanceled {
  std::string task_id;
  double canceled_at = 0;
};

class TrainingService {
 public:
  // `runs` reads the tracked runs (the viewer's catalog); it must outlive the service.
  TrainingService(runtrack::StoreLayout layout, LlmServiceConfig config, const RunService& runs);
  // Stops the sweep and the runner (queued jobs become canceled, running ones failed).
  ~TrainingService();
  TrainingService(const TrainingService&) = delete;
  TrainingService& operator=(const TrainingService&) = delete;

  const LlmServiceConfig& config() const { return config_; }

  // InvalidArgument (with `error`) for bad values; NotFound (field dataset_path / base_model)
  // for a dataset or base model that does not exist; Busy (503) without a trainer.
  runtrack::Result<TrainStarted> Train(const TrainRequest& request, FieldError* error);
  // InvalidArgument for an id that is not a UUID; NotFound for an unknown one.
  runtrack::Result<JobStatus> GetStatus(const std::string& task_id);
  // FailedPrecondition when the job already ended.
  runtrack::Result<JobCanceled> Cancel(const std::string& task_id);
  // Logs the models of completed jobs not finalised yet (what the background sweep does).
  runtrack::Status FinalizeCompleted();

 private:
  runtrack::Status EnsureRunner();
  runtrack::Result<std::string> Finalize(const std::string& task_id);
  void SweepLoop();

  runtrack::StoreLayout layout_;
  LlmServiceConfig config_;
  const RunService& runs_;
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
