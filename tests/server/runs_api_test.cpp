// v1 runs, metrics, recycle bin, projects, exports, health and config over real HTTP.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <set>

#include "server_fixture.h"

using namespace runicorn::testing;
namespace bj = boost::json;

namespace {

std::set<std::string> Keys(const bj::value& v) {
  std::set<std::string> out;
  for (const auto& kv : v.as_object()) out.insert(std::string(kv.key()));
  return out;
}

}  // namespace

TEST_CASE("health answers ok with version and storage, without a token", "[server][health]") {
  TestServer srv({.token = "s3cret"});
  HttpClient c(srv.port());
  auto r = c.Get("/api/health");
  REQUIRE(r.status == 200);
  auto o = r.json().as_object();
  // "index" (ingestion state and counters) added by the reliability issue (items 2, 5, 8).
  CHECK(Keys(r.json()) ==
        std::set<std::string>{"status", "version", "storage", "timestamp", "index_generation", "index", "cache"});
  CHECK(o.at("status").as_string() == "ok");
  CHECK(o.at("version").as_string() == runicorn::server::RunicornVersion());
  CHECK(o.at("storage").as_string() == srv.ctx().root.string());
  CHECK(r.header("access-control-allow-origin").empty());  // CORS only for allow-listed origins
  CHECK(r.header("content-type") == "application/json");
}

TEST_CASE("run list and detail carry Runicorn's fields", "[server][runs]") {
  TestServer srv;
  std::string a = MakeRun(srv.store(), "vision", "resnet", 50, {"baseline"});
  std::string b = MakeRun(srv.store(), "nlp", "bert", 20, {}, 0.5, runtrack::RunStatus::kFailed);
  srv.Sync();
  HttpClient c(srv.port());

  auto list = c.Get("/api/runs");
  REQUIRE(list.status == 200);
  auto arr = list.json().as_array();
  REQUIRE(arr.size() == 2);
  for (const char* f : {"id", "run_dir", "created_time", "status", "pid", "best_metric_value", "best_metric_name",
                        "project", "name", "artifacts_created_count", "artifacts_used_count"})
    CHECK(arr[0].as_object().contains(f));
  auto find = [&](const std::string& id) {
    for (const auto& x : arr)
      if (x.as_object().at("id").as_string() == id) return x.as_object();
    FAIL("run missing");
    return bj::object();
  };
  auto ra = find(a);
  CHECK(ra.at("project").as_string() == "vision");
  CHECK(ra.at("status").as_string() == "finished");
  CHECK(ra.at("best_metric_name").as_string() == "accuracy");
  CHECK(ra.at("best_metric_value").as_double() == Approx(1.0 - 1.0 / 51));
  CHECK(ra.at("run_dir").as_string() == (srv.ctx().root / "runs" / a).string());
  CHECK(find(b).at("status").as_string() == "failed");

  auto filtered = c.Get("/api/runs?project=nlp");
  REQUIRE(filtered.json().as_array().size() == 1);

  auto detail = c.Get("/api/runs/" + a);
  REQUIRE(detail.status == 200);
  auto d = detail.json().as_object();
  CHECK(d.at("id").as_string() == a);
  CHECK(d.at("metrics_step").as_string() == "/api/runs/" + a + "/metrics_step");
  CHECK(d.at("config").as_object().at("lr").as_double() == 0.01);
  CHECK(d.at("config").as_object().size() == 1);
  CHECK(d.at("metric_names").as_array().size() == 3);
  CHECK(d.at("tags").as_array().at(0).as_string() == "baseline");

  auto missing = c.Get("/api/runs/20200101_000000_abcdef");
  CHECK(missing.status == 404);
  CHECK(missing.detail() == "Run not found");
}

