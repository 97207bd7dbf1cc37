#include "service/training_service.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include <boost/json.hpp>
#include <fmt/format.h>
#include <openssl/rand.h>

#include "runtrack/artifacts.h"
#include "runtrack/json_parse.h"
#include "service/model_service.h"
#include "service/text_file.h"

namespace runicorn::service {
namespace fs = std::filesystem;
namespace json = boost::json;
using runtrack::Result;
using runtrack::Status;

namespace {

Status Invalid(FieldError* error, std::string field, std::string reason, std::string message) {
  if (error != nullptr) *error = FieldError{std::move(field), std::move(reason)};
  return Status::InvalidArgument(std::move(message));
}

double Now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

Result<json::object> ReadJsonObject(const fs::path& p) {
  auto text = ReadTextFile(p);
  if (!text.ok()) return text.status();
  boost::system::error_code ec;
  json::value v = runtrack::ParseJson(*text, ec);
  if (ec || !v.is_object()) return Status::Corruption(fmt::format("{} is not a JSON object", p.string()));
  return std::move(v.as_object());
}

// A POSIX shell word: single-quoted, with embedded quotes spelled '\''.
std::string ShellQuote(std::string_view s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// "YYYYMMDD_HHMMSS_xxxxxx", the run id form ValidateRunId accepts.
Result<std::string> NewRunId() {
  unsigned char r[3];
  if (RAND_bytes(r, sizeof r) != 1) return Status::Internal("RAND_bytes failed");
  std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%d_%H%M%S", &tm);
  return fmt::format("{}_{:02x}{:02x}{:02x}", buf, r[0], r[1], r[2]);
}

// The model name an output_dir asks for: its last component ("./models/my_model" -> "my_model").
// Only a name is taken from it: the model's files always go to the job's own folder.
Result<std::string> ModelNameFromOutputDir(const std::string& output_dir, FieldError* error) {
  auto bad = [&](const std::string& why) {
    return Invalid(error, "config.output_dir", "invalid", fmt::format("config.output_dir {}", why));
  };
  if (output_dir.empty() || output_dir.size() > 1024) return bad("must be 1..1024 bytes");
  if (output_dir.front() == '/' || output_dir.find('\\') != std::string::npos)
    return bad("must be a relative '/'-separated path");
  std::string last;
  size_t start = 0;
  while (start <= output_dir.size()) {
    size_t slash = output_dir.find('/', start);
    std::string part = output_dir.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    if (part == "..") return bad("must not contain '..'");
    if (!part.empty() && part != ".") last = part;
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  if (last.empty()) return bad("must name a folder");
  if (Status s = runtrack::ValidateArtifactName(last); !s.ok()) return bad("names an invalid model: " + s.message());
  return last;
}

bool HasRegularFile(const fs::path& dir) {
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    if (it->is_regular_file(ec)) return true;
  return false;
}

std::string JobStatusName(runtrack::TaskStatus s) {
  switch (s) {
    case runtrack::TaskStatus::kPending:
    case runtrack::TaskStatus::kQueued: return "queued";
    case runtrack::TaskStatus::kRunning: return "running";
    case runtrack::TaskStatus::kCompleted: return "completed";
    case runtrack::TaskStatus::kFailed: return "failed";
    case runtrack::TaskStatus::kCancelled: return "canceled";
  }
  return "failed";
}

// One job of the Training page from its job.json facts and its status.
JobSummary SummaryOf(const json::object& facts, JobStatus status) {
  JobSummary j;
  j.status = std::move(status);
  if (const auto* c = facts.if_contains("created_at"); c != nullptr && c->is_number()) j.created_at = c->to_number<double>();
  const std::string& st = j.status.status;
  if (st == "completed" || st == "failed" || st == "canceled") j.finished_at = j.status.updated_at;
  if (const auto* d = facts.if_contains("dataset"); d != nullptr && d->is_string()) j.dataset = std::string(d->as_string());
  if (const auto* m = facts.if_contains("model_name"); m != nullptr && m->is_string())
    j.model_name = std::string(m->as_string());
  if (const auto* u = facts.if_contains("user"); u != nullptr && u->is_string()) j.user = std::string(u->as_string());
  if (const auto* c = facts.if_contains("config"); c != nullptr && c->is_object())
    if (const auto* n = c->as_object().if_contains("num_epochs"); n != nullptr && n->is_int64()) j.num_epochs = n->as_int64();
  return j;
}

bool Ended(const std::string& status) { return status == "completed" || status == "failed" || status == "canceled"; }

// A board job as readers report it: one its replica left unfinished when it went away is failed.
BoardJob Settled(BoardJob b) {
  if (!b.owner_alive && !Ended(b.status.status)) {
    b.status.status = "failed";
    b.status.error = fmt::format("the replica that ran this job ({}) is gone; the job did not finish", b.replica_id);
  }
  return b;
}

// The board unreachable is "retry later" (503), as the team's artifacts answer.
Status TeamUnavailable(const Status& s) {
  if (s.code() == runtrack::StatusCode::kIOError)
    return Status::Busy(fmt::format("the team catalog is unreachable: {}", s.message()));
  return s;
}

// What identifies a published status: any change of it is published again.
std::string StatusText(const JobStatus& s) {
  json::object metrics;
  for (const auto& [k, v] : s.metrics)
    if (std::isfinite(v)) metrics[k] = v;
  return json::serialize(json::object{{"status", s.status},
                                      {"progress", s.progress},
                                      {"metrics", metrics},
                                      {"run_id", s.run_id},
                                      {"started_at", s.started_at ? json::value(*s.started_at) : json::value()},
                                      {"updated_at", s.updated_at},
                                      {"model_id", s.model_id ? json::value(*s.model_id) : json::value()},
                                      {"error", s.error}});
}

}  // namespace

bool IsUuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return false;
  }
  return true;
}

TrainingService::TrainingService(runtrack::StoreLayout layout, LlmServiceConfig config, const RunService& runs,
                                 std::shared_ptr<DatasetArtifacts> artifacts, std::shared_ptr<TrainingJobBoard> board)
    : layout_(std::move(layout)),
      config_(std::move(config)),
      runs_(runs),
      artifacts_(artifacts ? std::move(artifacts) : std::make_shared<LocalDatasetArtifacts>(layout_)),
      board_(std::move(board)),
      generations_(config_.generate_concurrency, config_.generate_queue,
                   std::chrono::seconds(config_.generate_timeout_seconds)) {
  sweep_ = std::thread([this] { SweepLoop(); });
}

TrainingService::~TrainingService() {
  {
    std::lock_guard<std::mutex> lock(sweep_mu_);
    stopping_ = true;
  }
  sweep_cv_.notify_all();
  sweep_.join();
  std::lock_guard<std::mutex> lock(mu_);
  runner_.reset();
  workspace_.reset();
}

void TrainingService::SweepLoop() {
  std::unique_lock<std::mutex> lock(sweep_mu_);
  while (!sweep_cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stopping_; })) {
    lock.unlock();
    bool active;
    {
      std::lock_guard<std::mutex> g(mu_);
      active = runner_ != nullptr;
    }
    // Only a process that runs jobs sweeps; others finalise on read.
    if (active) {
      (void)FinalizeCompleted();
      if (board_) SyncBoard();
    }
    lock.lock();
  }
}

