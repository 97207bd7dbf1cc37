// /api/v1 training jobs, models and generation (docs/API-v1.md) against a real in-process viewer
// whose training service runs fake trainer / generator commands (tiny shell and Python scripts),
// so every route, field and error code is checked exactly without a model being trained. The
// reference trainer itself is exercised end to end by bindings/python/tests/test_llm_service.py.
//
// Training routes are limited to 10 requests per hour per user, so tests wait for jobs through
// the service (TrainingService::GetStatus) and spread error checks over several users.
#include <signal.h>

#include <chrono>
#include <fstream>
#include <regex>
#include <thread>

#include <catch2/catch.hpp>

#include "runtrack/artifacts.h"
#include "service/training_service.h"
#include "v1_test_support.h"

namespace runicorn::testing {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;
const json::value kNull(nullptr);

const std::string kQaJson =
    R"([{"instruction":"Say hi","response":"hi"},{"instruction":"Add 1+1","response":"2"},)"
    R"({"instruction":"Capital of France?","response":"Paris"}])";

const std::regex kUuid("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
const std::regex kIso(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z)");
const std::regex kRunId(R"(\d{8}_\d{6}_[0-9a-f]{6})");

void WriteFile(const fs::path& p, const std::string& content) {
  std::ofstream out(p, std::ios::binary);
  out << content;
  REQUIRE(out.good());
}

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The trainers: $1 is the job's config.json, in the job folder whose output/ becomes the model.
// `ok` copies its config into the model (so tests see what it was given); `gated` waits for a
// `go` file in the job folder first; `slow` records its pids and sleeps; `empty` writes nothing;
// `crash` exits 3.
const char* kTrainers = R"(
job=$(dirname "$1")
case "$0" in
  *ok.sh) cp "$1" "$job/output/seen_config.json"; printf weights > "$job/output/model.bin" ;;
  *gated.sh) while [ ! -f "$job/go" ]; do sleep 0.02; done; printf gated > "$job/output/model.bin" ;;
  *slow.sh) echo $$ > "$job/trainer.pid"; sleep 30 & echo $! > "$job/sleep.pid"; wait ;;
  *empty.sh) exit 0 ;;
  *crash.sh) exit 3 ;;
esac
)";

// Echoes every sampling parameter it was given, and the model file it was handed.
const char* kGenerator = R"(import json, os, sys
req = json.load(open(sys.argv[1]))
weights = open(os.path.join(req["model_dir"], "model.bin")).read()
texts = [["%s|%s|t=%s|p=%s|k=%s|max=%s|seed=%s|n=%d" % (p, weights, req["temperature"], req["top_p"], req["top_k"],
          req["max_length"], req["seed"], i) for i in range(req["num_return_sequences"])] for p in req["prompts"]]
json.dump({"generated_texts": texts}, open(sys.argv[2], "w"))
)";

struct TrainEnv {
  explicit TrainEnv(const std::string& trainer = "ok", const std::string& generator = "gen.py",
                    std::vector<std::string> quantization = {"int8"}) {
    const fs::path dir = s.dir() / "llm";
    fs::create_directories(dir);
    for (const char* name : {"ok.sh", "gated.sh", "slow.sh", "empty.sh", "crash.sh"}) WriteFile(dir / name, kTrainers);
    WriteFile(dir / "gen.py", kGenerator);
    WriteFile(dir / "bad_gen.py", "import sys\nsys.stderr.write('boom')\nsys.exit(4)\n");
    service::LlmServiceConfig c;
    c.dir = dir;
    if (!trainer.empty()) c.trainer = "/bin/sh " + trainer + ".sh";
    if (!generator.empty()) c.generator = "/usr/bin/python3 " + generator;
    c.quantization = std::move(quantization);
    Start(c);
    AddUser(s, "ada", "correct-horse");
    token = Login(client, "ada", "correct-horse");
  }
  ~TrainEnv() { s.ctx().services->training.reset(); }

  void Start(service::LlmServiceConfig c) {
    config = c;
    s.ctx().services->training = std::make_shared<service::TrainingService>(
        runtrack::StoreLayout(s.ctx().root), std::move(c), s.ctx().services->runs, s.ctx().services->dataset_artifacts);
  }
  service::TrainingService& training() { return *s.ctx().services->training; }

  // A second user's token, for requests past one user's training limit.
  std::string TokenOf(const std::string& name) {
    AddUser(s, name, "password-" + name);
    return Login(client, name, "password-" + name);
  }