// A malformed id names no run: 404 "Run not found" like an unknown one (Runicorn's answer), still
// rejected before any file access.
TEST_CASE("bad run ids and traversal attempts are 404, never a file access", "[server][runs][security]") {
  TestServer srv;
  HttpClient c(srv.port());
  for (std::string bad : {"abc123", "..%2F..%2Fetc%2Fpasswd", "%2e%2e", "20250101_000000_ABCDEF",
                          "20250101_000000_abcdeff", "..%5C..%5Cwindows"}) {
    INFO(bad);
    for (std::string suffix : {"", "/metrics", "/metrics_step"}) {
      auto r = c.Get("/api/runs/" + bad + suffix);
      CHECK((r.status == 404));
      CHECK(r.detail() == "Run not found");
    }
    CHECK(c.Get("/api/v2/experiments/" + bad).status == 404);
    CHECK(c.Get("/api/v2/experiments/" + bad + "/metrics/fast").status == 404);
    CHECK(c.Get("/api/export/" + bad + "/csv").status == 404);
    CHECK(c.Get("/api/export/" + bad + "/json").detail() == "Run not found");
  }
  // An unencoded ../ never reaches a handler as a run id: it changes the route.
  auto r = c.Get("/api/runs/../../etc/passwd");
  CHECK((r.status == 404 || r.status == 400));
  CHECK(c.Get("/api/runs/%zz").status == 400);  // malformed escape
  // A NUL byte is refused by the URL decoder before any route (a malformed request, not an id).
  auto nul = c.Get("/api/runs/20250101_000000_abcdef%00");
  CHECK(nul.status == 400);
  CHECK(nul.detail() == "NUL byte in request target");
}

TEST_CASE("metrics_step: columns/rows, downsampling, filters, stage, non-finite as null", "[server][metrics]") {
  TestServer srv;
  runtrack::RunOptions o;
  o.project = "p";
  auto run = srv.store().CreateRun(o);
  REQUIRE(run.ok());
  for (int s = 1; s <= 5000; ++s) REQUIRE((*run)->Log({{"loss", 1.0 / s}, {"acc", s * 1e-4}}, s, s <= 100 ? "warmup" : "train").ok());
  REQUIRE((*run)->Log(5001, "loss", std::nan("")).ok());
  std::string id = (*run)->id();
  REQUIRE((*run)->Finish().ok());
  srv.Sync();
  HttpClient c(srv.port());

  auto full = c.Get("/api/runs/" + id + "/metrics_step");
  REQUIRE(full.status == 200);
  auto f = full.json().as_object();
  auto cols = f.at("columns").as_array();
  REQUIRE(cols.size() == 5);  // Runicorn's order: global_step, then the rest sorted by name
  CHECK(cols[0].as_string() == "global_step");
  CHECK(cols[1].as_string() == "acc");
  CHECK(cols[2].as_string() == "loss");
  CHECK(cols[3].as_string() == "stage");
  CHECK(cols[4].as_string() == "time");
  auto rows = f.at("rows").as_array();
  REQUIRE(rows.size() == 5001);
  CHECK(rows[0].as_object().at("global_step").as_int64() == 1);
  CHECK(rows[0].as_object().at("loss").as_double() == 1.0);
  CHECK(rows[0].as_object().at("stage").as_string() == "warmup");
  CHECK(rows[200].as_object().at("stage").as_string() == "train");
  CHECK(rows[5000].as_object().at("loss").is_null());        // NaN
  CHECK(rows[5000].as_object().at("acc").is_null());         // not logged at 5001: null, as Runicorn
  CHECK(f.at("sampled").as_int64() == 5001);                 // rows returned
  CHECK(f.at("downsampled").as_bool() == false);
  CHECK(f.at("total_points").as_int64() == 10001);

  auto ds = c.Get("/api/runs/" + id + "/metrics_step?downsample=100&metrics=loss");
  REQUIRE(ds.status == 200);
  auto d = ds.json().as_object();
  CHECK(d.at("columns").as_array().size() == 4);  // global_step, loss, stage, time
  CHECK(d.at("rows").as_array().size() <= 200);    // target + surfaced non-finite
  CHECK(d.at("rows").as_array().size() >= 50);
  CHECK(d.at("downsampled").as_bool());
  CHECK(d.at("sampled").as_int64() == static_cast<int64_t>(d.at("rows").as_array().size()));
  CHECK(d.at("method").as_string() == "lttb");

  auto range = c.Get("/api/runs/" + id + "/metrics_step?step_range=10,19&metrics=acc");
  auto rr = range.json().as_object().at("rows").as_array();
  REQUIRE(rr.size() == 10);
  CHECK(rr.front().as_object().at("global_step").as_int64() == 10);
  CHECK(rr.back().as_object().at("global_step").as_int64() == 19);
  CHECK(c.Get("/api/runs/" + id + "/metrics_step?step_range=10:19&method=m4&downsample=4").status == 200);

  auto missing_metric = c.Get("/api/runs/" + id + "/metrics_step?metrics=nope,loss&step_range=1,2");
  REQUIRE(missing_metric.status == 200);
  CHECK(missing_metric.json().as_object().at("missing_metrics").as_array().at(0).as_string() == "nope");

  for (std::string bad : {"downsample=0", "downsample=abc", "downsample=-5", "downsample=99999999999",
                          "method=fancy", "step_range=5", "step_range=9,1", "step_range=a,b", "x_axis=banana"}) {
    INFO(bad);
    auto r = c.Get("/api/runs/" + id + "/metrics_step?" + bad);
    CHECK(r.status == 422);
    CHECK_FALSE(r.detail().empty());
  }
  CHECK(c.Get("/api/runs/20200101_000000_abcdef/metrics_step").status == 404);

  auto timed = c.Get("/api/runs/" + id + "/metrics?downsample=50&time=relative");
  REQUIRE(timed.status == 200);
  auto t = timed.json().as_object();
  CHECK(t.at("columns").as_array().at(0).as_string() == "time");
  CHECK(t.at("rows").as_array().at(0).as_object().at("time").as_double() >= 0.0);
}

