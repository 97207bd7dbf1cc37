// The web UI's view of the training service API's jobs (GET /api/training/jobs and
// /api/training/jobs/{task_id}/log, docs/API-v1.md "Training"): real jobs of a real in-process
// viewer whose trainer is a small shell script, under the viewer's own auth and error body.
#include <chrono>
#include <fstream>
#include <thread>

#include <catch2/catch.hpp>

#include "service/training_service.h"
#include "v1_test_support.h"

namespace runicorn::testing {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;
const json::value kNull(nullptr);

void WriteFile(const fs::path& p, const std::string& content) {
  std::ofstream out(p, std::ios::binary);
  out << content;
  REQUIRE(out.good());
}

// $1 is the job's config.json in the job folder: it says hello, waits for `go` there, writes a
// model.
const char* kTrainer = R"(job=$(dirname "$1")
echo "hello from the trainer"
while [ ! -f "$job/go" ]; do sleep 0.02; done
printf weights > "$job/output/model.bin"
echo "bye"
)";

struct JobsEnv {
  explicit JobsEnv(ServerConfig config = {}) : s(std::move(config)) {
    const fs::path dir = s.dir() / "llm";
    fs::create_directories(dir);
    WriteFile(dir / "gated.sh", kTrainer);
    service::LlmServiceConfig c;
    c.dir = dir;
    c.trainer = "/bin/sh gated.sh";
    c.workers = 1;
    s.ctx().services->training = std::make_shared<service::TrainingService>(
        runtrack::StoreLayout(s.ctx().root), c, s.ctx().services->runs, s.ctx().services->dataset_artifacts);
    AddUser(s, "ada", "correct-horse");
    token = Login(client, "ada", "correct-horse");
    auto up = Upload(s, token, {{"file", R"([{"q":"a","r":"b"}])", "qa.json"}, {"name", "qa"}});
    REQUIRE(up.status == 200);
  }
  ~JobsEnv() { s.ctx().services->training.reset(); }

  std::string StartJob(const std::string& output_dir) {
    auto r = client.Post("/api/v1/train",
                         R"({"dataset_path":"qa:v1","config":{"num_epochs":4,"output_dir":")" + output_dir + R"("}})",
                         Bearer(token));
    INFO(r.body);
    REQUIRE(r.status == 200);
    return std::string(r.json().at("task_id").as_string());
  }
  service::JobStatus WaitStatus(const std::string& id, const std::string& status) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    for (;;) {
      auto st = s.ctx().services->training->GetStatus(id);
      REQUIRE(st.ok());
      if (st->status == status) return *st;
      REQUIRE(std::chrono::steady_clock::now() < deadline);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  fs::path JobDir(const std::string& id) { return runtrack::StoreLayout(s.ctx().root).training_job_dir(id); }
  json::object Jobs(const std::map<std::string, std::string>& headers = {}) {
    auto r = client.Get("/api/training/jobs", headers);
    INFO(r.body);
    REQUIRE(r.status == 200);
    return r.json().as_object();
  }

  TestServer s;
  HttpClient client{s.port()};
  std::string token;
};

// The job entry without its times, which are checked apart.
json::object WithoutTimes(json::object job) {
  for (const char* k : {"created_at", "started_at", "updated_at", "finished_at"}) job.erase(k);
  return job;
}

}  // namespace

