// Pyruns' batch grammar: the cases from its notes and tests, with exact outputs and messages.
#include <catch2/catch.hpp>

#include "runtrack/tasks.h"
#include "tasks/batch_template.h"
#include "tasks/config_value.h"

using namespace runtrack;
using runtrack::tasks::BatchLeaf;
using runtrack::tasks::ConfigValue;
using runtrack::tasks::ParseBatchLeaf;

namespace {

std::vector<std::string> Descs(const std::vector<ExpandedConfig>& configs) {
  std::vector<std::string> out;
  for (const auto& c : configs) out.push_back(c.desc);
  return out;
}

}  // namespace

TEST_CASE("a product leaf expands to every combination, last key fastest", "[tasks][batch]") {
  auto configs = ExpandBatchTemplate("lr: 0.1 | 0.2\nbs: 32 | 64\nname: fixed\n");
  REQUIRE(configs.ok());
  CHECK(Descs(*configs) == std::vector<std::string>{"lr=0.1, bs=32", "lr=0.1, bs=64",
                                                    "lr=0.2, bs=32", "lr=0.2, bs=64"});
  CHECK((*configs)[1].yaml == "lr: 0.1\nbs: 64\nname: fixed\n");
}

TEST_CASE("zip leaves pair up and cross every product combination", "[tasks][batch]") {
  auto configs = ExpandBatchTemplate("lr: 0.001 | 0.01\nseed: (1 | 2 | 3)\nrun: (a | b | c)\n");
  REQUIRE(configs.ok());
  CHECK(configs->size() == 6);
  CHECK(Descs(*configs) == std::vector<std::string>{
                               "lr=0.001, seed=1, run=a", "lr=0.001, seed=2, run=b",
                               "lr=0.001, seed=3, run=c", "lr=0.01, seed=1, run=a",
                               "lr=0.01, seed=2, run=b", "lr=0.01, seed=3, run=c"});
  CHECK((*configs)[5].yaml == "lr: 0.01\nseed: 3\nrun: c\n");
}

TEST_CASE("zip leaves of different lengths fail with Pyruns' message", "[tasks][batch]") {
  auto r = ExpandBatchTemplate("k: (1 | 2 | 3)\nnested:\n  j: (x | y)\n");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == StatusCode::kInvalidArgument);
  CHECK(r.status().message() == "All (zip) parameters must have equal length. Got: k=3, nested.j=2");
  CHECK(CountBatchConfigs("k: (1 | 2 | 3)\nj: (x | y)\n").status().message() ==
        "All (zip) parameters must have equal length. Got: k=3, j=2");
}

TEST_CASE("ranges are Python ranges: stop is exclusive", "[tasks][batch]") {
  auto configs = ExpandBatchTemplate("epochs: 30:40:1\n");
  REQUIRE(configs.ok());
  REQUIRE(configs->size() == 10);
  CHECK(configs->front().yaml == "epochs: 30\n");
  CHECK(configs->back().yaml == "epochs: 39\n");
  CHECK(Descs(*ExpandBatchTemplate("e: 10:100:10\n")).back() == "e=90");
  CHECK(Descs(*ExpandBatchTemplate("e: (0, 6, 2)\n")) == std::vector<std::string>{"e=0", "e=2", "e=4"});
  CHECK(Descs(*ExpandBatchTemplate("e: (3, 1, -1)\n")) == std::vector<std::string>{"e=3", "e=2"});
  CHECK(Descs(*ExpandBatchTemplate("e: 1:3\n")) == std::vector<std::string>{"e=1", "e=2"});
}

TEST_CASE("strings that are not batch syntax stay as written", "[tasks][batch]") {
  for (const char* s : {"(5, 1)", "1:5:0", "(only_one)", "a \\| b", "(a |)", "5:1", "x:y", "12:30:00:00"})
    CHECK_FALSE(ParseBatchLeaf(s).has_value());
  auto configs = ExpandBatchTemplate("a: '(5, 1)'\nb: '1:5:0'\nc: (only_one)\n");
  REQUIRE(configs.ok());
  REQUIRE(configs->size() == 1);
  CHECK(configs->front().yaml == "a: (5, 1)\nb: 1:5:0\nc: (only_one)\n");
  CHECK(configs->front().desc.empty());
}

TEST_CASE("an escaped pipe is a literal pipe inside a piece", "[tasks][batch]") {
  auto leaf = ParseBatchLeaf("a\\|b | c");
  REQUIRE(leaf.has_value());
  REQUIRE(leaf->pieces.size() == 2);
  CHECK(leaf->pieces[0].s == "a|b");
  CHECK(leaf->pieces[1].s == "c");
  CHECK(tasks::SplitByPipe(" x | | y \\| z ") == std::vector<std::string>{"x", "y | z"});
}

