// Training on the team back end (docs/SCALE-OUT.md "Training on the team back end"): two real
// `runicorn viewer --catalog … --objects … --llm-service FILE` replicas on one PostgreSQL 15 and one
// Ceph RGW bucket. A dataset uploaded through A is trained on through B; the model B logs is listed,
// downloaded, traced and generated with through A; A answers B's job status exactly as B does,
// cancels B's job, serves B's job logs by forwarding to B (replicas started with --replica-url),
// and reports a job whose replica is gone as failed. Nothing lands in either replica's own
// artifacts/.
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
#include <curl/curl.h>
#include <fmt/format.h>

#include "pg/pg_test_server.h"
#include "remote/fault_proxy.h"
#include "replica_ids.h"
#include "rgw_test_server.h"
#include "runicorn_process.h"
#include "runtrack/artifacts.h"
#include "runtrack/layout.h"
#include "service/pg/pg_run_ownership.h"
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
if grep -q '"model_name":"held"' "$1"; then echo "holding $$"; echo $$ > "$job/trainer.pid"; sleep 60 & wait; exit 0; fi
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

// The replicas' viewer --token (RUNICORN_TOKEN: never on a command line). The /api/v1 routes take
// their own users' tokens instead.
const std::string kViewerToken = "training-replicas-viewer-token";

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

  // Like TeamBackEnd::Replica, with --llm-service, the viewer token, and --replica-url (so the
  // other replica forwards this one's job logs here) on a port chosen now.
  std::unique_ptr<RunicornProcess> TrainingReplica(const std::string& name, int* port) {
    fs::create_directories(tmp.path / name);
    const int chosen = runicorn::testing::FreePort();
    auto with_token = env;
    with_token["RUNICORN_TOKEN"] = kViewerToken;
    auto p = std::make_unique<RunicornProcess>(
        "viewer",
        std::vector<std::string>{"--storage", (tmp.path / name / "store").string(), "--port", std::to_string(chosen),
                                 "--catalog", conninfo, "--objects", url, "--llm-service", llm_config.string(),
                                 "--replica-url", fmt::format("http://127.0.0.1:{}", chosen)},
        with_token, tmp.path / name);
    *port = p->WaitForPort();
    INFO(p->err());
    REQUIRE(*port == chosen);
    return p;
  }

  fs::path JobDir(const std::string& replica, const std::string& task_id) {
    return runtrack::StoreLayout(tmp.path / replica / "store").training_job_dir(task_id);
  }
};

// GET with the viewer token and one more request header (`extra` "Name: value"); the reply's
// Retry-After header (or "") into `retry_after`.
HttpReply GetWithHeader(const std::string& url, const std::string& extra, std::string* retry_after) {
  HttpReply r;
  CURL* curl = curl_easy_init();
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, runicorn::testing::team_detail::AppendBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &r.body);
  auto header = +[](char* data, size_t size, size_t n, void* user) -> size_t {
    const std::string line(data, size * n);
    if (line.rfind("Retry-After:", 0) == 0 || line.rfind("retry-after:", 0) == 0) {
      std::string value = line.substr(12);
      while (!value.empty() && (value.front() == ' ')) value.erase(0, 1);
      while (!value.empty() && (value.back() == '\r' || value.back() == '\n')) value.pop_back();
      *static_cast<std::string*>(user) = value;
    }
    return size * n;
  };
  retry_after->clear();
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, retry_after);
  curl_slist* headers = curl_slist_append(nullptr, ("Authorization: Bearer " + kViewerToken).c_str());
  headers = curl_slist_append(headers, extra.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r.status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  return r;
}

