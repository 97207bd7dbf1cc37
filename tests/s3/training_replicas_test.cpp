// Training on the team back end (docs/SCALE-OUT.md "Training on the team back end"): two real
// `runicorn viewer --catalog … --objects … --llm-service FILE` replicas on one PostgreSQL 15 and one
// Ceph RGW bucket. A dataset uploaded through A is trained on through B; the model B logs is listed,
// downloaded, traced and generated with through A; A answers B's job status exactly as B does,
// cancels B's job, and reports a job whose replica is gone as failed. Nothing lands in either
// replica's own artifacts/.
#include <catch2/catch.hpp>

#ifdef RUNICORN_HAVE_PG

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "pg/pg_test_server.h"
#include "rgw_test_server.h"
#include "runicorn_process.h"
#include "runtrack/artifacts.h"
#include "runtrack/layout.h"
#include "service/pg/pg_training_jobs.h"
#include "service/pg/pg_user_repository.h"
#include "team_fixture.h"

namespace {
namespace fs = std::filesystem;
namespace bj = boost::json;
using runicorn::testing::Eventually;
using runicorn::testing::Http;
using runicorn::testing::HttpGet;
using runicorn::testing::HttpReply;
using runicorn::testing::RunicornProcess;

const std::string kQaJson =
    R"([{"instruction":"Say hi","response":"hi"},{"instruction":"Add 1+1","response":"2"}])";

// $1 is the job's config.json. The model named "held" waits (recording its pid) until canceled;
// any other gets model.bin and a copy of the dataset file it was handed.
const char* kTrainer = R"(job=$(dirname "$1")
if grep -q '"model_name":"held"' "$1"; then echo $$ > "$job/trainer.pid"; sleep 60 & wait; exit 0; fi
cp "$job/dataset/data.json" "$job/output/trained_on.json"
echo "trained on $(wc -c < "$job/dataset/data.json") bytes"
printf weights > "$job/output/model.bin"
)";

// Answers with the model's weights, so a generation shows which files it was given.
const char* kGenerator = R"(import json, os, sys
req = json.load(open(sys.argv[1]))
weights = open(os.path.join(req["model_dir"], "model.bin")).read()
json.dump({"generated_texts": [[weights + "|" + p] for p in req["prompts"]]}, open(sys.argv[2], "w"))
)";

std::string Base(int port) { return fmt::format("http://127.0.0.1:{}/api", port); }

void WriteFile(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << text;
  REQUIRE(out.good());
}

// The team back end with the training service configured on its replicas.
struct TrainingTeam : runicorn::testing::TeamBackEnd {
  fs::path llm_config;

  TrainingTeam(const std::string& pg, const std::string& endpoint)
      : TeamBackEnd(pg, endpoint, "rt-training-replicas") {
    const fs::path dir = tmp.path / "llm";
    fs::create_directories(dir);
    WriteFile(dir / "train.sh", kTrainer);
    WriteFile(dir / "gen.py", kGenerator);
    llm_config = dir / "llm.json";
    WriteFile(llm_config, R"({"trainer": "/bin/sh train.sh", "generator": "/usr/bin/python3 gen.py"})");
  }

  // Like TeamBackEnd::Replica, with --llm-service.
  std::unique_ptr<RunicornProcess> TrainingReplica(const std::string& name, int* port) {
    fs::create_directories(tmp.path / name);
    auto p = std::make_unique<RunicornProcess>(
        "viewer",
        std::vector<std::string>{"--storage", (tmp.path / name / "store").string(), "--port", "0", "--catalog",
                                 conninfo, "--objects", url, "--llm-service", llm_config.string()},
        env, tmp.path / name);
    *port = p->WaitForPort();
    INFO(p->err());
    REQUIRE(*port > 0);
    return p;
  }

  fs::path JobDir(const std::string& replica, const std::string& task_id) {
    return runtrack::StoreLayout(tmp.path / replica / "store").training_job_dir(task_id);
  }
};

HttpReply Post(int port, const std::string& path, const std::string& body, const std::string& token) {
  return Http("POST", Base(port) + path, &body, "application/json", token);
}

std::string Multipart(const std::string& boundary, const std::string& name, const std::string& content) {
  return "--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"qa.json\"\r\n" +
         "Content-Type: application/json\r\n\r\n" + content + "\r\n--" + boundary +
         "\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\n" + name + "\r\n--" + boundary + "--\r\n";
}