Status TrainingService::EnsureRunner() {
  std::lock_guard<std::mutex> lock(mu_);
  if (runner_) return Status::Ok();
  if (!workspace_) {
    std::error_code ec;
    fs::create_directories(layout_.training_dir(), ec);
    if (ec) return Status::IOError(fmt::format("cannot create {}: {}", layout_.training_dir().string(), ec.message()));
    auto ws = runtrack::Workspace::OpenShell(layout_.training_dir());
    if (!ws.ok()) return ws.status();
    workspace_ = std::move(*ws);
  }
  runtrack::TaskRunnerOptions o;
  o.workers = config_.workers;
  o.runicorn_dir = layout_.root();
  // Starting the runner also reconciles jobs whose runner (an earlier viewer) is gone.
  auto runner = runtrack::TaskRunner::Start(*workspace_, std::move(o));
  if (!runner.ok()) return runner.status();
  runner_ = std::move(*runner);
  return Status::Ok();
}

Result<TrainStarted> TrainingService::Train(const TrainRequest& req, FieldError* error) {
  if (config_.trainer.empty())
    return Status::Busy("No trainer is configured: start the viewer with --llm-service FILE");
  if (!std::isfinite(req.learning_rate) || req.learning_rate <= 0 || req.learning_rate > 1)
    return Invalid(error, "config.learning_rate", "out_of_range", "config.learning_rate must be in (0, 1]");
  if (req.batch_size < 1 || req.batch_size > 65536)
    return Invalid(error, "config.batch_size", "out_of_range", "config.batch_size must be in [1, 65536]");
  if (req.num_epochs < 1 || req.num_epochs > 10000)
    return Invalid(error, "config.num_epochs", "out_of_range", "config.num_epochs must be in [1, 10000]");
  if (req.quantization) {
    if (*req.quantization != "int8" && *req.quantization != "int4")
      return Invalid(error, "config.quantization", "invalid_value",
                     "config.quantization must be \"int8\", \"int4\" or null");
    if (std::find(config_.quantization.begin(), config_.quantization.end(), *req.quantization) ==
        config_.quantization.end())
      return Invalid(error, "config.quantization", "unsupported",
                     fmt::format("config.quantization \"{}\" is not supported by this server's trainer{}",
                                 *req.quantization,
                                 config_.quantization.empty()
                                     ? std::string(" (it supports none)")
                                     : fmt::format(" (supported: {})", fmt::join(config_.quantization, ", "))));
  }
  if (req.lora) {
    if (req.lora_r < 1 || req.lora_r > 4096)
      return Invalid(error, "lora_config.r", "out_of_range", "lora_config.r must be in [1, 4096]");
    if (req.lora_alpha < 1 || req.lora_alpha > 1000000)
      return Invalid(error, "lora_config.lora_alpha", "out_of_range", "lora_config.lora_alpha must be in [1, 1000000]");
    if (!std::isfinite(req.lora_dropout) || req.lora_dropout < 0 || req.lora_dropout >= 1)
      return Invalid(error, "lora_config.lora_dropout", "out_of_range", "lora_config.lora_dropout must be in [0, 1)");
  } else if (req.base_model) {
    return Invalid(error, "base_model", "requires_lora", "base_model needs lora_config: adapters are trained on it");
  }
  auto model_name = ModelNameFromOutputDir(req.output_dir, error);
  if (!model_name.ok()) return model_name.status();
  {
    // Refused now rather than after training: a name is one artifact type's.
    auto all = artifacts_->ListArtifacts(std::nullopt);
    if (!all.ok()) return all.status();
    for (const auto& a : *all)
      if (a.name == *model_name && a.type != runtrack::ArtifactType::kModel) {
        if (error != nullptr) *error = FieldError{"config.output_dir", "conflict"};
        return Status::AlreadyExists(fmt::format("config.output_dir names the model '{}', which is already a {} artifact",
                                                 a.name, runtrack::ArtifactTypeName(a.type)));
      }
  }

  DatasetService datasets(layout_, artifacts_);
  auto dataset = datasets.Get(req.dataset_path);
  if (!dataset.ok()) {
    if (dataset.status().code() == runtrack::StatusCode::kInvalidArgument)
      return Invalid(error, "dataset_path", "invalid", dataset.status().message());
    if (error != nullptr) *error = FieldError{"dataset_path", "not_found"};
    return dataset.status();
  }
  std::optional<ModelInfo> base;
  if (req.base_model) {
    ModelService models(layout_, artifacts_);
    auto m = models.Resolve(*req.base_model);
    if (!m.ok()) {
      if (error != nullptr)
        *error = FieldError{"base_model", m.status().code() == runtrack::StatusCode::kNotFound ? "not_found" : "invalid"};
      return m.status();
    }
    base = std::move(*m);
  }
  if (Status s = EnsureRunner(); !s.ok()) return s;

  TrainStarted started;
  started.task_id = NewUuid();
  started.created_at = Now();
  auto run_id = NewRunId();
  if (!run_id.ok()) return run_id.status();
  const fs::path job = layout_.training_job_dir(started.task_id);
  std::error_code ec;
  fs::create_directories(job / "output", ec);
  if (ec) return Status::IOError(fmt::format("cannot create {}: {}", job.string(), ec.message()));
  // A job that fails to start leaves no folder behind.
  auto fail = [&](Status s) {
    std::error_code rm;
    fs::remove_all(job, rm);
    return s;
  };
  // On the team back end the handles read chunks from the bucket.
  {
    auto handle = artifacts_->Use(dataset->id, "");
    if (!handle.ok()) return fail(handle.status());
    if (Status s = handle->Download(job / "dataset"); !s.ok()) return fail(s);
  }
  if (base) {
    auto handle = artifacts_->Use(base->id, "");
    if (!handle.ok()) return fail(handle.status());
    if (Status s = handle->Download(job / "base_model"); !s.ok()) return fail(s);
  }

  json::object training_config{{"learning_rate", req.learning_rate},
                               {"batch_size", req.batch_size},
                               {"num_epochs", req.num_epochs},
                               {"output_dir", req.output_dir},
                               {"quantization", req.quantization ? json::value(*req.quantization) : json::value()}};
  json::value lora = req.lora ? json::value(json::object{{"r", req.lora_r},
                                                         {"lora_alpha", req.lora_alpha},
                                                         {"lora_dropout", req.lora_dropout}})
                              : json::value();
  json::object facts{{"task_id", started.task_id},
                     {"run_id", *run_id},
                     {"project", "llm_service"},
                     {"run_name", *model_name},
                     {"dataset", dataset->id},
                     {"model_name", *model_name},
                     {"base_model", base ? json::value(base->id) : json::value()},
                     {"config", training_config},
                     {"lora_config", lora},
                     {"seed", req.seed ? json::value(*req.seed) : json::value()},
                     {"user", req.user},
                     {"created_at", started.created_at}};
  if (Status s = WriteTextFileAtomic(job / "job.json", json::serialize(facts)); !s.ok()) return fail(s);
  json::object trainer_config = facts;
  trainer_config["dataset_dir"] = (job / "dataset").string();
  trainer_config["base_model_dir"] = base ? json::value((job / "base_model").string()) : json::value();
  trainer_config["output_dir"] = (job / "output").string();
  trainer_config["runicorn_dir"] = layout_.root().string();
  if (Status s = WriteTextFileAtomic(job / "config.json", json::serialize(trainer_config)); !s.ok()) return fail(s);

  runtrack::CreateTasksOptions t;
  t.name_prefix = started.task_id;
  t.append_timestamp = false;
  t.mode = runtrack::TaskCreationMode::kSingle;
  // The command is the server's own configuration; only paths built from the store root and a
  // UUID are added, quoted.
  t.shell_text = fmt::format("cd {} && exec {} {}\n", ShellQuote(config_.dir.string()), config_.trainer,
                             ShellQuote((job / "config.json").string()));
  t.env = {{"RUNICORN_DIR", layout_.root().string()}};
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto names = workspace_->CreateTasks(t);
    if (!names.ok()) return fail(names.status());
    if (names->size() != 1 || names->front() != started.task_id)
      return fail(Status::Internal("the task runner named the training task unexpectedly"));
    auto report = runner_->Submit(*names);
    if (!report.ok()) return report.status();
    if (!report->skipped.empty()) return report->skipped.front().second;
  }
  // Other replicas see the job at once (best effort: the sweep publishes it otherwise).
  if (board_)
    if (auto st = GetStatus(started.task_id); st.ok()) Publish(*st);
  return started;
}