TEST_CASE("pieces are typed like literal_eval, then true/false", "[tasks][batch]") {
  auto leaf = ParseBatchLeaf("1 | 2.5 | 1e-3 | 'quoted' | True | None | yes | FALSE | [1, 2] | 007");
  REQUIRE(leaf.has_value());
  const auto& p = leaf->pieces;
  REQUIRE(p.size() == 10);
  CHECK((p[0].type == ConfigValue::Type::kInt && p[0].i == 1));
  CHECK((p[1].type == ConfigValue::Type::kFloat && p[1].d == 2.5));
  CHECK((p[2].type == ConfigValue::Type::kFloat && p[2].d == 0.001));
  CHECK((p[3].type == ConfigValue::Type::kString && p[3].s == "quoted"));
  CHECK((p[4].type == ConfigValue::Type::kBool && p[4].b));
  CHECK(p[5].type == ConfigValue::Type::kNull);
  CHECK((p[6].type == ConfigValue::Type::kString && p[6].s == "yes"));
  CHECK((p[7].type == ConfigValue::Type::kBool && !p[7].b));
  CHECK((p[8].type == ConfigValue::Type::kList && p[8].list.size() == 2));
  CHECK((p[9].type == ConfigValue::Type::kString && p[9].s == "007"));
  auto configs = ExpandBatchTemplate("v: 1 | '2' | 3.0 | True | None\n");
  REQUIRE(configs.ok());
  CHECK(Descs(*configs) == std::vector<std::string>{"v=1", "v=2", "v=3.0", "v=True", "v=None"});
  std::vector<std::string> yaml;
  for (const auto& c : *configs) yaml.push_back(c.yaml);
  CHECK(yaml == std::vector<std::string>{"v: 1\n", "v: \"2\"\n", "v: 3.0\n", "v: true\n", "v: null\n"});
}

TEST_CASE("template values keep their YAML types and key order", "[tasks][batch]") {
  auto configs = ExpandBatchTemplate(
      "model:\n  name: resnet\n  depth: 50\nlr: 5e-3\nflag: yes\nq: '1'\nopt: ~\nlist: [1, 2]\n"
      "seed: 1 | 2\n");
  REQUIRE(configs.ok());
  REQUIRE(configs->size() == 2);
  CHECK(configs->front().yaml ==
        "model:\n  name: resnet\n  depth: 50\nlr: 0.005\nflag: true\nq: \"1\"\nopt: null\n"
        "list:\n  - 1\n  - 2\nseed: 1\n");
  CHECK(configs->front().desc == "seed=1");
}

TEST_CASE("the batch limit is checked before expanding", "[tasks][batch]") {
  auto r = ExpandBatchTemplate("a: 0:100000000000\nb: 1 | 2\n");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message() ==
        "Batch expansion would create 200000000000 tasks; limit is 10000. Narrow the range or "
        "split it into smaller batches.");
  CHECK(*CountBatchConfigs("a: 0:100000000000\nb: 1 | 2\n") == 200000000000ull);
  CHECK(ExpandBatchTemplate("a: 0:10\n", 9).status().message() ==
        "Batch expansion would create 10 tasks; limit is 9. Narrow the range or split it into "
        "smaller batches.");
  CHECK(ExpandBatchTemplate("a: 0:10\n", 10)->size() == 10);
}

TEST_CASE("a template whose root is not a mapping is refused", "[tasks][batch]") {
  CHECK(ExpandBatchTemplate("- 1\n- 2\n").status().message() ==
        "Batch configuration root must be a mapping");
  CHECK(ExpandBatchTemplate("a: [1\n").status().code() == StatusCode::kInvalidArgument);
  auto empty = ExpandBatchTemplate("");
  REQUIRE(empty.ok());
  CHECK(empty->front().yaml == "{}\n");
}

TEST_CASE("list pieces expand to YAML lists", "[tasks][batch]") {
  auto configs = ExpandBatchTemplate("v: '[1, 2] | [3]'\nk: a | 'b c'\n");
  REQUIRE(configs.ok());
  std::vector<std::string> yaml;
  for (const auto& c : *configs) yaml.push_back(c.yaml);
  CHECK(yaml == std::vector<std::string>{"v:\n  - 1\n  - 2\nk: a\n", "v:\n  - 1\n  - 2\nk: b c\n",
                                         "v:\n  - 3\nk: a\n", "v:\n  - 3\nk: b c\n"});
  CHECK(Descs(*configs) == std::vector<std::string>{"v=[1, 2], k=a", "v=[1, 2], k=b c", "v=[3], k=a", "v=[3], k=b c"});
}

TEST_CASE("strings that need quoting stay strings after expansion", "[tasks][batch]") {
  auto configs = ExpandBatchTemplate("s: \"'null' | '#x' | 'a: b' | ''\"\n");
  REQUIRE(configs.ok());
  std::vector<std::string> yaml;
  for (const auto& c : *configs) yaml.push_back(c.yaml);
  CHECK(yaml == std::vector<std::string>{"s: \"null\"\n", "s: \"#x\"\n", "s: \"a: b\"\n", "s: \"\"\n"});
  for (const auto& y : yaml) {
    auto back = tasks::ParseYamlConfig(y);
    REQUIRE(back.ok());
    CHECK(back->map[0].second.type == ConfigValue::Type::kString);
  }
}
