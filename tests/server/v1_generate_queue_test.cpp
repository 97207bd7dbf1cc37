// Generation off the request threads (docs/API-v1.md "Generation"): /api/v1/generate runs on the
// server's worker pool, never an I/O thread, and GenerationGate bounds how many generator
// processes run and wait; past that the answer is 503 SERVICE_UNAVAILABLE with Retry-After.
//
// The generator here is a configured command that announces it started (a `started-PID` file in
// its folder) and then waits for a `go` file there, so a test holds generations "running" for as
// long as it needs without any sleep deciding the outcome.
#include <atomic>
#include <chrono>
#include <fstream>
#include <thread>

#include <catch2/catch.hpp>

#include "runtrack/artifacts.h"
#include "service/generation_gate.h"
#include "service/model_service.h"
#include "service/training_service.h"
#include "v1_test_support.h"

namespace runicorn::testing {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;
using service::GenerationGate;

const char* kGatedGenerator = R"(import json, os, sys, time
req = json.load(open(sys.argv[1]))
open("started-%d" % os.getpid(), "w").close()
while not os.path.exists("go"):
    time.sleep(0.02)
texts = [["%s|done" % p] * req["num_return_sequences"] for p in req["prompts"]]
json.dump({"generated_texts": texts}, open(sys.argv[2], "w"))
)";

void WriteFile(const fs::path& p, const std::string& content) {
  std::ofstream out(p, std::ios::binary);
  out << content;
  REQUIRE(out.good());
}

size_t Started(const fs::path& dir) {
  size_t n = 0;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().rfind("started-", 0) == 0) ++n;
  return n;
}

// Waits (without a deadline deciding the result: the test's own timeout is the backstop) until
// `done` holds.
template <typename F>
void WaitUntil(F done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!done()) {
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

// A viewer whose training service runs the gated generator, with one logged model to generate
// with, and one I/O thread: a generation on it would leave nothing to answer anything else.
struct GenerateEnv {
  explicit GenerateEnv(int concurrency, int queue) : s(ServerConfig{.threads = 1}) {
    dir = s.dir() / "llm";
    fs::create_directories(dir);
    WriteFile(dir / "gen.py", kGatedGenerator);
    config.dir = dir;
    config.generator = "/usr/bin/python3 gen.py";
    config.generate_concurrency = concurrency;
    config.generate_queue = queue;
    s.ctx().services->training = std::make_shared<service::TrainingService>(
        runtrack::StoreLayout(s.ctx().root), config, s.ctx().services->runs, s.ctx().services->dataset_artifacts);
    const fs::path weights = s.dir() / "weights";
    WriteFile(weights, "w");
    auto a = runtrack::Artifact::Create("tuned", runtrack::ArtifactType::kModel);
    REQUIRE(a.ok());
    REQUIRE(a->AddFile(weights, "model.bin").ok());
    auto store = runtrack::ArtifactStore::Open(s.ctx().root);
    REQUIRE(store.ok());
    REQUIRE(store->Log(*a, "").ok());
    s.Sync();  // on the team back end: the model published to PostgreSQL and the bucket
    AddUser(s, "ada", "correct-horse");
    token = Login(client, "ada", "correct-horse");
  }
  ~GenerateEnv() {
    Go();  // a failed check must not leave a generator waiting
    s.ctx().services->training.reset();
  }
  void Go() { WriteFile(dir / "go", ""); }
  GenerationGate& gate() { return s.ctx().services->training->generations(); }

  HttpResult Generate(const std::string& prompt) {
    HttpClient c(s.port());
    return c.Post("/api/v1/generate", json::serialize(json::object{{"prompt", prompt}, {"model_path", "tuned:v1"}}),
                  Bearer(token));
  }

  TestServer s;
  HttpClient client{s.port()};
  fs::path dir;
  service::LlmServiceConfig config;
  std::string token;
};

const std::string kHealth = "GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";

}  // namespace