Result<std::string> TrainingService::Finalize(const std::string& task_id) {
  const fs::path job = layout_.training_job_dir(task_id);
  if (auto done = ReadTextFile(job / "model"); done.ok()) return *done;
  auto facts = ReadJsonObject(job / "job.json");
  if (!facts.ok()) return facts.status();
  const std::string run_id(facts->at("run_id").as_string());
  std::map<std::string, double> metrics;
  auto run = runs_.Get(run_id);
  if (run.ok()) {
    // The last points reach the catalog shortly after the process ends; finalise once the run's
    // end is indexed, so the model's metrics are the run's final ones.
    if (run->run.status == runtrack::RunStatus::kRunning) return Status::Busy("the job's run is still being indexed");
    for (const auto& m : run->metrics) metrics[m.name] = m.last_value;
  } else if (run.status().code() != runtrack::StatusCode::kNotFound) {
    return run.status();
  }
  if (!HasRegularFile(job / "output"))
    return Status::FailedPrecondition("the trainer exited without writing a model into its output folder");

  auto artifact = runtrack::Artifact::Create(std::string(facts->at("model_name").as_string()),
                                             runtrack::ArtifactType::kModel);
  if (!artifact.ok()) return artifact.status();
  const std::string dataset(facts->at("dataset").as_string());
  artifact->SetDescription(fmt::format("Trained on {} by training job {}", dataset, task_id));
  json::object training_config = facts->at("config").as_object();
  training_config.erase("output_dir");
  if (facts->at("lora_config").is_object())
    for (const auto& [k, v] : facts->at("lora_config").as_object())
      training_config[k == "r" ? "lora_r" : std::string(k)] = v;
  json::object metric_obj;
  for (const auto& [k, v] : metrics)
    if (std::isfinite(v)) metric_obj[k] = v;
  artifact->AddMetadata(json::object{{"task_id", task_id},
                                     {"run_id", run_id},
                                     {"dataset", dataset},
                                     {"base_model", facts->at("base_model")},
                                     {"training_config", training_config},
                                     {"metrics", metric_obj},
                                     {"trained_by", facts->at("user")}});
  if (Status s = artifact->AddDir(job / "output"); !s.ok()) return s;
  // Lineage dataset -> run -> model (and base model -> run).
  if (auto used = artifacts_->Use(dataset, run_id); !used.ok()) return used.status();
  if (facts->at("base_model").is_string())
    if (auto used = artifacts_->Use(facts->at("base_model").as_string(), run_id); !used.ok()) return used.status();
  auto version = artifacts_->Log(*artifact, run_id);
  if (!version.ok()) return version.status();
  std::string id = fmt::format("{}:v{}", artifact->name(), version->version);
  if (Status s = WriteTextFileAtomic(job / "model", id); !s.ok()) return s;
  return id;
}