  std::string UploadQa(const std::string& name = "qa") {
    auto r = Upload(s, token, {{"file", kQaJson, "qa.json"}, {"name", name}});
    REQUIRE(r.status == 200);
    return name + ":v1";
  }

  std::string StartJob(const std::string& body) {
    auto r = client.Post("/api/v1/train", body, Bearer(token));
    INFO(r.body);
    REQUIRE(r.status == 200);
    return std::string(r.json().at("task_id").as_string());
  }

  // Polls the service (not the rate-limited route) until the job leaves queued/running.
  service::JobStatus WaitEnded(const std::string& id) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    for (;;) {
      auto st = training().GetStatus(id);
      REQUIRE(st.ok());
      if (st->status != "queued" && st->status != "running") return *st;
      REQUIRE(std::chrono::steady_clock::now() < deadline);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  service::JobStatus WaitStatus(const std::string& id, const std::string& status) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    for (;;) {
      auto st = training().GetStatus(id);
      REQUIRE(st.ok());
      if (st->status == status) return *st;
      REQUIRE(std::chrono::steady_clock::now() < deadline);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  fs::path JobDir(const std::string& id) { return runtrack::StoreLayout(s.ctx().root).training_job_dir(id); }

  TestServer s;
  HttpClient client{s.port()};
  std::string token;
  service::LlmServiceConfig config;
};

void CheckIso(const json::value& v) {
  REQUIRE(v.is_string());
  CHECK(std::regex_match(std::string(v.as_string()), kIso));
}

// Logs a model version straight into the store (as a process on the replica's machine would; on
// the team back end Sync() publishes it); `trained` marks it as a training job's.
void LogModel(TestServer& s, const std::string& name, const std::string& weights, bool trained) {
  const fs::path file = s.dir() / ("weights-" + name);
  WriteFile(file, weights);
  auto a = runtrack::Artifact::Create(name, runtrack::ArtifactType::kModel);
  REQUIRE(a.ok());
  REQUIRE(a->AddFile(file, "model.bin").ok());
  a->SetDescription(name + " model");
  if (trained)
    a->AddMetadata(json::object{{"task_id", "00000000-0000-4000-8000-000000000000"},
                                {"dataset", "qa:v1"},
                                {"training_config", json::object{{"learning_rate", 0.01}, {"num_epochs", 1}}},
                                {"metrics", json::object{{"train_loss", 1.25}}}});
  auto store = runtrack::ArtifactStore::Open(s.ctx().root);
  REQUIRE(store.ok());
  REQUIRE(store->Log(*a, "").ok());
  s.Sync();
}

}  // namespace

TEST_CASE("v1 train: a job runs the trainer as a task and its output becomes a model artifact", "[v1train]") {
  TrainEnv env;
  const std::string dataset = env.UploadQa();
  auto r = env.client.Post("/api/v1/train",
                           R"({"dataset_path":"qa:v1","config":{"learning_rate":0.001,"batch_size":4,"num_epochs":2,)"
                           R"("output_dir":"./models/my_model","quantization":"int8"},"lora_config":{"r":4,"lora_alpha":8}})",
                           Bearer(env.token));
  INFO(r.body);
  REQUIRE(r.status == 200);
  auto started = r.json().as_object();
  CHECK(started.size() == 4);
  const std::string id(started.at("task_id").as_string());
  CHECK(std::regex_match(id, kUuid));
  CHECK(started.at("status") == json::value("started"));
  CHECK(started.at("message") == json::value("Training job started"));
  CheckIso(started.at("created_at"));
  CHECK(r.header("x-ratelimit-limit") == "10");

  auto done = env.WaitEnded(id);
  REQUIRE(done.status == "completed");
  auto st = env.client.Get("/api/v1/train/status/" + id, Bearer(env.token));
  INFO(st.body);
  REQUIRE(st.status == 200);
  auto o = st.json().as_object();
  CHECK(o.size() == 8);
  CHECK(o.at("task_id") == json::value(id));
  CHECK(o.at("status") == json::value("completed"));
  CHECK(o.at("progress") == json::value(100.0));
  CHECK(o.at("metrics") == json::value(json::object{}));  // this trainer logged no run
  CHECK(o.at("started_at") == kNull);
  CheckIso(o.at("updated_at"));
  CHECK(std::regex_match(std::string(o.at("run_id").as_string()), kRunId));
  CHECK(o.at("model_path") == json::value("my_model:v1"));

  // What the trainer was handed: the job's facts, its folders, and the resolved defaults.
  auto seen = json::parse(ReadFile(env.JobDir(id) / "output" / "seen_config.json")).as_object();
  CHECK(seen.at("task_id") == json::value(id));
  CHECK(seen.at("run_id") == o.at("run_id"));
  CHECK(seen.at("dataset") == json::value("qa:v1"));
  CHECK(seen.at("model_name") == json::value("my_model"));
  CHECK(seen.at("config") == json::parse(R"({"learning_rate":0.001,"batch_size":4,"num_epochs":2,)"
                                         R"("output_dir":"./models/my_model","quantization":"int8"})"));
  CHECK(seen.at("lora_config") == json::parse(R"({"r":4,"lora_alpha":8,"lora_dropout":0.05})"));
  CHECK(seen.at("base_model") == kNull);
  CHECK(seen.at("user") == json::value("ada"));
  CHECK(seen.at("dataset_dir") == json::value((env.JobDir(id) / "dataset").string()));
  CHECK(ReadFile(env.JobDir(id) / "dataset" / "data.json") == kQaJson);
  CHECK(seen.at("output_dir") == json::value((env.JobDir(id) / "output").string()));
  CHECK(seen.at("runicorn_dir") == json::value(env.s.ctx().root.string()));

  // The model is listed, with its training config, and its lineage leads to the dataset.
  auto list = env.client.Get("/api/v1/models", Bearer(env.token));
  REQUIRE(list.status == 200);
  auto lo = list.json().as_object();
  CHECK(lo.size() == 3);
  CHECK(lo.at("count") == json::value(1));
  CheckIso(lo.at("timestamp"));
  auto m = lo.at("models").as_array().at(0).as_object();
  CheckIso(m.at("created_at"));
  m.erase("created_at");
  CHECK(m == json::object{{"id", "my_model:v1"},
                          {"name", "my_model"},
                          {"path", "my_model:v1"},
                          {"base_model", nullptr},
                          {"size_mb", 0.0},
                          {"description", "Trained on qa:v1 by training job " + id}});
  auto detail = env.client.Get("/api/v1/models/my_model:v1", Bearer(env.token));
  REQUIRE(detail.status == 200);
  auto d = detail.json().as_object();
  CHECK(d.size() == 13);
  CHECK(d.at("dataset") == json::value("qa:v1"));
  CHECK(d.at("task_id") == json::value(id));
  CHECK(d.at("training_config") == json::parse(R"({"learning_rate":0.001,"batch_size":4,"num_epochs":2,)"
                                               R"("lora_r":4,"lora_alpha":8,"lora_dropout":0.05,"quantization":"int8"})"));
  CHECK(d.at("metrics") == json::value(json::object{}));
  CHECK(d.at("last_used") == kNull);
  CHECK(d.at("usage_count") == json::value(0));

  // Through the server's artifact service: the store's, or PostgreSQL's and the bucket's.
  auto lineage = env.s.ctx().services->artifacts.Lineage({"my_model", 1, runtrack::ArtifactType::kModel}, 3);
  REQUIRE(lineage.ok());
  const std::string run_id(o.at("run_id").as_string());
  auto has_edge = [&](const std::string& from, const std::string& to, const std::string& type) {
    const auto& edges = lineage->graph.edges;
    return std::any_of(edges.begin(), edges.end(), [&](const runtrack::LineageEdge& e) {
      return e.source == from && e.target == to && e.edge_type == type;
    });
  };
  CHECK(has_edge(run_id, "my_model:v1", "produces"));
  CHECK(has_edge("qa:v1", run_id, "uses"));
  CHECK(ReadArtifactFile(env.s, "my_model:v1", "model.bin") == "weights");
}

TEST_CASE("v1 train status: progress and metrics are the job's run's latest values, live", "[v1train]") {
  TrainEnv env("gated");
  env.UploadQa();
  const std::string id = env.StartJob(R"({"dataset_path":"qa:v1","config":{"num_epochs":4}})");
  auto running = env.WaitStatus(id, "running");
  // The trainer's run, logged as `import runicorn` would: under the run id of the job.
  runtrack::RunOptions ro;
  ro.project = "llm_service";
  ro.name = "checkpoints";
  ro.run_id = running.run_id;
  auto run = env.s.store().CreateRun(ro);
  REQUIRE(run.ok());
  REQUIRE((*run)->Log({{"train_loss", 2.5}, {"learning_rate", 0.0001}, {"epoch", 1.0}}, 1).ok());
  REQUIRE((*run)->Flush().ok());
  env.s.Sync();

  auto st = env.client.Get("/api/v1/train/status/" + id, Bearer(env.token));
  INFO(st.body);
  REQUIRE(st.status == 200);
  auto o = st.json().as_object();
  CHECK(o.at("status") == json::value("running"));
  CHECK(o.at("progress") == json::value(25.0));  // epoch 1 of 4
  CHECK(o.at("metrics") == json::parse(R"({"epoch":1.0,"learning_rate":0.0001,"train_loss":2.5})"));
  CheckIso(o.at("started_at"));
  CHECK(o.at("model_path") == kNull);

  REQUIRE((*run)->Log({{"train_loss", 1.5}, {"epoch", 3.0}}, 2).ok());
  REQUIRE((*run)->Flush().ok());
  env.s.Sync();
  auto later = env.client.Get("/api/v1/train/status/" + id, Bearer(env.token)).json().as_object();
  CHECK(later.at("progress") == json::value(75.0));
  CHECK(later.at("metrics") == json::parse(R"({"epoch":3.0,"learning_rate":0.0001,"train_loss":1.5})"));

  // Done: the model records the run's final values.
  REQUIRE((*run)->Finish().ok());
  env.s.Sync();
  WriteFile(env.JobDir(id) / "go", "");
  auto done = env.WaitEnded(id);
  REQUIRE(done.status == "completed");
  CHECK(done.progress == 100);
  auto d = env.client.Get("/api/v1/models/checkpoints:v1", Bearer(env.token)).json().as_object();
  CHECK(d.at("metrics") == json::parse(R"({"epoch":3.0,"learning_rate":0.0001,"train_loss":1.5})"));
  CHECK(d.at("training_config") == json::parse(R"({"learning_rate":3e-5,"batch_size":8,"num_epochs":4})"));
}

TEST_CASE("v1 train cancel kills the trainer's process group and logs no model", "[v1train]") {
  TrainEnv env("slow");
  env.UploadQa();
  const std::string id = env.StartJob(R"({"dataset_path":"qa:v1"})");
  env.WaitStatus(id, "running");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!fs::exists(env.JobDir(id) / "sleep.pid")) {
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the pid file's content is written
  const int sleep_pid = std::stoi(ReadFile(env.JobDir(id) / "sleep.pid"));

  auto r = env.client.Post("/api/v1/train/cancel/" + id, "", Bearer(env.token));
  INFO(r.body);
  REQUIRE(r.status == 200);
  auto o = r.json().as_object();
  CHECK(o.size() == 4);
  CHECK(o.at("task_id") == json::value(id));
  CHECK(o.at("status") == json::value("canceled"));
  CHECK(o.at("message") == json::value("Training job canceled"));
  CheckIso(o.at("canceled_at"));
  // The trainer's child is gone too (or only a zombie awaiting its reaper).
  const std::string stat = ReadFile("/proc/" + std::to_string(sleep_pid) + "/stat");
  CHECK((stat.empty() || stat.find(") Z ") != std::string::npos));

  auto st = env.client.Get("/api/v1/train/status/" + id, Bearer(env.token)).json().as_object();
  CHECK(st.at("status") == json::value("canceled"));
  CHECK(st.at("model_path") == kNull);
  CHECK(env.client.Get("/api/v1/models", Bearer(env.token)).json().at("count") == json::value(0));
  CheckEnvelope(env.client.Post("/api/v1/train/cancel/" + id, "", Bearer(env.token)), 409, "CONFLICT",
                "Training job " + id + " already ended (canceled)", json::value("task_id"), "conflict");
}

TEST_CASE("v1 train: a trainer that fails or writes no model leaves a failed job", "[v1train]") {
  TrainEnv env("crash");
  env.UploadQa();
  const std::string crashed = env.StartJob(R"({"dataset_path":"qa:v1"})");
  CHECK(env.WaitEnded(crashed).status == "failed");
  auto st = env.client.Get("/api/v1/train/status/" + crashed, Bearer(env.token)).json().as_object();
  CHECK(st.at("status") == json::value("failed"));
  CHECK(st.at("error") == json::value("the trainer failed; see the job's run log"));
  CHECK(st.size() == 9);

  env.s.ctx().services->training.reset();
  auto c = env.config;
  c.trainer = "/bin/sh empty.sh";
  env.Start(c);
  const std::string empty = env.StartJob(R"({"dataset_path":"qa:v1"})");
  auto done = env.WaitEnded(empty);
  CHECK(done.status == "failed");
  CHECK(done.error == "the trainer exited without writing a model into its output folder");
  CHECK(env.client.Get("/api/v1/models", Bearer(env.token)).json().at("count") == json::value(0));
}

TEST_CASE("v1 train: jobs survive a restart of the service (disk is the truth)", "[v1train]") {
  TrainEnv env("ok");
  env.UploadQa();
  const std::string finished = env.StartJob(R"({"dataset_path":"qa:v1"})");
  REQUIRE(env.WaitEnded(finished).status == "completed");
  env.s.ctx().services->training.reset();
  auto c = env.config;
  c.trainer = "/bin/sh slow.sh";
  env.Start(c);
  const std::string running = env.StartJob(R"({"dataset_path":"qa:v1"})");
  env.WaitStatus(running, "running");
  // The viewer stops: its running job is failed (the runner's shutdown), nothing is lost.
  env.s.ctx().services->training.reset();
  env.Start(env.config);
  auto a = env.training().GetStatus(finished);
  REQUIRE(a.ok());
  CHECK(a->status == "completed");
  CHECK(a->model_id == std::optional<std::string>("checkpoints:v1"));
  auto b = env.training().GetStatus(running);
  REQUIRE(b.ok());
  CHECK(b->status == "failed");
  CHECK(env.client.Get("/api/v1/models", Bearer(env.token)).json().at("count") == json::value(1));
}

TEST_CASE("v1 train: invalid requests are 400/404 in the envelope, naming the field", "[v1train]") {
  TrainEnv env;
  env.UploadQa();
  // Ten training requests per user and hour: one user per group of checks.
  const std::vector<std::string> tokens = {env.token, env.TokenOf("bob"), env.TokenOf("cy")};
  int n = 0;
  auto post = [&](const std::string& body) { return env.client.Post("/api/v1/train", body, Bearer(tokens[n++ / 9])); };
  CheckEnvelope(post(R"({"config":{}})"), 400, "INVALID_REQUEST", "Field 'dataset_path' is required",
                json::value("dataset_path"), "required");
  CheckEnvelope(post(R"({"dataset_path":"qa:v1","epochs":3})"), 400, "INVALID_REQUEST", "Unknown field 'epochs'",
                json::value("epochs"), "unknown_field");
  CheckEnvelope(post(R"({"dataset_path":"qa:v1","config":{"batch_size":"8"}})"), 400, "INVALID_REQUEST",
                "Field 'config.batch_size' must be an integer", json::value("config.batch_size"), "invalid_type");
  CheckEnvelope(post(R"({"dataset_path":"qa:v1","config":{"lr":0.1}})"), 400, "INVALID_REQUEST",
                "Unknown field 'config.lr'", json::value("config.lr"), "unknown_field");
  CheckEnvelope(post(R"({"dataset_path":"qa:v1","config":[]})"), 400, "INVALID_REQUEST",
                "Field 'config' must be an object", json::value("config"), "invalid_type");
  CheckEnvelope(post(R"({"dataset_path":"qa:v1","lora_config":{"r":0}})"), 400, "INVALID_REQUEST",
                "lora_config.r must be in [1, 4096]", json::value("lora_config.r"), "out_of_range");
  CheckEnvelope(post(R"({"dataset_path":"qa:v1","lora_config":{"lora_dropout":1.0}})"), 400, "INVALID_REQUEST",
                "lora_config.lora_dropout must be in [0, 1)", json::value("lora_config.lora_dropout"), "out_of_range");
  CheckEnvelope(post(R"({"dataset_path":"qa:v1","config":{"learning_rate":0}})"), 400, "INVALID_REQUEST",
                "config.learning_rate must be in (0, 1]", json::value("config.learning_rate"), "out_of_range");
  CheckEnvelope(post(R"({"dataset_path":"qa:v1","config":{"num_epochs":0}})"), 400, "INVALID_REQUEST",
                "config.num_epochs must be in [1, 10000]", json::value("config.num_epochs"), "out_of_range");
  CheckEnvelope(post(R"({"dataset_path":"qa:v1","config":{"quantization":"int4"}})"), 400, "INVALID_REQUEST",
                "config.quantization \"int4\" is not supported by this server's trainer (supported: int8)",
                json::value("config.quantization"), "unsupported");
  CheckEnvelope(post(R"({"dataset_path":"qa:v1","config":{"quantization":"fp16"}})"), 400, "INVALID_REQUEST",
                "config.quantization must be \"int8\", \"int4\" or null", json::value("config.quantization"),
                "invalid_value");
  CheckEnvelope(post(R"({"dataset_path":"qa:v1","config":{"output_dir":"../../etc"}})"), 400, "INVALID_REQUEST",
                "config.output_dir must not contain '..'", json::value("config.output_dir"), "invalid");
  CheckEnvelope(post(R"({"dataset_path":"qa:v1","config":{"output_dir":"/tmp/x"}})"), 400, "INVALID_REQUEST",
                "config.output_dir must be a relative '/'-separated path", json::value("config.output_dir"),
                "invalid");
  CheckEnvelope(post(R"({"dataset_path":"qa:v1","config":{"output_dir":"models/qa"}})"), 409, "CONFLICT",
                "config.output_dir names the model 'qa', which is already a dataset artifact",
                json::value("config.output_dir"), "conflict");
  CheckEnvelope(post(R"({"dataset_path":"nope:v1"})"), 404, "NOT_FOUND", "Dataset not found: nope:v1",
                json::value("dataset_path"), "not_found");
  CheckEnvelope(post(R"({"dataset_path":"../qa"})"), 400, "INVALID_REQUEST",
                "Invalid dataset id '../qa': expected NAME:vN", json::value("dataset_path"), "invalid");
  CheckEnvelope(post(R"({"dataset_path":"qa:v1","base_model":"m:v1"})"), 400, "INVALID_REQUEST",
                "base_model needs lora_config: adapters are trained on it", json::value("base_model"),
                "requires_lora");
  CheckEnvelope(post(R"({"dataset_path":"qa:v1","base_model":"m:v1","lora_config":{}})"), 404, "NOT_FOUND",
                "Model not found: m:v1", json::value("base_model"), "not_found");
  CheckEnvelope(post(R"({"dataset_path":"qa:v1","seed":-1})"), 400, "INVALID_REQUEST",
                "Field 'seed' must be a non-negative integer", json::value("seed"), "out_of_range");
  // None of them left a job or a folder behind.
  const fs::path jobs = runtrack::StoreLayout(env.s.ctx().root).training_dir() / "jobs";
  const bool no_jobs = !fs::exists(jobs) || fs::is_empty(jobs);
  CHECK(no_jobs);
}

TEST_CASE("v1 train status and cancel: malformed and unknown task ids", "[v1train]") {
  TrainEnv env;
  CheckEnvelope(env.client.Get("/api/v1/train/status/abc", Bearer(env.token)), 400, "INVALID_REQUEST",
                "Invalid task id 'abc': expected a UUID", json::value("task_id"), "invalid");
  CheckEnvelope(env.client.Get("/api/v1/train/status/..%2F..%2Fusers.json", Bearer(env.token)), 400,
                "INVALID_REQUEST", "Invalid task id '../../users.json': expected a UUID", json::value("task_id"),
                "invalid");
  const std::string unknown = "12345678-1234-4678-9234-567812345678";
  CheckEnvelope(env.client.Get("/api/v1/train/status/" + unknown, Bearer(env.token)), 404, "NOT_FOUND",
                "Training job not found: " + unknown, json::value("task_id"), "not_found");
  CheckEnvelope(env.client.Post("/api/v1/train/cancel/" + unknown, "", Bearer(env.token)), 404, "NOT_FOUND",
                "Training job not found: " + unknown, json::value("task_id"), "not_found");
  CheckEnvelope(env.client.Post("/api/v1/train/cancel/" + unknown, R"({"force":true})", Bearer(env.token)), 400,
                "INVALID_REQUEST", "Unknown field 'force'", json::value("force"), "unknown_field");
  CheckEnvelope(env.client.Get("/api/v1/train/status/" + unknown), 401, "UNAUTHORIZED",
                "Missing bearer token: log in with POST /api/v1/login", kNull, "missing_token");
}

TEST_CASE("v1 train and generate answer 503 without a trainer or generator", "[v1train]") {
  TrainEnv env("", "");
  env.UploadQa();
  CheckEnvelope(env.client.Post("/api/v1/train", R"({"dataset_path":"qa:v1"})", Bearer(env.token)), 503,
                "SERVICE_UNAVAILABLE", "No trainer is configured: start the viewer with --llm-service FILE", kNull,
                "unavailable");
  LogModel(env.s, "tuned", "w", true);
  CheckEnvelope(env.client.Post("/api/v1/generate", R"({"prompt":"hi"})", Bearer(env.token)), 503,
                "SERVICE_UNAVAILABLE", "No generator is configured: start the viewer with --llm-service FILE", kNull,
                "unavailable");
  env.s.ctx().services->training.reset();
  CheckEnvelope(env.client.Post("/api/v1/generate", R"({"prompt":"hi"})", Bearer(env.token)), 503,
                "SERVICE_UNAVAILABLE", "The training service is not enabled: start the viewer with --llm-service FILE",
                kNull, "unavailable");
}

TEST_CASE("v1 models: list and detail of every model version, newest first", "[v1train]") {
  TrainEnv env;
  LogModel(env.s, "tuned", "w1", true);
  LogModel(env.s, "base", "w2", false);
  auto list = env.client.Get("/api/v1/models", Bearer(env.token));
  REQUIRE(list.status == 200);
  auto models = list.json().at("models").as_array();
  REQUIRE(models.size() == 2);
  CHECK(models[0].at("id") == json::value("base:v1"));
  CHECK(models[1].at("id") == json::value("tuned:v1"));
  auto d = env.client.Get("/api/v1/models/base:v1", Bearer(env.token)).json().as_object();
  CHECK(d.at("description") == json::value("base model"));
  CHECK(d.at("training_config") == json::value(json::object{}));
  CHECK(d.at("dataset") == kNull);
  CHECK(d.at("task_id") == kNull);
  CheckEnvelope(env.client.Get("/api/v1/models/base", Bearer(env.token)), 400, "INVALID_REQUEST",
                "Invalid model id 'base': expected NAME:vN", json::value("model_id"), "invalid");
  CheckEnvelope(env.client.Get("/api/v1/models/base:v2", Bearer(env.token)), 404, "NOT_FOUND",
                "Model not found: base:v2", json::value("model_id"), "not_found");
}

TEST_CASE("v1 generate: sampling parameters reach the generator, model_path defaults to the newest trained model",
          "[v1train]") {
  TrainEnv env;
  CheckEnvelope(env.client.Post("/api/v1/generate", R"({"prompt":"hi"})", Bearer(env.token)), 404, "NOT_FOUND",
                "No trained model yet: train one with POST /api/v1/train or give model_path",
                json::value("model_path"), "not_found");
  LogModel(env.s, "tuned", "w1", true);
  LogModel(env.s, "base", "w2", false);  // newer, but not a training job's

  auto r = env.client.Post("/api/v1/generate",
                           R"({"prompt":"hello","max_length":7,"temperature":0.5,"top_p":0.8,"top_k":3,)"
                           R"("num_return_sequences":2,"seed":11})",
                           Bearer(env.token));
  INFO(r.body);
  REQUIRE(r.status == 200);
  auto o = r.json().as_object();
  CHECK(o.size() == 5);
  CHECK(o.at("prompt") == json::value("hello"));
  CHECK(o.at("generated_texts") == json::parse(R"(["hello|w1|t=0.5|p=0.8|k=3|max=7|seed=11|n=0",)"
                                               R"("hello|w1|t=0.5|p=0.8|k=3|max=7|seed=11|n=1"])"));
  CHECK(o.at("model_path") == json::value("tuned:v1"));
  CHECK(o.at("generation_time").is_double());
  CheckIso(o.at("timestamp"));
  CHECK(r.header("x-ratelimit-limit") == "60");

  // The seed's defaults, and a model named without a version.
  auto d = env.client.Post("/api/v1/generate", R"({"prompt":"x","model_path":"base"})", Bearer(env.token)).json();
  CHECK(d.at("generated_texts") == json::parse(R"(["x|w2|t=0.7|p=0.9|k=50|max=100|seed=None|n=0"])"));
  CHECK(d.at("model_path") == json::value("base:v1"));

  auto b = env.client.Post("/api/v1/generate/batch", R"({"prompts":["a","b"],"temperature":0,"model_path":"tuned:v1"})",
                           Bearer(env.token));
  REQUIRE(b.status == 200);
  auto bo = b.json().as_object();
  CHECK(bo.size() == 4);
  CHECK(bo.at("results") == json::parse(R"([{"prompt":"a","generated_texts":["a|w1|t=0.0|p=0.9|k=50|max=100|seed=None|n=0"]},)"
                                        R"({"prompt":"b","generated_texts":["b|w1|t=0.0|p=0.9|k=50|max=100|seed=None|n=0"]}])"));
  CHECK(bo.at("model_path") == json::value("tuned:v1"));
  CHECK(bo.at("total_generation_time").is_double());
  CheckIso(bo.at("timestamp"));

  // Usage is counted per model version.
  auto detail = env.client.Get("/api/v1/models/tuned:v1", Bearer(env.token)).json().as_object();
  CHECK(detail.at("usage_count") == json::value(2));
  CheckIso(detail.at("last_used"));
  CHECK(detail.at("metrics") == json::parse(R"({"train_loss":1.25})"));
}

TEST_CASE("v1 generate: invalid requests and a failing generator", "[v1train]") {
  TrainEnv env;
  LogModel(env.s, "tuned", "w1", true);
  auto gen = [&](const std::string& body) { return env.client.Post("/api/v1/generate", body, Bearer(env.token)); };
  auto batch = [&](const std::string& body) { return env.client.Post("/api/v1/generate/batch", body, Bearer(env.token)); };
  CheckEnvelope(gen(R"({"max_length":5})"), 400, "INVALID_REQUEST", "Field 'prompt' is required", json::value("prompt"),
                "required");
  CheckEnvelope(gen(R"({"prompt":""})"), 400, "INVALID_REQUEST", "Field 'prompt' must not be empty",
                json::value("prompt"), "required");
  CheckEnvelope(gen(R"({"prompt":"a","beam":2})"), 400, "INVALID_REQUEST", "Unknown field 'beam'", json::value("beam"),
                "unknown_field");
  CheckEnvelope(gen(R"({"prompt":"a","top_k":1.5})"), 400, "INVALID_REQUEST", "Field 'top_k' must be an integer",
                json::value("top_k"), "invalid_type");
  CheckEnvelope(gen(R"({"prompt":"a","temperature":-1})"), 400, "INVALID_REQUEST", "temperature must be in [0, 10]",
                json::value("temperature"), "out_of_range");
  CheckEnvelope(gen(R"({"prompt":"a","top_p":0})"), 400, "INVALID_REQUEST", "top_p must be in (0, 1]",
                json::value("top_p"), "out_of_range");
  CheckEnvelope(gen(R"({"prompt":"a","max_length":0})"), 400, "INVALID_REQUEST", "max_length must be in [1, 4096]",
                json::value("max_length"), "out_of_range");
  CheckEnvelope(gen(R"({"prompt":"a","num_return_sequences":17})"), 400, "INVALID_REQUEST",
                "num_return_sequences must be in [1, 16]", json::value("num_return_sequences"), "out_of_range");
  CheckEnvelope(gen(R"({"prompt":"a","seed":-2})"), 400, "INVALID_REQUEST", "Field 'seed' must be a non-negative integer",
                json::value("seed"), "out_of_range");
  CheckEnvelope(gen(R"({"prompt":"a","model_path":"nope:v3"})"), 404, "NOT_FOUND", "Model not found: nope:v3",
                json::value("model_path"), "not_found");
  CheckEnvelope(gen(R"({"prompt":"a","model_path":"../x"})"), 400, "INVALID_REQUEST",
                "Invalid model '../x': artifact name '../x' contains '/'; not allowed: / \\ : * ? \" < > |", json::value("model_path"), "invalid");
  CheckEnvelope(batch(R"({"prompts":[]})"), 400, "INVALID_REQUEST", "Field 'prompts' must not be empty",
                json::value("prompts"), "required");
  CheckEnvelope(batch(R"({"prompts":["a",1]})"), 400, "INVALID_REQUEST", "Field 'prompts[1]' must be a string",
                json::value("prompts[1]"), "invalid_type");
  CheckEnvelope(batch(R"({"prompts":["a",""]})"), 400, "INVALID_REQUEST", "Field 'prompts[1]' must not be empty",
                json::value("prompts[1]"), "required");
  CheckEnvelope(batch(R"({"prompt":"a"})"), 400, "INVALID_REQUEST", "Unknown field 'prompt'", json::value("prompt"),
                "unknown_field");

  env.s.ctx().services->training.reset();
  auto c = env.config;
  c.generator = "/usr/bin/python3 bad_gen.py";
  env.Start(c);
  CheckEnvelope(gen(R"({"prompt":"a"})"), 500, "INTERNAL_ERROR", "Internal server error", kNull, "internal");
  CHECK(env.client.Get("/api/v1/models/tuned:v1", Bearer(env.token)).json().at("usage_count") == json::value(0));
}

}  // namespace runicorn::testing
