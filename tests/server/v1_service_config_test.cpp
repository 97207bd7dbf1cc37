// The viewer's `--llm-service FILE` (service/llm_service_config.h): JSON, or TOML by the `.toml`
// extension, with the same keys and the same messages for the same mistakes.
#include <fstream>

#include <catch2/catch.hpp>

#include "service/llm_service_config.h"
#include "test_support.h"

namespace runicorn::testing {
namespace {

namespace fs = std::filesystem;
using runtrack::testing::TempDir;
using service::LlmServiceConfig;
using service::LoadLlmServiceConfig;

fs::path Write(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary);
  out << text;
  REQUIRE(out.good());
  return p;
}

// The message of a config that must be refused.
std::string Refusal(const fs::path& file) {
  auto c = LoadLlmServiceConfig(file);
  REQUIRE_FALSE(c.ok());
  CHECK(c.status().code() == runtrack::StatusCode::kInvalidArgument);
  return c.status().message();
}

const char* kJson = R"({
  "trainer": "/usr/bin/python3 train.py",
  "generator": "/usr/bin/python3 generate.py --quiet",
  "quantization": ["int8", "int4"],
  "generate_timeout_seconds": 30,
  "workers": 3,
  "generate_concurrency": 2,
  "generate_queue": 5
})";

const char* kToml = R"(# the reference service, as TOML
trainer = "/usr/bin/python3 train.py"
generator = '/usr/bin/python3 generate.py --quiet'
quantization = ["int8", "int4"]
generate_timeout_seconds = 30
workers = 3
generate_concurrency = 2
generate_queue = 5
)";

}  // namespace

TEST_CASE("llm service config: the same config in JSON and TOML gives the same service config", "[v1config]") {
  TempDir dir;
  auto json = LoadLlmServiceConfig(Write(dir.path() / "service.json", kJson));
  auto toml = LoadLlmServiceConfig(Write(dir.path() / "service.toml", kToml));
  REQUIRE(json.ok());
  REQUIRE(toml.ok());
  for (const LlmServiceConfig* c : {&*json, &*toml}) {
    CHECK(c->trainer == "/usr/bin/python3 train.py");
    CHECK(c->generator == "/usr/bin/python3 generate.py --quiet");
    CHECK(c->quantization == std::vector<std::string>{"int8", "int4"});
    CHECK(c->generate_timeout_seconds == 30);
    CHECK(c->workers == 3);
    CHECK(c->generate_concurrency == 2);
    CHECK(c->generate_queue == 5);
    CHECK(c->dir == dir.path());
  }
}

TEST_CASE("llm service config: defaults for keys left out, in either form", "[v1config]") {
  TempDir dir;
  auto json = LoadLlmServiceConfig(Write(dir.path() / "a.json", R"({"trainer": "t"})"));
  auto toml = LoadLlmServiceConfig(Write(dir.path() / "a.toml", "trainer = \"t\"\n"));
  REQUIRE(json.ok());
  REQUIRE(toml.ok());
  for (const LlmServiceConfig* c : {&*json, &*toml}) {
    CHECK(c->trainer == "t");
    CHECK(c->generator.empty());
    CHECK(c->quantization.empty());
    CHECK(c->generate_timeout_seconds == 120);
    CHECK(c->workers == 1);
    CHECK(c->generate_concurrency == 1);
    CHECK(c->generate_queue == 2);
  }
}

TEST_CASE("llm service config: a TOML syntax error names the file, line and column", "[v1config]") {
  TempDir dir;
  const fs::path f = Write(dir.path() / "bad.toml", "trainer = \"t\"\nworkers = 2\ngenerator = \"unclosed\n");
  CHECK(Refusal(f) == "LLM service config " + f.string() +
                          ": TOML syntax error at line 3, column 22: Error while parsing string: unescaped control characters other than TAB (U+0009) are explicitly prohibited");
  const fs::path g = Write(dir.path() / "dup.toml", "workers = 1\nworkers = 2\n");
  CHECK(Refusal(g) == "LLM service config " + g.string() +
                          ": TOML syntax error at line 2, column 11: Error while parsing key-value pair: cannot redefine existing integer 'workers'");
  const fs::path j = Write(dir.path() / "bad.json", "{\"workers\": 1,}");
  CHECK(Refusal(j) == "LLM service config " + j.string() + ": not a JSON object");
}