// A job's log through one replica (the Training page's route, under the viewer token).
HttpReply LogAt(int port, const std::string& id, const std::string& query = "") {
  return HttpGet(Base(port) + "/training/jobs/" + id + "/log" + query, kViewerToken);
}

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
  CHECK(HttpGet(Base(port_a) + "/artifacts/qa-model/v1/download?path=model.bin", kViewerToken).body == "weights");
  CHECK(HttpGet(Base(port_a) + "/artifacts/qa-model/v1/download?path=trained_on.json", kViewerToken).body == kQaJson);
  const HttpReply lineage = HttpGet(Base(port_a) + "/artifacts/qa-model/v1/lineage?max_depth=2", kViewerToken);
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
  // The running job's log through A is B's answer, byte for byte (forwarded to B's --replica-url).
  const std::string held_pid = runicorn::testing::Slurp(team.JobDir("b", held_id) / "trainer.pid");
  REQUIRE(Eventually([&] { return LogAt(port_b, held_id).body.find("holding") != std::string::npos; }));
  {
    const HttpReply at_b = LogAt(port_b, held_id);
    const HttpReply at_a = LogAt(port_a, held_id);
    INFO(at_a.body);
    CHECK(at_a.status == 200);
    CHECK(at_a.body == at_b.body);
    CHECK(std::string(at_a.json().at("content").as_string()).find("holding " + held_pid) != std::string::npos);
  }
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
    const HttpReply jobs = HttpGet(Base(port) + "/training/jobs", kViewerToken);
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
  // A finished job's log through A is B's answer, byte for byte: whole, its tail, from an offset.
  const HttpReply own_log = LogAt(port_b, id);
  REQUIRE(own_log.status == 200);
  const std::string content(own_log.json().at("content").as_string());
  CHECK(content.find("trained on 83 bytes\n") != std::string::npos);
  REQUIRE(content.size() > 12);
  for (const auto& [query, expected] :
       std::vector<std::pair<std::string, std::string>>{{"", content},
                                                        {"?tail_bytes=7", content.substr(content.size() - 7)},
                                                        {"?offset=3&tail_bytes=5", content.substr(3, 5)}}) {
    const HttpReply at_b = LogAt(port_b, id, query);
    const HttpReply at_a = LogAt(port_a, id, query);
    INFO(query << " " << at_a.body);
    CHECK(at_a.status == 200);
    CHECK(at_a.body == at_b.body);
    CHECK(at_a.json().at("content") == bj::value(expected));
  }
  // Bad input is refused by the replica it reached: no token or a wrong one (never forwarded),
  // an id that is no UUID, an unknown job.
  for (const std::string& bad : {std::string(), std::string("wrong-token")}) {
    const HttpReply refused = HttpGet(Base(port_a) + "/training/jobs/" + id + "/log", bad);
    CHECK(refused.status == 401);
    CHECK(refused.detail() == "Not authenticated");
  }
  const HttpReply not_uuid = LogAt(port_a, "not-a-uuid");
  CHECK(not_uuid.status == 400);
  CHECK(not_uuid.detail() == "Invalid task id 'not-a-uuid': expected a UUID");
  const std::string unknown_id = "00000000-0000-4000-8000-000000000404";
  const HttpReply unknown = LogAt(port_a, unknown_id);
  CHECK(unknown.status == 404);
  CHECK(unknown.detail() == "Training job not found: " + unknown_id);
  // A request another replica forwarded is answered by the owner, and never forwarded again by
  // a replica that does not run the job (no loops between replicas).
  const std::string b_id = runicorn::testing::ReplicaIdsByUrl(team.conninfo).at(fmt::format("http://127.0.0.1:{}", port_b));
  std::string retry_after;
  const HttpReply marked_at_b =
      GetWithHeader(Base(port_b) + "/training/jobs/" + id + "/log", "X-Runicorn-Forwarded-By: replica-z", &retry_after);
  CHECK(marked_at_b.status == 200);
  CHECK(marked_at_b.body == own_log.body);
  const HttpReply marked_at_a =
      GetWithHeader(Base(port_a) + "/training/jobs/" + id + "/log", "X-Runicorn-Forwarded-By: replica-z", &retry_after);
  CHECK(marked_at_a.status == 503);
  CHECK(retry_after == "1");
  CHECK(marked_at_a.detail() == fmt::format("the log of training job {} was forwarded here by replica replica-z, but "
                                            "replica {} runs the job; it is not forwarded again",
                                            id, b_id));

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
    // Its log: the ghost registered no --replica-url, so no replica can reach it.
    const HttpReply no_url = LogAt(port_a, ghost_id);
    CHECK(no_url.status == 409);
    CHECK(no_url.detail() == fmt::format("Training job {} runs on replica ghost-replica, which was started without "
                                         "--replica-url: no other replica can reach it, so its log is served only there",
                                         ghost_id));
    {
      // Registered with a URL where nothing answers: 503, retry later.
      runicorn::service::pg::PgRunOwnershipOptions registered;
      registered.conninfo = team.conninfo;
      registered.replica_url = fmt::format("http://127.0.0.1:{}", runicorn::testing::FreePort());
      registered.replica_id = "ghost-replica";
      auto ownership = runicorn::service::pg::PgRunOwnership::Open(registered);
      REQUIRE(ownership.ok());
      const HttpReply unreachable =
          GetWithHeader(Base(port_a) + "/training/jobs/" + ghost_id + "/log", "Accept: application/json", &retry_after);
      CHECK(unreachable.status == 503);
      CHECK(retry_after == "1");
      CHECK(unreachable.detail().rfind(fmt::format("training job {} runs on replica ghost-replica at {}, which does not "
                                                   "answer (",
                                                   ghost_id, registered.replica_url),
                                       0) == 0);
    }
  }
  const bj::value ghost = StatusAt(port_a, ghost_id, token);
  CHECK(ghost.at("status") == bj::value("failed"));
  CHECK(ghost.at("error") == bj::value("the replica that ran this job (ghost-replica) is gone; the job did not finish"));
  CHECK(ghost.at("progress") == bj::value(40.0));
  CheckV1Error(Post(port_b, "/v1/train/cancel/" + ghost_id, "", token), 409, "CONFLICT",
               fmt::format("Training job {} already ended (failed)", ghost_id), "task_id", "conflict");
  // Its log went with its disk.
  const HttpReply gone_log = LogAt(port_a, ghost_id);
  CHECK(gone_log.status == 409);
  CHECK(gone_log.detail() == fmt::format("Training job {} ran on replica ghost-replica, which is gone: its log was kept "
                                         "on that replica's disk and cannot be read from another replica",
                                         ghost_id));

  // Neither replica's own store holds an artifact: datasets and models are the team's.
  for (const char* replica : {"a", "b"}) {
    auto own = runtrack::ArtifactStore::Open(team.tmp.path / replica / "store");
    REQUIRE(own.ok());
    CHECK(own->ListArtifacts()->empty());
  }
  // B stops: its jobs' logs are gone with it, as A says (once B's board session has ended).
  b->Stop();
  HttpReply after_b;
  CHECK(Eventually([&] {
    after_b = LogAt(port_a, id);
    return after_b.status == 409;
  }));
  CHECK(after_b.detail() == fmt::format("Training job {} ran on replica {}, which is gone: its log was kept on that "
                                        "replica's disk and cannot be read from another replica",
                                        id, b_id));
  a->Stop();
}

#else

TEST_CASE("training on the team back end needs libpq", "[s3][pg][training]") {
  WARN("SKIPPED: this runicorn was built without libpq (libpq-dev)");
}

#endif
