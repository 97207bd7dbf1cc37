// Runicorn's metric row shape (every column in every row, absolute time, stage, total/sampled,
// X-* headers), the later record winning a step, and the row bound with paging: the encoder on
// hand-made tables (exact bodies) and the routes over real HTTP.
#include <catch2/catch.hpp>

#include <chrono>
#include <cmath>
#include <string>
#include <thread>
#include <vector>

#include "encode/api_json.h"
#include "server_fixture.h"

using namespace runicorn::testing;
namespace bj = boost::json;
using runicorn::service::MetricTable;
using runicorn::service::MetricTableQuery;

namespace {

// Three steps of acc and loss (plus a metric named "time", which the row's own time column
// shadows), one row without a stage, one NaN and two gaps.
MetricTable SmallTable() {
  MetricTable t;
  t.rows.columns = {"step", "acc", "loss", "time"};
  t.rows.steps = {1, 2, 3};
  t.rows.values = {{0.5, 2.0, 9.0}, {std::nullopt, 1.5, std::nullopt}, {0.75, std::nan(""), std::nullopt}};
  t.wall_time = {1796281920.8608613, 1796281921.5, 1796281922.25};
  t.stages = {"", "train"};
  t.stage_index = {1, 0, 1};
  t.stage = {"train", "", "train"};
  t.points_in_range = 7;
  t.total_steps = 3;
  return t;
}

double NowEpoch() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

TEST_CASE("metrics_step body: every column in every row, Runicorn's column order, exact text",
          "[server][metrics][shape]") {
  CHECK(runicorn::encode::MetricsStep(MetricTableQuery{}, SmallTable()) ==
        R"({"columns":["global_step","acc","loss","stage","time"],"rows":[)"
        R"({"global_step":1,"acc":0.5,"loss":2.0,"stage":"train","time":1796281920.8608613},)"
        R"({"global_step":2,"acc":null,"loss":1.5,"stage":null,"time":1796281921.5},)"
        R"({"global_step":3,"acc":0.75,"loss":null,"stage":"train","time":1796281922.25}],)"
        R"("total":3,"sampled":3,"total_points":7,"downsampled":false,"downsample":null,"method":"none",)"
        R"("missing_metrics":[],"truncated":false,"next_step":null})");

  // With metrics= the metrics keep the order asked for; stage and time follow. A downsampled
  // table whose distinct steps were not counted has "total": null.
  MetricTable t = SmallTable();
  t.rows.columns = {"step", "loss", "acc"};
  t.rows.values = {{2.0, 0.5}, {1.5, std::nullopt}, {std::nullopt, 0.75}};
  t.total_steps.reset();
  t.downsampled = true;
  t.truncated = false;
  t.missing_metrics = {"nope"};
  MetricTableQuery q;
  q.metrics = {"loss", "acc", "nope"};
  q.downsample = 2;
  CHECK(runicorn::encode::MetricsStep(q, t) ==
        R"({"columns":["global_step","loss","acc","stage","time"],"rows":[)"
        R"({"global_step":1,"loss":2.0,"acc":0.5,"stage":"train","time":1796281920.8608613},)"
        R"({"global_step":2,"loss":1.5,"acc":null,"stage":null,"time":1796281921.5},)"
        R"({"global_step":3,"loss":null,"acc":0.75,"stage":"train","time":1796281922.25}],)"
        R"("total":null,"sampled":3,"total_points":7,"downsampled":true,"downsample":2,"method":"lttb",)"
        R"("missing_metrics":["nope"],"truncated":false,"next_step":null})");
}

TEST_CASE("relative-time body: time since the first row, then global_step, metrics, stage",
          "[server][metrics][shape]") {
  MetricTable t = SmallTable();
  t.truncated = true;
  t.next_step = 4;
  CHECK(runicorn::encode::MetricsRelativeTime(MetricTableQuery{}, t) ==
        R"({"columns":["time","global_step","acc","loss","stage"],"rows":[)"
        R"({"time":0.0,"global_step":1,"acc":0.5,"loss":2.0,"stage":"train"},)"
        R"({"time":0.6391386985778809,"global_step":2,"acc":null,"loss":1.5,"stage":null},)"
        R"({"time":1.3891386985778809,"global_step":3,"acc":0.75,"loss":null,"stage":"train"}],)"
        R"("total":3,"sampled":3,"total_points":7,"downsampled":false,"downsample":null,"method":"none",)"
        R"("missing_metrics":[],"truncated":true,"next_step":4})");
}

TEST_CASE("metric names are escaped as JSON and the body parses", "[server][metrics][shape]") {
  MetricTable t = SmallTable();
  t.rows.columns = {"step", "va\"l/准确率\n", "loss", "x"};
  t.stages = {"", "ph\\ase"};
  const std::string body = runicorn::encode::MetricsStep(MetricTableQuery{}, t);
  const bj::object o = bj::parse(body).as_object();
  CHECK(bj::serialize(o.at("columns")) == R"(["global_step","loss","stage","time","va\"l/准确率\n","x"])");
  CHECK(o.at("rows").as_array()[0].as_object().at("va\"l/准确率\n").as_double() == 0.5);
  CHECK(o.at("rows").as_array()[0].as_object().at("stage").as_string() == "ph\\ase");
}