TEST_CASE("soft delete, recycle bin, restore and empty", "[server][runs][recycle]") {
  TestServer srv;
  std::string a = MakeRun(srv.store(), "p", "n", 5);
  std::string b = MakeRun(srv.store(), "p", "n", 5);
  srv.Sync();
  HttpClient c(srv.port());

  auto del = c.Post("/api/runs/soft-delete", bj::serialize(bj::object{{"run_ids", bj::array{bj::value(a)}}}));
  REQUIRE(del.status == 200);
  auto dj = del.json().as_object();
  CHECK(dj.at("deleted_count").as_int64() == 1);
  CHECK(dj.at("results").as_object().at(a).as_object().at("success").as_bool());
  CHECK(dj.at("message").as_string() == "Soft deleted 1 of 1 runs");
  CHECK(c.Get("/api/runs").json().as_array().size() == 1);

  auto bin = c.Get("/api/recycle-bin").json().as_object().at("deleted_runs").as_array();
  REQUIRE(bin.size() == 1);
  auto item = bin[0].as_object();
  CHECK(item.at("id").as_string() == a);
  CHECK(item.at("original_status").as_string() == "finished");
  CHECK(item.at("deleted_at").is_double());
  for (const char* f : {"project", "name", "created_time", "delete_reason", "run_dir"}) CHECK(item.contains(f));

  auto res = c.Post("/api/recycle-bin/restore", bj::serialize(bj::object{{"run_ids", bj::array{bj::value(a)}}}));
  REQUIRE(res.status == 200);
  CHECK(res.json().as_object().at("restored_count").as_int64() == 1);
  CHECK(c.Get("/api/runs").json().as_array().size() == 2);

  // Errors: every one a 400 with a detail, nothing changed.
  CHECK(c.Post("/api/runs/soft-delete", "{").status == 400);
  CHECK(c.Post("/api/runs/soft-delete", "[]").status == 400);
  CHECK(c.Post("/api/runs/soft-delete", "{}").detail() == "run_ids is required and must be a list");
  CHECK(c.Post("/api/runs/soft-delete", R"({"run_ids": "x"})").status == 400);
  CHECK(c.Post("/api/runs/soft-delete", R"({"run_ids": [1]})").status == 400);
  auto bad = c.Post("/api/runs/soft-delete", R"({"run_ids": ["abc123"]})");
  CHECK(bad.status == 400);
  CHECK(bad.detail().rfind("Invalid run_id format: abc123", 0) == 0);
  bj::array many;
  for (int i = 0; i < 101; ++i) many.emplace_back(a);
  auto too_many = c.Post("/api/runs/soft-delete", bj::serialize(bj::object{{"run_ids", many}}));
  CHECK(too_many.status == 400);
  CHECK(too_many.detail() == "Cannot delete more than 100 runs at once");
  auto unknown = c.Post("/api/runs/soft-delete", R"({"run_ids": ["20200101_000000_abcdef"]})");
  CHECK(unknown.status == 200);
  CHECK(unknown.json().as_object().at("deleted_count").as_int64() == 0);

  CHECK(c.Post("/api/recycle-bin/empty", "{}").detail() == "Must set confirm=true to permanently delete");
  CHECK(c.Post("/api/recycle-bin/empty", R"({"confirm": "yes"})").status == 400);
  REQUIRE(c.Post("/api/runs/soft-delete", bj::serialize(bj::object{{"run_ids", bj::array{bj::value(b)}}})).status == 200);
  auto empty = c.Post("/api/recycle-bin/empty", R"({"confirm": true})");
  REQUIRE(empty.status == 200);
  CHECK(empty.json().as_object().at("permanently_deleted").as_int64() == 1);
  CHECK_FALSE(std::filesystem::exists(srv.ctx().root / "runs" / b));
  CHECK(c.Get("/api/runs/" + b).status == 404);
}

