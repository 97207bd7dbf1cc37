// Folding task_metrics.jsonl into task_info.json: records/tracks (Pyruns' shape) and the links to
// the runicorn runs that recorded each task run.
#include <catch2/catch.hpp>

#include <string>

#include <boost/json.hpp>

#include "tasks/task_info_store.h"
#include "tasks/task_results.h"

using namespace runtrack::tasks;
namespace json = boost::json;

namespace {

json::object Info(int run_index) {
  json::object info{{"name", "t"}, {"status", "running"}, {"run_index", run_index}};
  NormalizeRunHistory(info);
  return info;
}

const char* kId1 = "20261203_120000_aaaaaa";
const char* kId2 = "20261203_120500_bbbbbb";

std::string LinkLine(int run, const std::string& id, const std::string& extra = "") {
  return R"({"run":)" + std::to_string(run) + R"(,"kind":"runicorn_run","values":{"run_id":")" + id +
         R"(","project":"train","name":"t","storage":"/s")" + extra + "},\"time\":1.5}\n";
}

}  // namespace

TEST_CASE("run links fold into runicorn_runs keyed by run number, each id once", "[tasks][results]") {
  json::object info = Info(2);
  std::string text = LinkLine(1, kId1) +
                     R"({"run":1,"kind":"track","values":{"loss":1}})" "\n" +
                     LinkLine(1, kId1) +                            // the same run again: once
                     LinkLine(2, kId2, R"(,"secret":"x","project2":1)") +  // unknown fields dropped
                     LinkLine(2, "../../etc") +                     // not a run id: skipped
                     LinkLine(0, kId1) +                            // no run 0
                     "not json\n" +
                     LinkLine(2, kId1).substr(0, 30);               // still being written
  FoldRunLinks(text, 0, info);
  CHECK(json::serialize(info.at("runicorn_runs")) ==
        R"({"1":[{"run_id":"20261203_120000_aaaaaa","project":"train","name":"t","storage":"/s"}],)"
        R"("2":[{"run_id":"20261203_120500_bbbbbb","project":"train","name":"t","storage":"/s"}]})");
  // Links never touch Pyruns' per-run arrays.
  CHECK(json::serialize(info.at("tracks")) == "[{},{}]");
}

TEST_CASE("a second run id of the same task run is appended, non-string fields read as empty", "[tasks][results]") {
  json::object info = Info(1);
  std::string text = LinkLine(1, kId1) +
                     R"({"run":1,"kind":"runicorn_run","values":{"run_id":")" + std::string(kId2) +
                     R"(","project":7,"name":null}})" "\n";
  FoldRunLinks(text, 0, info);
  CHECK(json::serialize(info.at("runicorn_runs")) ==
        R"({"1":[{"run_id":"20261203_120000_aaaaaa","project":"train","name":"t","storage":"/s"},)"
        R"({"run_id":"20261203_120500_bbbbbb","project":"","name":"","storage":""}]})");
}

TEST_CASE("run links start at the given offset, like the metrics fold", "[tasks][results]") {
  json::object info = Info(2);
  std::string first = LinkLine(1, kId1);
  std::string text = first + LinkLine(2, kId2);
  FoldRunLinks(text, first.size(), info);
  CHECK(json::serialize(info.at("runicorn_runs")) ==
        R"({"2":[{"run_id":"20261203_120500_bbbbbb","project":"train","name":"t","storage":"/s"}]})");
  json::object untouched = Info(1);
  FoldRunLinks("", 0, untouched);
  CHECK(!untouched.contains("runicorn_runs"));
}

TEST_CASE("the metrics fold resumes at its offset and never counts a line twice", "[tasks][results]") {
  json::object info = Info(1);
  std::string a = R"({"run":1,"kind":"track","values":{"loss":3}})" "\n";
  std::string b = R"({"run":1,"kind":"record","values":{"best":1,"lr":2}})" "\n";
  std::string c = R"({"run":1,"kind":"track","values":{"loss":2,"acc":null}})" "\n";
  std::string d = R"({"run":1,"kind":"record","values":{"best":0}})" "\n";
  std::string partial = c.substr(0, 10);

  size_t offset = FoldMetricsLines(a + b + partial, 0, info);
  CHECK(offset == a.size() + b.size());  // the half-written line waits
  offset = FoldMetricsLines(a + b + c + d, offset, info);
  CHECK(offset == a.size() + b.size() + c.size() + d.size());
  // Folding again from the end adds nothing.
  CHECK(FoldMetricsLines(a + b + c + d, offset, info) == offset);
  CHECK(json::serialize(info.at("records")) == R"([{"best":0,"lr":2}])");
  CHECK(json::serialize(info.at("tracks")) == R"([{"loss":[3,2],"acc":[null]}])");
}

TEST_CASE("the metrics fold skips junk and unknown kinds and grows the history to a later run", "[tasks][results]") {
  json::object info = Info(1);
  std::string text = std::string("{\"run\":1,\"kind\":\"track\",\"values\":{\"x\":1}}\n") +
                     "garbage\n" +
                     "[1,2]\n" +
                     LinkLine(1, kId1) +                                         // not a metric
                     "{\"run\":-1,\"kind\":\"record\",\"values\":{\"x\":1}}\n" +  // no such run
                     "{\"run\":1,\"kind\":\"record\",\"values\":5}\n" +          // values not an object
                     "{\"run\":3,\"kind\":\"record\",\"values\":{\"late\":true}}\n";
  CHECK(FoldMetricsLines(text, 0, info) == text.size());
  CHECK(info.at("run_index").to_number<int64_t>() == 3);
  CHECK(json::serialize(info.at("records")) == R"([{},{},{"late":true}])");
  CHECK(json::serialize(info.at("tracks")) == R"([{"x":[1]},{},{}])");
  CHECK(json::serialize(info.at("exit_codes")) == "[null,null,null]");
}