Status TrainingService::FinalizeCompleted() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!workspace_) return Status::Ok();
  runtrack::TaskListQuery q;
  q.status = runtrack::TaskStatus::kCompleted;
  q.limit = 100000;
  auto page = workspace_->ListTasks(q);
  if (!page.ok()) return page.status();
  for (const auto& t : page->items) {
    if (!IsUuid(t.name)) continue;
    std::error_code ec;
    if (fs::exists(layout_.training_job_dir(t.name) / "model", ec)) continue;
    (void)Finalize(t.name);  // a job without a model is reported failed by Status()
  }
  return Status::Ok();
}

bool TrainingService::IsLocal(const std::string& task_id) const {
  std::error_code ec;
  return fs::exists(layout_.training_job_dir(task_id) / "job.json", ec);
}

Result<JobStatus> TrainingService::GetStatus(const std::string& task_id) {
  if (!IsUuid(task_id)) return Status::InvalidArgument(fmt::format("Invalid task id '{}': expected a UUID", task_id.substr(0, 64)));
  if (!board_ || IsLocal(task_id)) {
    auto st = LocalStatus(task_id);
    if (st.ok() && board_) Publish(*st);
    return st;
  }
  auto remote = RemoteJob(task_id);
  if (!remote.ok()) return remote.status();
  return std::move(remote->status);
}