TEST_CASE("metrics_step and metrics over HTTP: Runicorn's rows, absolute time, X-* headers",
          "[server][metrics][shape]") {
  TestServer srv;
  runtrack::RunOptions o;
  o.project = "p";
  auto run = srv.store().CreateRun(o);
  REQUIRE(run.ok());
  const double before = NowEpoch();
  for (int s = 1; s <= 10; ++s) REQUIRE((*run)->Log({{"loss", 1.0 / s}}, s, "train").ok());
  for (int s = 2; s <= 10; s += 2) REQUIRE((*run)->Log({{"val_loss", 2.0 / s}}, s, "val").ok());
  REQUIRE((*run)->Log({{"lr", 0.001}}, 11).ok());  // no stage
  const double after = NowEpoch();
  const std::string id = (*run)->id();
  REQUIRE((*run)->Finish().ok());
  srv.Sync();
  HttpClient c(srv.port());

  for (std::string route : {"/metrics_step", "/metrics"}) {
    INFO(route);
    auto r = c.Get("/api/runs/" + id + route);
    REQUIRE(r.status == 200);
    CHECK(r.header("content-type") == "application/json");
    CHECK(r.header("x-row-count") == "11");
    CHECK(r.header("x-total-count") == "11");
    CHECK(r.header("x-last-step") == "11");
    const bj::object b = r.json().as_object();
    CHECK(bj::serialize(b.at("columns")) == R"(["global_step","loss","lr","stage","time","val_loss"])");
    CHECK(b.at("total").as_int64() == 11);
    CHECK(b.at("sampled").as_int64() == 11);
    const bj::array& rows = b.at("rows").as_array();
    REQUIRE(rows.size() == 11);
    // The seed's `[row['loss'] for row in rows]`: every row has every column.
    for (const auto& row : rows)
      for (const auto& col : b.at("columns").as_array()) CHECK(row.as_object().contains(col.as_string()));
    CHECK(rows[0].as_object().at("val_loss").is_null());
    CHECK(rows[0].as_object().at("stage").as_string() == "train");
    CHECK(rows[1].as_object().at("stage").as_string() == "val");  // val_loss logged after loss at step 2
    CHECK(rows[1].as_object().at("val_loss").as_double() == 1.0);
    CHECK(rows[10].as_object().at("loss").is_null());
    CHECK(rows[10].as_object().at("stage").is_null());
    CHECK(rows[10].as_object().at("lr").as_double() == 0.001);
    const double t0 = rows[0].as_object().at("time").as_double();
    CHECK(t0 >= std::floor(before));  // absolute wall clock, not seconds since the start
    CHECK(t0 <= after + 1);
  }
  // Our relative-time view stays available.
  auto rel = c.Get("/api/runs/" + id + "/metrics?time=relative").json().as_object();
  CHECK(bj::serialize(rel.at("columns")) == R"(["time","global_step","loss","lr","val_loss","stage"])");
  CHECK(rel.at("rows").as_array()[0].as_object().at("time").as_double() == 0.0);
  CHECK(c.Get("/api/runs/" + id + "/metrics?time=absolute").body == c.Get("/api/runs/" + id + "/metrics_step").body);

  auto bad = c.Get("/api/runs/" + id + "/metrics?time=utc");
  CHECK(bad.status == 422);
  CHECK(bad.detail() == "Invalid query parameter 'time': expected absolute or relative");
  auto unknown = c.Get("/api/runs/20200101_000000_abcdef/metrics_step");
  CHECK(unknown.status == 404);
  CHECK(unknown.detail() == "Run not found");
}

TEST_CASE("a step logged under two stages: the later record wins, stage included, end to end",
          "[server][metrics][shape]") {
  TestServer srv;
  auto run = srv.store().CreateRun(runtrack::RunOptions{});
  REQUIRE(run.ok());
  REQUIRE((*run)->Log({{"loss", 1.0}}, 5, "train").ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(2));  // distinct wall times decide the order
  REQUIRE((*run)->Log({{"loss", 2.0}}, 5, "val").ok());
  REQUIRE((*run)->Log({{"acc", 0.5}}, 6, "train").ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  REQUIRE((*run)->Log({{"loss", 3.0}}, 6, "val").ok());
  const std::string id = (*run)->id();
  REQUIRE((*run)->Finish().ok());
  srv.Sync();
  HttpClient c(srv.port());
  auto rows = c.Get("/api/runs/" + id + "/metrics_step").json().as_object().at("rows").as_array();
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].as_object().at("loss").as_double() == 2.0);
  CHECK(rows[0].as_object().at("stage").as_string() == "val");
  CHECK(rows[0].as_object().at("acc").is_null());
  CHECK(rows[1].as_object().at("acc").as_double() == 0.5);
  CHECK(rows[1].as_object().at("loss").as_double() == 3.0);
  CHECK(rows[1].as_object().at("stage").as_string() == "val");
}