TEST_CASE("v1 generate: /api/health answers while a generation runs (it is not on an I/O thread)", "[v1gen]") {
  GenerateEnv env(1, 0);
  HttpResult first;
  std::thread t([&] { first = env.Generate("a"); });
  WaitUntil([&] { return Started(env.dir) == 1; });
  // The server has one I/O thread; were the generation on it, this would get no answer.
  const std::string health = env.client.Raw(kHealth, std::chrono::milliseconds(10000));
  CHECK(health.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK(env.gate().load().running == 1);
  env.Go();
  t.join();
  INFO(first.body);
  CHECK(first.status == 200);
  CHECK(first.json().at("generated_texts") == json::parse(R"(["a|done"])"));
}

TEST_CASE("v1 generate: past the running and queued generations the answer is 503 with Retry-After", "[v1gen]") {
  GenerateEnv env(1, 0);
  HttpResult first;
  std::thread t([&] { first = env.Generate("a"); });
  WaitUntil([&] { return Started(env.dir) == 1; });
  auto busy = env.Generate("b");
  CheckEnvelope(busy, 503, "SERVICE_UNAVAILABLE", "The generator is busy (1 running, 0 waiting): retry later",
                json::value(nullptr), "busy");
  // No generation has finished yet: the estimate is its floor.
  CHECK(busy.header("retry-after") == "1");
  CHECK(busy.header("x-ratelimit-limit") == "60");
  CHECK(Started(env.dir) == 1);  // the refused request started no process
  env.Go();
  t.join();
  CHECK(first.status == 200);
  // The slot is free again.
  auto again = env.Generate("c");
  INFO(again.body);
  CHECK(again.status == 200);
  CHECK(again.json().at("generated_texts") == json::parse(R"(["c|done"])"));
  CHECK(env.gate().load().running == 0);
}

TEST_CASE("v1 generate: a queued generation waits for the running one, a third is refused", "[v1gen]") {
  // Through the service, where the test controls the threads (over HTTP every waiting request
  // also holds a worker-pool thread, which the viewer adds per queue place: viewer_command.cpp).
  GenerateEnv env(1, 1);
  service::GenerateRequest r;
  r.model_path = "tuned:v1";
  auto run = [&](const std::string& prompt, int* retry_after) {
    service::GenerateRequest q = r;
    q.prompts = {prompt};
    service::ModelService models(runtrack::StoreLayout(env.s.ctx().root));
    return models.Generate(q, env.config, &env.gate(), retry_after);
  };
  std::optional<runtrack::Result<service::GenerateResult>> first, second;
  int retry_first = 0, retry_second = 0;
  std::thread t1([&] { first.emplace(run("a", &retry_first)); });
  WaitUntil([&] { return Started(env.dir) == 1; });
  std::thread t2([&] { second.emplace(run("b", &retry_second)); });
  WaitUntil([&] { return env.gate().load().waiting == 1; });
  CHECK(Started(env.dir) == 1);  // the queued one has not started its generator

  int retry_third = 0;
  auto third = run("c", &retry_third);
  REQUIRE_FALSE(third.ok());
  CHECK(third.status().code() == runtrack::StatusCode::kBusy);
  CHECK(third.status().message() == "The generator is busy (1 running, 1 waiting): retry later");
  CHECK(retry_third == 1);

  env.Go();
  t1.join();
  t2.join();
  REQUIRE(first->ok());
  REQUIRE(second->ok());
  CHECK((*first)->texts == std::vector<std::vector<std::string>>{{"a|done"}});
  CHECK((*second)->texts == std::vector<std::vector<std::string>>{{"b|done"}});
  CHECK(retry_first == 0);
  CHECK(retry_second == 0);
  CHECK(Started(env.dir) == 2);
  CHECK(env.gate().load().running == 0);
  CHECK(env.gate().load().waiting == 0);
}

TEST_CASE("v1 generation gate: slots, queue, refusal and the Retry-After estimate", "[v1gen][unit]") {
  GenerationGate gate(2, 1, std::chrono::milliseconds(50));
  int retry = 0;
  auto a = gate.Enter(&retry);
  auto b = gate.Enter(&retry);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(gate.load().running == 2);
  CHECK(retry == 0);
  {
    // The queue place is taken while this waits; it gives up after max_wait.
    std::optional<runtrack::Result<GenerationGate::Slot>> queued;
    int queued_retry = 0;
    std::thread t([&] { queued.emplace(gate.Enter(&queued_retry)); });
    WaitUntil([&] { return gate.load().waiting == 1; });
    auto refused = gate.Enter(&retry);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.status().message() == "The generator is busy (2 running, 1 waiting): retry later");
    CHECK(retry == 1);
    t.join();
    REQUIRE_FALSE(queued->ok());
    CHECK(queued->status().code() == runtrack::StatusCode::kBusy);
    CHECK(queued->status().message() == "No generation slot became free within 0.05 s: retry later");
    CHECK(queued_retry == 1);
  }
  { auto done = std::move(*a); }  // leaves: one slot free
  CHECK(gate.load().running == 1);
  auto c = gate.Enter(&retry);
  REQUIRE(c.ok());
  CHECK(gate.load().running == 2);
  CHECK(gate.RetryAfterSeconds() == 1);  // one generation of far less than a second
}

}  // namespace runicorn::testing