Result<BoardJob> TrainingService::RemoteJob(const std::string& task_id) {
  auto b = board_->Get(task_id);
  if (!b.ok()) return TeamUnavailable(b.status());
  return Settled(std::move(*b));
}

void TrainingService::Publish(const JobStatus& status) {
  const std::string text = StatusText(status);
  {
    std::lock_guard<std::mutex> lock(published_mu_);
    if (published_[status.task_id] == text) return;
  }
  auto facts = ReadTextFile(layout_.training_job_dir(status.task_id) / "job.json");
  if (!facts.ok()) return;
  boost::system::error_code ec;
  json::value parsed = runtrack::ParseJson(*facts, ec);
  if (ec || !parsed.is_object()) return;
  double created_at = 0;
  if (const auto* c = parsed.as_object().if_contains("created_at"); c != nullptr && c->is_number())
    created_at = c->to_number<double>();
  // Failures are retried by the next sweep (nothing is remembered as published).
  if (!board_->Publish(*facts, created_at, status).ok()) return;
  std::lock_guard<std::mutex> lock(published_mu_);
  published_[status.task_id] = text;
  if (Ended(status.status)) published_ended_.insert(status.task_id);
}

void TrainingService::SyncBoard() {
  std::error_code ec;
  const fs::path jobs = layout_.training_job_dir("").parent_path();
  std::vector<std::string> ids;
  for (fs::directory_iterator it(jobs, ec), end; !ec && it != end; it.increment(ec)) {
    std::string id = it->path().filename().string();
    if (IsUuid(id)) ids.push_back(std::move(id));
  }
  for (const auto& id : ids) {
    {
      // Ended and published as such: nothing changes any more.
      std::lock_guard<std::mutex> lock(published_mu_);
      if (published_ended_.count(id) != 0) continue;
    }
    (void)GetStatus(id);  // publishes a change
  }
  auto requests = board_->CancelRequests();
  if (!requests.ok()) return;
  for (const auto& id : *requests) {
    if (!IsUuid(id) || !IsLocal(id)) continue;
    (void)LocalCancel(id);
    (void)GetStatus(id);  // publishes "canceled" (or how it ended first)
  }
}