TEST_CASE("projects, names and runs by name", "[server][projects]") {
  TestServer srv;
  MakeRun(srv.store(), "vision", "resnet", 3);
  MakeRun(srv.store(), "vision", "vit", 3);
  MakeRun(srv.store(), "nlp", "bert", 3);
  srv.Sync();
  HttpClient c(srv.port());
  CHECK(bj::serialize(c.Get("/api/projects").json()) == R"({"projects":["nlp","vision"]})");
  CHECK(bj::serialize(c.Get("/api/projects/vision/names").json()) == R"({"names":["resnet","vit"]})");
  CHECK(bj::serialize(c.Get("/api/projects/none/names").json()) == R"({"names":[]})");
  auto runs = c.Get("/api/projects/vision/names/vit/runs").json().as_array();
  REQUIRE(runs.size() == 1);
  CHECK(runs[0].as_object().at("name").as_string() == "vit");
}

TEST_CASE("exports: CSV and JSON of every point", "[server][export]") {
  TestServer srv;
  std::string id = MakeRun(srv.store(), "p", "n", 20);
  srv.Sync();
  HttpClient c(srv.port());
  auto csv = c.Get("/api/export/" + id + "/csv");
  REQUIRE(csv.status == 200);
  CHECK(csv.header("content-type") == "text/csv; charset=utf-8");
  CHECK(csv.header("content-disposition") == "attachment; filename=\"" + id + "_metrics.csv\"");
  CHECK(csv.body.rfind("global_step,time,accuracy,loss,val_loss,stage\n1,", 0) == 0);
  CHECK(std::count(csv.body.begin(), csv.body.end(), '\n') == 21);
  auto js = c.Get("/api/export/" + id + "/json");
  REQUIRE(js.status == 200);
  auto o = js.json().as_object();
  CHECK(o.at("run").as_object().at("id").as_string() == id);
  CHECK(o.at("metrics").as_object().at("rows").as_array().size() == 20);
  CHECK(c.Get("/api/export/20200101_000000_abcdef/csv").status == 404);
  CHECK(c.Get("/api/export/" + id + "/xml").status == 404);
}

TEST_CASE("config: read, and user_root_dir saved for the next start", "[server][config]") {
  TestServer srv;
  HttpClient c(srv.port());
  auto g = c.Get("/api/config").json().as_object();
  CHECK(g.at("storage").as_string() == srv.ctx().root.string());
  CHECK(g.at("user_root_dir").is_null());
  CHECK(g.at("config_file").as_string() == srv.ctx().config_file.string());

  auto target = srv.dir() / "new-root";
  auto p = c.Post("/api/config/user_root_dir", bj::serialize(bj::object{{"path", target.string()}}));
  REQUIRE(p.status == 200);
  auto po = p.json().as_object();
  CHECK(po.at("ok").as_bool());
  CHECK(po.at("user_root_dir").as_string() == target.string());
  CHECK(po.at("storage").as_string() == srv.ctx().root.string());  // served root unchanged
  CHECK(po.at("restart_required").as_bool());
  CHECK(c.Get("/api/config").json().as_object().at("user_root_dir").as_string() == target.string());

  CHECK(c.Post("/api/config/user_root_dir", R"({"path": "relative/dir"})").status == 400);
  CHECK(c.Post("/api/config/user_root_dir", R"({"path": 3})").status == 400);
  CHECK(c.Post("/api/config/user_root_dir", R"({})").status == 400);
  CHECK(c.Post("/api/config/user_root_dir", R"({"path": "/proc/forbidden/x"})").status == 400);
  CHECK(c.Post("/api/config/user_root_dir", "not json").status == 400);
}