// The job's v1 status through one replica; polled at most every 300 ms (status polls count
// against the user's 120-per-minute limit).
bj::value StatusAt(int port, const std::string& id, const std::string& token) {
  const HttpReply r = HttpGet(Base(port) + "/v1/train/status/" + id, token);
  INFO(r.body);
  REQUIRE(r.status == 200);
  return r.json();
}
bool WaitStatusAt(int port, const std::string& id, const std::string& token, const std::string& status) {
  for (int i = 0; i < 100; ++i) {
    if (StatusAt(port, id, token).at("status") == bj::value(status)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  return false;
}

// A v1 error body: {"error": {"code", "message", "details": {"field", "reason"}}, ...}.
void CheckV1Error(const HttpReply& r, long status, const std::string& code, const std::string& message,
                  const std::string& field, const std::string& reason) {
  INFO(r.body);
  CHECK(r.status == status);
  const bj::value v = r.json();
  REQUIRE(v.is_object());
  CHECK(v.at("error") == bj::value(bj::object{{"code", code},
                                             {"message", message},
                                             {"details", bj::object{{"field", field}, {"reason", reason}}}}));
}

}  // namespace

TEST_CASE("a dataset uploaded through replica A trains through replica B, and A serves B's job and model",
          "[s3][rgw][pg][training][binary]") {
  RUNICORN_PG_TEST_SERVER(pg);
  RUNICORN_S3_TEST_SERVER(rgw);
  TrainingTeam team(pg.NewDatabase(), rgw.endpoint());
  {
    auto users = runicorn::service::pg::PgUserRepository::Open(team.conninfo);
    REQUIRE(users.ok());
    REQUIRE((*users)->Add("ada", "correct-horse").ok());
  }
  int port_a = 0, port_b = 0;
  auto a = team.TrainingReplica("a", &port_a);
  auto b = team.TrainingReplica("b", &port_b);
  const std::string login_body = R"({"username":"ada","password":"correct-horse"})";
  const HttpReply login = Http("POST", Base(port_a) + "/v1/login", &login_body);
  REQUIRE(login.status == 200);
  const std::string token(login.json().at("token").as_string());

  const std::string boundary = "----runicornTrainingBoundary";
  const std::string form = Multipart(boundary, "qa", kQaJson);
  const HttpReply upload =
      Http("POST", Base(port_a) + "/v1/datasets/upload", &form, "multipart/form-data; boundary=" + boundary, token);
  INFO(upload.body);
  REQUIRE(upload.status == 200);
  REQUIRE(upload.json().at("id") == bj::value("qa:v1"));

  // Trained through B: B finds A's dataset in PostgreSQL and reads its chunks from the bucket.
  const HttpReply started =
      Post(port_b, "/v1/train", R"({"dataset_path":"qa:v1","config":{"output_dir":"./models/qa-model"}})", token);
  INFO(started.body);
  REQUIRE(started.status == 200);
  const std::string id(started.json().at("task_id").as_string());
  CHECK(fs::exists(team.JobDir("b", id) / "job.json"));
  CHECK_FALSE(fs::exists(team.JobDir("a", id)));
  REQUIRE(WaitStatusAt(port_a, id, token, "completed"));

  // A answers exactly what B answers.
  const bj::value at_b = StatusAt(port_b, id, token);
  const bj::value at_a = StatusAt(port_a, id, token);
  CHECK(at_a == at_b);
  CHECK(at_a.at("model_path") == bj::value("qa-model:v1"));
  CHECK(at_a.at("progress") == bj::value(100.0));
  const std::string run_id(at_a.at("run_id").as_string());

  // The model is A's too: listed, detailed, its files exact, its lineage dataset -> run -> model.
  const HttpReply models = HttpGet(Base(port_a) + "/v1/models", token);
  REQUIRE(models.status == 200);
  CHECK(models.json().at("count") == bj::value(1));
  CHECK(models.json().at("models").at(0).at("id") == bj::value("qa-model:v1"));
  const HttpReply detail = HttpGet(Base(port_a) + "/v1/models/qa-model:v1", token);
  REQUIRE(detail.status == 200);
  CHECK(detail.json().at("task_id") == bj::value(id));
  CHECK(detail.json().at("dataset") == bj::value("qa:v1"));
  CHECK(HttpGet(Base(port_a) + "/artifacts/qa-model/v1/download?path=model.bin").body == "weights");
  CHECK(HttpGet(Base(port_a) + "/artifacts/qa-model/v1/download?path=trained_on.json").body == kQaJson);
  const HttpReply lineage = HttpGet(Base(port_a) + "/artifacts/qa-model/v1/lineage?max_depth=2");
  REQUIRE(lineage.status == 200);
  std::set<std::string> edges;
  const bj::value graph = lineage.json();
  for (const auto& e : graph.at("edges").as_array())
    edges.insert(fmt::format("{} -{}-> {}", std::string(e.at("source").as_string()),
                             std::string(e.at("edge_type").as_string()), std::string(e.at("target").as_string())));
  CHECK(edges == std::set<std::string>{fmt::format("qa:v1 -uses-> run:{}", run_id),
                                       fmt::format("run:{} -produces-> qa-model:v1", run_id)});
  // Generation through A unpacks the model from the bucket.
  const HttpReply generated = Post(port_a, "/v1/generate", R"({"prompt":"hello","model_path":"qa-model:v1"})", token);
  INFO(generated.body);
  REQUIRE(generated.status == 200);
  CHECK(generated.json().at("generated_texts") == bj::parse(R"(["weights|hello"])"));

  // A cancels a job B runs: B's sweep kills the trainer, and A answers once it did.
  const HttpReply held =
      Post(port_b, "/v1/train", R"({"dataset_path":"qa:v1","config":{"output_dir":"./models/held"}})", token);
  REQUIRE(held.status == 200);
  const std::string held_id(held.json().at("task_id").as_string());
  REQUIRE(Eventually([&] { return fs::exists(team.JobDir("b", held_id) / "trainer.pid"); }));
  REQUIRE(WaitStatusAt(port_a, held_id, token, "running"));
  const HttpReply canceled = Post(port_a, "/v1/train/cancel/" + held_id, "", token);
  INFO(canceled.body);
  REQUIRE(canceled.status == 200);
  CHECK(canceled.json().at("status") == bj::value("canceled"));
  CHECK(canceled.json().at("task_id") == bj::value(held_id));
  CHECK(StatusAt(port_b, held_id, token).at("status") == bj::value("canceled"));
  CHECK(StatusAt(port_a, held_id, token) == StatusAt(port_b, held_id, token));
  CheckV1Error(Post(port_a, "/v1/train/cancel/" + held_id, "", token), 409, "CONFLICT",
               fmt::format("Training job {} already ended (canceled)", held_id), "task_id", "conflict");
  CHECK(HttpGet(Base(port_a) + "/v1/models", token).json().at("count") == bj::value(1));

  // An unknown dataset is the API's 404, and no job is made for it.
  CheckV1Error(Post(port_b, "/v1/train", R"({"dataset_path":"nope:v1"})", token), 404, "NOT_FOUND",
               "Dataset not found: nope:v1", "dataset_path", "not_found");

  // The Training page of either replica lists both jobs; a remote job's log is its replica's.
  for (int port : {port_a, port_b}) {
    const HttpReply jobs = HttpGet(Base(port) + "/training/jobs");
    REQUIRE(jobs.status == 200);
    const bj::value listed = jobs.json();
    const auto& list = listed.at("jobs").as_array();
    REQUIRE(list.size() == 2);
    CHECK(list.at(0).at("task_id") == bj::value(held_id));
    CHECK(list.at(0).at("status") == bj::value("canceled"));
    CHECK(list.at(1).at("task_id") == bj::value(id));
    CHECK(list.at(1).at("status") == bj::value("completed"));
    CHECK(list.at(1).at("dataset") == bj::value("qa:v1"));
    CHECK(list.at(1).at("model_name") == bj::value("qa-model"));
    CHECK(list.at(1).at("user") == bj::value("ada"));
  }
  const HttpReply log = HttpGet(Base(port_a) + "/training/jobs/" + id + "/log");
  CHECK(log.status == 409);
  CHECK(log.detail().find(fmt::format("Training job {} runs on replica ", id)) == 0);
  const HttpReply own_log = HttpGet(Base(port_b) + "/training/jobs/" + id + "/log");
  CHECK(own_log.status == 200);
  CHECK(own_log.body.find("trained on 83 bytes") != std::string::npos);

  // A job whose replica is gone (its presence session ended) reads failed everywhere, and cannot
  // be canceled.
  const std::string ghost_id = "00000000-0000-4000-8000-00000000abcd";
  {
    auto ghost = runicorn::service::pg::PgTrainingJobs::Open(team.conninfo, "ghost-replica");
    REQUIRE(ghost.ok());
    runicorn::service::JobStatus running;
    running.task_id = ghost_id;
    running.status = "running";
    running.progress = 40;
    running.run_id = "20260101_000000_abcdef";
    running.updated_at = 1767225600;
    REQUIRE((*ghost)->Publish(R"({"dataset":"qa:v1","model_name":"ghost","created_at":1767225600})", 1767225600,
                              running)
                .ok());
    CHECK(StatusAt(port_a, ghost_id, token).at("status") == bj::value("running"));
  }
  const bj::value ghost = StatusAt(port_a, ghost_id, token);
  CHECK(ghost.at("status") == bj::value("failed"));
  CHECK(ghost.at("error") == bj::value("the replica that ran this job (ghost-replica) is gone; the job did not finish"));
  CHECK(ghost.at("progress") == bj::value(40.0));
  CheckV1Error(Post(port_b, "/v1/train/cancel/" + ghost_id, "", token), 409, "CONFLICT",
               fmt::format("Training job {} already ended (failed)", ghost_id), "task_id", "conflict");

  // Neither replica's own store holds an artifact: datasets and models are the team's.
  for (const char* replica : {"a", "b"}) {
    auto own = runtrack::ArtifactStore::Open(team.tmp.path / replica / "store");
    REQUIRE(own.ok());
    CHECK(own->ListArtifacts()->empty());
  }
  a->Stop();
  b->Stop();
}

#else

TEST_CASE("training on the team back end needs libpq", "[s3][pg][training]") {
  WARN("SKIPPED: this runicorn was built without libpq (libpq-dev)");
}

#endif