TEST_CASE("llm service config: a wrong type names the key, with the same message in JSON and TOML", "[v1config]") {
  TempDir dir;
  struct Case {
    const char* json;
    const char* toml;
    const char* message;
  };
  const Case cases[] = {
      {R"({"trainer": 5})", "trainer = 5\n", "'trainer' must be a string"},
      {R"({"generator": ["a"]})", "generator = [\"a\"]\n", "'generator' must be a string"},
      {R"({"workers": "2"})", "workers = \"2\"\n", "'workers' must be an integer in [1, 32]"},
      {R"({"workers": 2.0})", "workers = 2.0\n", "'workers' must be an integer in [1, 32]"},
      {R"({"generate_timeout_seconds": 0})", "generate_timeout_seconds = 0\n",
       "'generate_timeout_seconds' must be an integer in [1, 3600]"},
      {R"({"generate_concurrency": 33})", "generate_concurrency = 33\n",
       "'generate_concurrency' must be an integer in [1, 32]"},
      {R"({"generate_queue": -1})", "generate_queue = -1\n", "'generate_queue' must be an integer in [0, 256]"},
      {R"({"quantization": "int8"})", "quantization = \"int8\"\n", "'quantization' must be an array of strings"},
      {R"({"quantization": ["fp8"]})", "quantization = [\"fp8\"]\n",
       "'quantization' may list only \"int8\" and \"int4\""},
      {R"({"trainers": "t"})", "trainers = \"t\"\n", "unknown key 'trainers'"},
      // A TOML table or date has no place in the config: refused like any other wrong type.
      {R"({"trainer": {"cmd": "t"}})", "[trainer]\ncmd = \"t\"\n", "'trainer' must be a string"},
      {R"({"generator": {}})", "generator = 1979-05-27T07:32:00Z\n", "'generator' must be a string"},
  };
  for (const Case& c : cases) {
    INFO(c.toml);
    const fs::path j = Write(dir.path() / "c.json", c.json);
    const fs::path t = Write(dir.path() / "c.toml", c.toml);
    CHECK(Refusal(j) == "LLM service config " + j.string() + ": " + c.message);
    CHECK(Refusal(t) == "LLM service config " + t.string() + ": " + c.message);
  }
}

TEST_CASE("llm service config: an unreadable file is refused naming it", "[v1config]") {
  TempDir dir;
  const fs::path missing = dir.path() / "missing.toml";
  CHECK(Refusal(missing) == "cannot read the LLM service config " + missing.string());
}

TEST_CASE("llm service config: the reference service ships as JSON and TOML, alike", "[v1config]") {
  const fs::path examples = fs::path(RUNTRACK_TESTS_DIR).parent_path() / "examples" / "llm_service";
  auto json = LoadLlmServiceConfig(examples / "service.json");
  auto toml = LoadLlmServiceConfig(examples / "service.toml");
  REQUIRE(json.ok());
  REQUIRE(toml.ok());
  CHECK(json->trainer == toml->trainer);
  CHECK(json->generator == toml->generator);
  CHECK(json->quantization == toml->quantization);
  CHECK(json->generate_timeout_seconds == toml->generate_timeout_seconds);
  CHECK(json->workers == toml->workers);
  CHECK(json->generate_concurrency == toml->generate_concurrency);
  CHECK(json->generate_queue == toml->generate_queue);
  CHECK(json->dir == toml->dir);
}

}  // namespace runicorn::testing