TEST_CASE("training jobs: the list shows status, progress, train_loss, run, model and times, live", "[v1jobs]") {
  JobsEnv env;
  CHECK(env.Jobs() == json::parse(R"({"jobs":[],"count":0,"trainer_configured":true})"));

  const std::string a = env.StartJob("./models/alpha");
  const auto running = env.WaitStatus(a, "running");
  const std::string b = env.StartJob("./models/beta");  // waits: one worker
  env.WaitStatus(b, "queued");

  // A's run, logged as the trainer's `import runicorn` would.
  runtrack::RunOptions ro;
  ro.project = "llm_service";
  ro.name = "alpha";
  ro.run_id = running.run_id;
  auto run = env.s.store().CreateRun(ro);
  REQUIRE(run.ok());
  REQUIRE((*run)->Log({{"train_loss", 2.5}, {"epoch", 1.0}}, 1).ok());
  REQUIRE((*run)->Log({{"train_loss", 1.75}, {"epoch", 2.0}}, 2).ok());
  REQUIRE((*run)->Flush().ok());
  env.s.Sync();

  auto list = env.Jobs();
  CHECK(list.at("count") == json::value(2));
  auto jobs = list.at("jobs").as_array();
  REQUIRE(jobs.size() == 2);
  // Newest first.
  CHECK(WithoutTimes(jobs[0].as_object()) == json::object{{"task_id", b},
                                                          {"status", "queued"},
                                                          {"progress", 0.0},
                                                          {"metrics", json::object{}},
                                                          {"train_loss", nullptr},
                                                          {"run_id", jobs[0].at("run_id")},
                                                          {"model_path", nullptr},
                                                          {"model_name", "beta"},
                                                          {"dataset", "qa:v1"},
                                                          {"user", "ada"},
                                                          {"num_epochs", 4},
                                                          {"error", nullptr}});
  CHECK(WithoutTimes(jobs[1].as_object()) ==
        json::object{{"task_id", a},
                     {"status", "running"},
                     {"progress", 50.0},  // epoch 2 of 4
                     {"metrics", json::object{{"epoch", 2.0}, {"train_loss", 1.75}}},
                     {"train_loss", 1.75},
                     {"run_id", running.run_id},
                     {"model_path", nullptr},
                     {"model_name", "alpha"},
                     {"dataset", "qa:v1"},
                     {"user", "ada"},
                     {"num_epochs", 4},
                     {"error", nullptr}});
  const double created = jobs[1].at("created_at").as_double();
  CHECK(jobs[0].at("created_at").as_double() >= created);
  CHECK(jobs[1].at("started_at").is_double());
  CHECK(jobs[0].at("started_at") == kNull);
  CHECK(jobs[1].at("finished_at") == kNull);

  // B canceled, A completed: both carry a finish time, A its model.
  REQUIRE(env.client.Post("/api/v1/train/cancel/" + b, "", Bearer(env.token)).status == 200);
  REQUIRE((*run)->Finish().ok());
  env.s.Sync();
  WriteFile(env.JobDir(a) / "go", "");
  env.WaitStatus(a, "completed");
  jobs = env.Jobs().at("jobs").as_array();
  REQUIRE(jobs.size() == 2);
  CHECK(jobs[0].at("status") == json::value("canceled"));
  CHECK(jobs[0].at("progress") == json::value(0.0));
  CHECK(jobs[0].at("finished_at").as_double() >= jobs[0].at("created_at").as_double());
  CHECK(jobs[1].at("status") == json::value("completed"));
  CHECK(jobs[1].at("progress") == json::value(100.0));
  CHECK(jobs[1].at("train_loss") == json::value(1.75));
  CHECK(jobs[1].at("model_path") == json::value("alpha:v1"));
  CHECK(jobs[1].at("finished_at").as_double() >= created);
}

TEST_CASE("training jobs: a job's task log, and refusals in the viewer's error body", "[v1jobs]") {
  JobsEnv env;
  const std::string a = env.StartJob("./models/alpha");
  env.WaitStatus(a, "running");
  WriteFile(env.JobDir(a) / "go", "");
  env.WaitStatus(a, "completed");
  auto r = env.client.Get("/api/training/jobs/" + a + "/log");
  INFO(r.body);
  REQUIRE(r.status == 200);
  auto o = r.json().as_object();
  CHECK(o.at("task_name") == json::value(a));
  CHECK(o.at("selected_log") == json::value("run1.log"));
  // The task runner's run log: its banners around the trainer's own output.
  const std::string content(o.at("content").as_string());
  CHECK(content.rfind("[PYRUNS] ==================== START ====================\n", 0) == 0);
  CHECK(content.find("\nhello from the trainer\nbye\n") != std::string::npos);
  CHECK(content.find("\n[PYRUNS] Exit code: 0\n") != std::string::npos);
  CHECK(o.at("offset").to_number<uint64_t>() == content.size());

  auto bad = env.client.Get("/api/training/jobs/not-a-uuid/log");
  CHECK(bad.status == 400);
  CHECK(bad.json() == json::parse(R"({"detail":"Invalid task id 'not-a-uuid': expected a UUID"})"));
  const std::string unknown = "00000000-0000-4000-8000-000000000000";
  auto missing = env.client.Get("/api/training/jobs/" + unknown + "/log");
  CHECK(missing.status == 404);
  CHECK(missing.json() == json::parse(R"({"detail":"Training job not found: )" + unknown + R"("})"));
  auto offset = env.client.Get("/api/training/jobs/" + a + "/log?offset=-1");
  CHECK(offset.status == 422);

  // A viewer without the training service lists nothing and serves no log.
  env.s.ctx().services->training.reset();
  CHECK(env.Jobs() == json::parse(R"({"jobs":[],"count":0,"trainer_configured":false})"));
  auto none = env.client.Get("/api/training/jobs/" + a + "/log");
  CHECK(none.status == 404);
  CHECK(none.json() == json::parse(R"({"detail":"this viewer serves no training jobs"})"));
}

TEST_CASE("training jobs: the viewer's --token guards them, a v1 token does not open them", "[v1jobs]") {
  JobsEnv env(ServerConfig{.token = "viewer-secret"});
  auto without = env.client.Get("/api/training/jobs");
  CHECK(without.status == 401);
  auto with_v1 = env.client.Get("/api/training/jobs", Bearer(env.token));
  CHECK(with_v1.status == 401);
  CHECK(env.Jobs(Bearer("viewer-secret")).at("count") == json::value(0));
}

}  // namespace runicorn::testing