TEST_CASE("pages of max_rows rows, continued with step_range=next_step, concatenate to the whole table",
          "[server][metrics][paging]") {
  TestServer srv;
  auto run = srv.store().CreateRun(runtrack::RunOptions{});
  REQUIRE(run.ok());
  for (int s = 1; s <= 25; ++s) {
    REQUIRE((*run)->Log(s, "a", s * 0.5).ok());
    if (s % 2 == 0) REQUIRE((*run)->Log(s, "b", -s).ok());
  }
  const std::string id = (*run)->id();
  REQUIRE((*run)->Finish().ok());
  srv.Sync();
  HttpClient c(srv.port());
  const bj::object whole = c.Get("/api/runs/" + id + "/metrics_step").json().as_object();
  REQUIRE(whole.at("rows").as_array().size() == 25);
  CHECK(whole.at("truncated").as_bool() == false);

  for (std::string route : {"/metrics_step", "/metrics"}) {
    INFO(route);
    bj::array joined;
    std::string from;
    int pages = 0;
    for (;; ++pages) {
      REQUIRE(pages < 10);
      auto r = c.Get("/api/runs/" + id + route + "?max_rows=7" + (from.empty() ? "" : "&step_range=" + from + ","));
      REQUIRE(r.status == 200);
      const bj::object page = r.json().as_object();
      const auto& rows = page.at("rows").as_array();
      CHECK(r.header("x-row-count") == std::to_string(rows.size()));
      CHECK(page.at("sampled").as_int64() == static_cast<int64_t>(rows.size()));
      CHECK(page.at("total").as_int64() == 25 - 7 * pages);  // distinct steps in the asked range
      for (const auto& row : rows) joined.push_back(row);
      if (!page.at("truncated").as_bool()) {
        CHECK(page.at("next_step").is_null());
        CHECK(rows.size() == 4);
        break;
      }
      REQUIRE(rows.size() == 7);
      CHECK(page.at("next_step").as_int64() == rows.back().as_object().at("global_step").as_int64() + 1);
      CHECK(r.header("x-last-step") == std::to_string(rows.back().as_object().at("global_step").as_int64()));
      from = std::to_string(page.at("next_step").as_int64());
    }
    CHECK(pages == 3);
    CHECK(bj::serialize(joined) == bj::serialize(whole.at("rows")));
  }

  for (std::string bad : {"max_rows=0", "max_rows=100001", "max_rows=x", "max_rows=5&downsample=100"}) {
    INFO(bad);
    auto r = c.Get("/api/runs/" + id + "/metrics_step?" + bad);
    CHECK(r.status == 422);
    CHECK(r.detail().rfind("Invalid query parameter 'max_rows'", 0) == 0);
  }
}

TEST_CASE("without downsample a response stops at 100,000 rows and says where to go on",
          "[server][metrics][paging]") {
  TestServer srv;
  auto run = srv.store().CreateRun(runtrack::RunOptions{});
  REQUIRE(run.ok());
  constexpr int kSteps = 100'003;
  for (int s = 1; s <= kSteps; ++s) REQUIRE((*run)->Log(s, "loss", 1.0 / s).ok());
  const std::string id = (*run)->id();
  REQUIRE((*run)->Finish().ok());
  srv.Sync();
  HttpClient c(srv.port());
  auto first = c.Get("/api/runs/" + id + "/metrics_step");
  REQUIRE(first.status == 200);
  CHECK(first.header("x-row-count") == "100000");
  CHECK(first.header("x-total-count") == "100003");
  CHECK(first.header("x-last-step") == "100000");
  const bj::object f = first.json().as_object();
  CHECK(f.at("rows").as_array().size() == 100'000);
  CHECK(f.at("truncated").as_bool());
  CHECK(f.at("next_step").as_int64() == 100'001);
  auto rest = c.Get("/api/runs/" + id + "/metrics_step?step_range=100001,").json().as_object();
  CHECK(rest.at("rows").as_array().size() == 3);
  CHECK(rest.at("truncated").as_bool() == false);
  // v2's metrics/fast has the same bound; a downsampled query is bounded by its target instead.
  auto fast = c.Get("/api/v2/experiments/" + id + "/metrics/fast").json().as_object();
  CHECK(fast.at("rows").as_array().size() == 100'000);
  CHECK(fast.at("next_step").as_int64() == 100'001);
  auto ds = c.Get("/api/runs/" + id + "/metrics_step?downsample=500").json().as_object();
  CHECK(ds.at("truncated").as_bool() == false);
  CHECK(ds.at("rows").as_array().size() <= 500);
}