Result<JobCanceled> TrainingService::Cancel(const std::string& task_id) {
  if (!IsUuid(task_id)) return Status::InvalidArgument(fmt::format("Invalid task id '{}': expected a UUID", task_id.substr(0, 64)));
  if (!board_ || IsLocal(task_id)) {
    auto canceled = LocalCancel(task_id);
    if (canceled.ok() && board_)
      if (auto st = LocalStatus(task_id); st.ok()) Publish(*st);
    return canceled;
  }
  return RemoteCancel(task_id);
}

Result<JobCanceled> TrainingService::RemoteCancel(const std::string& task_id) {
  auto ended = [&](const JobStatus& st) {
    return Status::FailedPrecondition(fmt::format("Training job {} already ended ({})", task_id, st.status));
  };
  auto job = RemoteJob(task_id);
  if (!job.ok()) return job.status();
  if (Ended(job->status.status)) return ended(job->status);
  auto requested = board_->RequestCancel(task_id);
  if (!requested.ok()) return TeamUnavailable(requested.status());
  // Answered as a local cancel is: once the job is gone. The owner's sweep acts within a second
  // or so, then waits for the trainer's process group.
  const auto deadline = std::chrono::steady_clock::now() + kRemoteCancelWait;
  for (;;) {
    job = RemoteJob(task_id);
    if (!job.ok()) return job.status();
    if (job->status.status == "canceled") {
      JobCanceled out;
      out.task_id = task_id;
      out.canceled_at = job->status.updated_at;
      return out;
    }
    if (Ended(job->status.status)) return ended(job->status);
    if (std::chrono::steady_clock::now() > deadline)
      return Status::Busy(fmt::format("Training job {} runs on replica {}, which has not confirmed the cancel yet; "
                                      "the request stands: check its status",
                                      task_id, job->replica_id));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

Result<JobStatus> TrainingService::LocalStatus(const std::string& task_id) {
  const fs::path job = layout_.training_job_dir(task_id);
  auto facts = ReadJsonObject(job / "job.json");
  if (!facts.ok()) {
    if (facts.status().code() == runtrack::StatusCode::kNotFound)
      return Status::NotFound(fmt::format("Training job not found: {}", task_id));
    return facts.status();
  }
  if (Status s = EnsureRunner(); !s.ok()) return s;
  JobStatus out;
  out.task_id = task_id;
  out.run_id = std::string(facts->at("run_id").as_string());
  const double created_at = facts->at("created_at").to_number<double>();
  out.updated_at = created_at;
  std::lock_guard<std::mutex> lock(mu_);
  auto task = workspace_->GetTask(task_id);
  if (!task.ok()) {
    if (task.status().code() == runtrack::StatusCode::kNotFound)
      return Status::NotFound(fmt::format("Training job not found: {}", task_id));
    return task.status();
  }
  out.status = JobStatusName(task->status);
  if (out.status == "completed") {
    auto model = Finalize(task_id);
    if (model.ok()) {
      out.model_id = *model;
    } else if (model.status().code() == runtrack::StatusCode::kBusy) {
      out.status = "running";  // completed once its model exists
    } else {
      out.status = "failed";
      out.error = model.status().message();
    }
  } else if (out.status == "failed") {
    out.error = "the trainer failed; see the job's run log";
  }
  if (auto run = runs_.Get(out.run_id); run.ok()) {
    for (const auto& m : run->metrics) out.metrics[m.name] = m.last_value;
    out.started_at = run->run.created_at;
    out.updated_at = std::max(created_at, run->run.ended_at.value_or(run->run.updated_at));
  }
  if (out.status == "canceled")
    if (auto at = ReadTextFile(job / "canceled_at"); at.ok()) out.updated_at = std::max(out.updated_at, std::atof(at->c_str()));
  if (out.status == "completed") {
    out.progress = 100;
  } else if (out.status != "queued") {
    double p = 0;
    if (auto it = out.metrics.find("progress"); it != out.metrics.end()) {
      p = it->second;
    } else if (auto e = out.metrics.find("epoch"); e != out.metrics.end()) {
      const double epochs = facts->at("config").as_object().at("num_epochs").to_number<double>();
      p = e->second / epochs * 100.0;
    }
    // 100 means "done"; a job still running (or one that stopped) shows less.
    out.progress = std::round(std::clamp(std::isfinite(p) ? p : 0.0, 0.0, 99.9) * 10.0) / 10.0;
  }
  return out;
}

Result<JobCanceled> TrainingService::LocalCancel(const std::string& task_id) {
  auto st = GetStatus(task_id);
  if (!st.ok()) return st.status();
  if (st->status != "queued" && st->status != "running")
    return Status::FailedPrecondition(fmt::format("Training job {} already ended ({})", task_id, st->status));
  runtrack::TaskRunner* runner;
  {
    std::lock_guard<std::mutex> lock(mu_);
    runner = runner_.get();  // GetStatus started it; it lives until the destructor
  }
  // Without mu_: a cancel waits up to the grace period for the process group to go.
  auto outcome = runner->Cancel(task_id);
  if (!outcome.ok()) {
    if (outcome.status().code() == runtrack::StatusCode::kFailedPrecondition)
      return Status::FailedPrecondition(fmt::format("Training job {} already ended", task_id));
    return outcome.status();
  }
  JobCanceled out;
  out.task_id = task_id;
  out.canceled_at = Now();
  (void)WriteTextFileAtomic(layout_.training_job_dir(task_id) / "canceled_at", fmt::format("{:.3f}", out.canceled_at));
  return out;
}

Result<std::vector<JobSummary>> TrainingService::ListJobs() {
  std::vector<JobSummary> out;
  std::error_code ec;
  const fs::path jobs = layout_.training_job_dir("").parent_path();  // the folder of every job dir
  if (fs::exists(jobs, ec)) {
    for (fs::directory_iterator it(jobs, ec), end; !ec && it != end; it.increment(ec)) {
      const std::string id = it->path().filename().string();
      if (!IsUuid(id)) continue;  // only folders this service made
      auto facts = ReadJsonObject(it->path() / "job.json");
      auto status = GetStatus(id);
      // A job being created (no task yet) or removed meanwhile is not listed; other faults are.
      if (!facts.ok() || (!status.ok() && status.status().code() == runtrack::StatusCode::kNotFound)) continue;
      if (!status.ok()) return status.status();
      out.push_back(SummaryOf(*facts, std::move(*status)));
    }
    if (ec) return Status::IOError(fmt::format("cannot list {}: {}", jobs.string(), ec.message()));
  }
  if (board_) {
    // The jobs other replicas run, as they published them.
    std::set<std::string> local;
    for (const auto& j : out) local.insert(j.status.task_id);
    auto published = board_->List();
    if (!published.ok()) return TeamUnavailable(published.status());
    for (auto& b : *published) {
      if (local.count(b.status.task_id) != 0) continue;
      boost::system::error_code jec;
      json::value facts = runtrack::ParseJson(b.facts, jec);
      if (jec || !facts.is_object()) continue;
      out.push_back(SummaryOf(facts.as_object(), Settled(std::move(b)).status));
    }
  }
  std::sort(out.begin(), out.end(), [](const JobSummary& a, const JobSummary& b) {
    return a.created_at != b.created_at ? a.created_at > b.created_at : a.status.task_id < b.status.task_id;
  });
  return out;
}

Result<runtrack::TaskLogChunk> TrainingService::ReadJobLog(const std::string& task_id, const runtrack::TaskLogQuery& query) {
  auto st = GetStatus(task_id);  // validates the id and makes sure the workspace is open
  if (!st.ok()) return st.status();
  if (board_ && !IsLocal(task_id)) {
    auto job = RemoteJob(task_id);
    if (!job.ok()) return job.status();
    return Status::FailedPrecondition(fmt::format(
        "Training job {} runs on replica {}{}: its log is kept on that replica's disk and served there", task_id,
        job->replica_id, job->owner_alive ? "" : " (which is gone)"));
  }
  std::lock_guard<std::mutex> lock(mu_);
  return workspace_->ReadTaskLog(task_id, query);
}

}  // namespace runicorn::service
