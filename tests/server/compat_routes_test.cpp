// The Runicorn v0.5.3 routes its UI calls beyond runs and charts (docs/API.md "Runicorn
// compatibility"): exact bodies, and the failure answers (unknown run, malformed id, bad bodies).
#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>

#include "runtrack/layout.h"
#include "server_fixture.h"

using namespace runicorn::testing;
namespace bj = boost::json;

namespace {

void WriteFile(const std::filesystem::path& p, const std::string& content) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << content;
}

// The body, parsed; with its serialisation in the failure message.
bj::value Body(const HttpResult& r, unsigned status = 200) {
  INFO(r.body);
  REQUIRE(r.status == status);
  return r.json();
}

// Replaces a field whose value depends on the clock after checking it is a number.
void TakeNumber(bj::object& o, const char* field, double* out = nullptr) {
  INFO(field);
  REQUIRE(o.contains(field));
  REQUIRE(o.at(field).is_number());
  if (out) *out = o.at(field).to_number<double>();
  o[field] = "<number>";
}

void CheckSame(const bj::value& got, const bj::value& want) {
  INFO("got:  " << bj::serialize(got) << "\nwant: " << bj::serialize(want));
  CHECK(got == want);
}

// Sets environment variables for one test and restores "unset" afterwards.
struct ScopedEnv {
  explicit ScopedEnv(const std::map<std::string, std::string>& vars) : vars_(vars) {
    for (const auto& [k, v] : vars_) ::setenv(k.c_str(), v.c_str(), 1);
  }
  ~ScopedEnv() {
    for (const auto& [k, v] : vars_) ::unsetenv(k.c_str());
  }
  std::map<std::string, std::string> vars_;
};

// Two runs: the first logs dataset "toy-dataset" and model "toy-model" v1, the second uses the
// dataset and logs "toy-model" v2. Each has a summary and a primary metric.
struct ArtifactStore {
  std::string first, second;
  explicit ArtifactStore(TestServer& srv) {
    auto src = srv.dir() / "src";
    WriteFile(src / "data.bin", std::string(864, 'd'));
    WriteFile(src / "model.bin", std::string(8192, 'm'));
    for (int i = 0; i < 2; ++i) {
      runtrack::RunOptions o;
      o.project = "nlp";
      o.name = i == 0 ? "base" : "bert";
      auto run = srv.store().CreateRun(o);
      REQUIRE(run.ok());
      (i == 0 ? first : second) = (*run)->id();
      REQUIRE((*run)->SetPrimaryMetric("val_acc", runtrack::MetricMode::kMax).ok());
      for (int s = 1; s <= 4; ++s) REQUIRE((*run)->Log(s, "val_acc", 0.5 + 0.1 * s + 0.05 * i).ok());
      REQUIRE((*run)->Summary({{"epochs", 10 + i}, {"note", "run " + std::to_string(i)}}).ok());
      if (i == 0) {
        auto ds = runtrack::Artifact::Create("toy-dataset", runtrack::ArtifactType::kDataset);
        REQUIRE(ds.ok());
        ds->SetDescription("shared toy dataset");
        REQUIRE(ds->AddFile(src / "data.bin").ok());
        REQUIRE((*run)->LogArtifact(*ds).ok());
      } else {
        REQUIRE((*run)->UseArtifact("toy-dataset:latest").ok());
      }
      auto model = runtrack::Artifact::Create("toy-model", runtrack::ArtifactType::kModel);
      REQUIRE(model.ok());
      REQUIRE(model->AddFile(src / "model.bin").ok());
      REQUIRE((*run)->LogArtifact(*model).ok());
      REQUIRE((*run)->Finish().ok());
    }
    srv.Sync();
  }
};

double CreatedAt(HttpClient& c, const std::string& name, int version) {
  auto v = Body(c.Get("/api/artifacts/" + name + "/v" + std::to_string(version)));
  return v.as_object().at("created_at").to_number<double>();
}

}  // namespace

TEST_CASE("compat: a run's created and used artifacts", "[server][compat][run_artifacts]") {
  TestServer srv;
  ArtifactStore store(srv);
  HttpClient c(srv.port());
  const double dataset_at = CreatedAt(c, "toy-dataset", 1);
  const double v1_at = CreatedAt(c, "toy-model", 1);
  const double v2_at = CreatedAt(c, "toy-model", 2);

  bj::object dataset{{"name", "toy-dataset"},   {"type", "dataset"},
                     {"version", 1},            {"size_bytes", 864},
                     {"created_at", dataset_at}, {"description", "shared toy dataset"},
                     {"aliases", bj::array{"latest"}}, {"lifecycle_stage", "experimental"}};
  bj::object model1{{"name", "toy-model"},   {"type", "model"},  {"version", 1},      {"size_bytes", 8192},
                    {"created_at", v1_at},   {"description", ""}, {"aliases", bj::array{}},
                    {"lifecycle_stage", "experimental"}};
  bj::object model2 = model1;
  model2["version"] = 2;
  model2["created_at"] = v2_at;
  model2["aliases"] = bj::array{"latest"};

  CheckSame(Body(c.Get("/api/runs/" + store.first + "/artifacts")),
            bj::object{{"created", bj::array{dataset, model1}}, {"used", bj::array{}}});
  CheckSame(Body(c.Get("/api/runs/" + store.second + "/artifacts")),
            bj::object{{"created", bj::array{model2}}, {"used", bj::array{dataset}}});

  const bj::object not_found{{"detail", "Run not found"}};
  CheckSame(Body(c.Get("/api/runs/20260101_000000_abcdef/artifacts"), 404), not_found);
  CheckSame(Body(c.Get("/api/runs/..%2F..%2Fetc/artifacts"), 404), not_found);
}

TEST_CASE("compat: training metrics and performance history of an artifact", "[server][compat][artifact_metrics]") {
  TestServer srv;
  ArtifactStore store(srv);
  HttpClient c(srv.port());
  const double v1_at = CreatedAt(c, "toy-model", 1);
  const double v2_at = CreatedAt(c, "toy-model", 2);

  auto latest = Body(c.Get("/api/artifacts/toy-model/training-metrics")).as_object();
  double duration = -1;
  TakeNumber(latest, "duration_seconds", &duration);
  CHECK(duration >= 0);
  CheckSame(latest, bj::object{{"run_id", store.second},
                               {"run_name", "bert"},
                               {"project", "nlp"},
                               {"metrics", bj::object{{"epochs", 11},
                                                      {"note", "run 1"},
                                                      {"best_metric_value", 0.95},
                                                      {"best_metric_name", "val_acc"},
                                                      {"best_metric_step", 4},
                                                      {"best_metric_mode", "max"}}},
                               {"created_at", v2_at},
                               {"duration_seconds", "<number>"},
                               {"status", "finished"}});
  auto v1 = Body(c.Get("/api/artifacts/toy-model/training-metrics?version=1&type=model")).as_object();
  CHECK(v1.at("run_id") == bj::value(store.first));
  CHECK(v1.at("created_at") == bj::value(v1_at));

  CheckSame(Body(c.Get("/api/artifacts/toy-model/performance-history")),
            bj::array{bj::object{{"version", 1},
                                 {"created_at", v1_at},
                                 {"run_id", store.first},
                                 {"status", "finished"},
                                 {"metrics", bj::object{{"epochs", 10},
                                                        {"best_metric_value", 0.9},
                                                        {"best_metric_step", 4}}}},
                      bj::object{{"version", 2},
                                 {"created_at", v2_at},
                                 {"run_id", store.second},
                                 {"status", "finished"},
                                 {"metrics", bj::object{{"epochs", 11},
                                                        {"best_metric_value", 0.95},
                                                        {"best_metric_step", 4}}}}});
  auto only_epochs = Body(c.Get("/api/artifacts/toy-model/performance-history?metric_name=epochs")).as_array();
  REQUIRE(only_epochs.size() == 2);
  CheckSame(only_epochs[1].at("metrics"), bj::object{{"epochs", 11}});

  CheckSame(Body(c.Get("/api/artifacts/nope/training-metrics"), 404), bj::object{{"detail", "artifact 'nope' not found; existing artifacts: toy-dataset, toy-model"}});
  CheckSame(Body(c.Get("/api/artifacts/nope/performance-history"), 404),
            bj::object{{"detail", "artifact 'nope' not found; existing artifacts: toy-dataset, toy-model"}});
  CHECK(c.Get("/api/artifacts/toy-model/training-metrics?version=9").status == 404);
  CHECK(c.Get("/api/artifacts/toy-model/training-metrics?type=dataset").status == 404);
  CHECK(Body(c.Get("/api/artifacts/toy-model/training-metrics?version=0"), 422).at("detail") ==
        bj::value("Invalid version: expected v<N> with N >= 1"));
  CHECK(c.Get("/api/artifacts/toy-model/training-metrics?type=weights").status == 422);
  CHECK(c.Get("/api/artifacts/a%3Ab/training-metrics").status == 400);
  CHECK(c.Get("/api/artifacts/a%3Ab/performance-history").status == 400);
}

TEST_CASE("compat: environment capture and progress of a run", "[server][compat][environment]") {
  TestServer srv;
  const std::string with_env = MakeRun(srv.store(), "p", "a", 20);
  const std::string without = MakeRun(srv.store(), "p", "b", 5);
  const std::string broken = MakeRun(srv.store(), "p", "c", 5);
  const runtrack::StoreLayout layout(srv.store().root());
  WriteFile(layout.environment_path(with_env),
            R"({"python_version": "3.11.7", "git_info": {"branch": "main"}, "pip_packages": ["numpy==1.26.0"]})");
  WriteFile(layout.environment_path(broken), R"({"python_version": "3.1)");
  srv.Sync();
  HttpClient c(srv.port());

  CheckSame(Body(c.Get("/api/environment/" + with_env)),
            bj::object{{"available", true},
                       {"environment", bj::object{{"python_version", "3.11.7"},
                                                  {"git_info", bj::object{{"branch", "main"}}},
                                                  {"pip_packages", bj::array{"numpy==1.26.0"}}}}});
  CheckSame(Body(c.Get("/api/environment/" + without)), bj::object{{"available", false}});
  CheckSame(Body(c.Get("/api/environment/" + broken)), bj::object{{"available", false}});
  CheckSame(Body(c.Get("/api/environment/20260101_000000_abcdef"), 404), bj::object{{"detail", "Run not found"}});
  CheckSame(Body(c.Get("/api/environment/..%2Fcatalog"), 404), bj::object{{"detail", "Run not found"}});

  CheckSame(Body(c.Get("/api/runs/" + with_env + "/progress")),
            bj::object{{"available", false}, {"status", "finished"}, {"last_step", 20}});
  CheckSame(Body(c.Get("/api/runs/20260101_000000_abcdef/progress"), 404), bj::object{{"detail", "Run not found"}});
}

TEST_CASE("compat: system monitor reads this machine without waiting", "[server][compat][system]") {
  TestServer srv;
  HttpClient c(srv.port());
  auto body = Body(c.Get("/api/system/monitor")).as_object();
  auto keys = [](const bj::object& o) {
    std::vector<std::string> k;
    for (const auto& [key, v] : o) k.emplace_back(key);
    return k;
  };
  CHECK(keys(body) == std::vector<std::string>{"available", "ts", "cpu", "memory", "disk", "platform"});
  CHECK(body.at("available") == bj::value(true));
  const auto& cpu = body.at("cpu").as_object();
  CHECK(keys(cpu) == std::vector<std::string>{"percent", "count", "logical_count", "per_core", "frequency", "load_avg"});
  CHECK(cpu.at("percent").to_number<double>() >= 0.0);
  CHECK(cpu.at("percent").to_number<double>() <= 100.0);
  CHECK(cpu.at("per_core").as_array().size() == static_cast<size_t>(cpu.at("logical_count").to_number<int64_t>()));
  CHECK(cpu.at("load_avg").as_array().size() == 3);
  const auto& mem = body.at("memory").as_object();
  CHECK(keys(mem) ==
        std::vector<std::string>{"total", "available", "used", "percent", "swap_total", "swap_used", "swap_percent"});
  CHECK(mem.at("total").to_number<uint64_t>() > 0);
  const auto& disk = body.at("disk").as_object();
  CHECK(keys(disk) == std::vector<std::string>{"path", "total", "used", "free", "percent", "io"});
  // The file system of the store, not "/": the disk a tracker fills (docs/API.md).
  CHECK(disk.at("path") == bj::value(srv.ctx().root.string()));
  CHECK(keys(body.at("platform").as_object()) == std::vector<std::string>{"system", "release", "machine"});
  CHECK(body.at("platform").at("system") == bj::value("Linux"));
  // A second request reports usage since the first (the reader is kept), so it answers at once too.
  CHECK(c.Get("/api/system/monitor").status == 200);
}

TEST_CASE("compat: GPU telemetry through a fake NVML", "[server][compat][gpu]") {
  ScopedEnv env(std::map<std::string, std::string>{{"RUNICORN_NVML_LIBRARY", FAKE_NVML_PATH},
                 {"FAKE_NVML_DEVICES", "NVIDIA A100-SXM4-80GB:81920:40960:55:30:41:250000:400000:-"}});
  TestServer srv;  // reads RUNICORN_NVML_LIBRARY now
  HttpClient c(srv.port());
  auto body = Body(c.Get("/api/gpu/telemetry")).as_object();
  TakeNumber(body, "ts");
  CheckSame(body, bj::object{{"available", true},
                             {"ts", "<number>"},
                             {"gpus", bj::array{bj::object{{"index", 0},
                                                           {"name", "NVIDIA A100-SXM4-80GB"},
                                                           {"util_gpu", 55},
                                                           {"util_mem", 30},
                                                           {"mem_total_mib", 81920},
                                                           {"mem_used_mib", 40960},
                                                           {"temp_c", 41},
                                                           {"power_w", 250.0},
                                                           {"power_limit_w", 400.0},
                                                           {"clock_sm_mhz", nullptr},
                                                           {"clock_mem_mhz", nullptr},
                                                           {"pstate", nullptr},
                                                           {"fan_speed_pct", nullptr},
                                                           {"mem_used_pct", 50.0}}}}});
}

TEST_CASE("compat: GPU telemetry without NVML says why", "[server][compat][gpu]") {
  ScopedEnv env(std::map<std::string, std::string>{{"RUNICORN_NVML_LIBRARY", "/nonexistent/libnvidia-ml.so.1"}});
  TestServer srv;
  HttpClient c(srv.port());
  CheckSame(Body(c.Get("/api/gpu/telemetry")),
            bj::object{{"available", false},
                       {"reason",
                        "cannot load NVML (/nonexistent/libnvidia-ml.so.1): /nonexistent/libnvidia-ml.so.1: cannot "
                        "open shared object file: No such file or directory"}});
}

TEST_CASE("compat: status check re-checks the running runs", "[server][compat][status_check]") {
  TestServer srv;
  HttpClient c(srv.port());
  CheckSame(Body(c.Post("/api/status/check", "")),
            bj::object{{"checked", 0}, {"updated", 0}, {"message", "Checked 0 running experiments, updated 0 statuses"}});
  MakeRun(srv.store(), "p", "done", 3);
  auto live = srv.store().CreateRun({});
  REQUIRE(live.ok());
  REQUIRE((*live)->Log(1, "loss", 1.0).ok());
  srv.Sync();
  // The live run's writer holds its lock, so it stays running.
  CheckSame(Body(c.Post("/api/status/check", "")),
            bj::object{{"checked", 1}, {"updated", 0}, {"message", "Checked 1 running experiments, updated 0 statuses"}});
  REQUIRE((*live)->Finish().ok());
}

TEST_CASE("compat: column widths are saved in the user config dir", "[server][compat][preferences]") {
  TestServer srv;
  HttpClient c(srv.port());
  const std::string q = "/api/config/column-widths?table=experiments&size=1600x1000";
  CheckSame(Body(c.Get(q)), bj::object{{"table", "experiments"}, {"size", "1600x1000"}, {"widths", bj::object{}}});

  CheckSame(Body(c.Post("/api/config/column-widths",
                        R"({"table": "experiments", "size": "1600x1000", "widths": {"name": 200, "status": 80},
                            "window_width": 1600, "window_height": 1000})")),
            bj::object{{"ok", true}, {"message", "Column widths saved"}});
  REQUIRE(Body(c.Post("/api/config/column-widths",
                      R"({"table": "experiments", "size": "800x600", "widths": {"name": 120}})"))
              .at("ok") == bj::value(true));
  CheckSame(Body(c.Get(q)), bj::object{{"table", "experiments"},
                                       {"size", "1600x1000"},
                                       {"widths", bj::object{{"name", 200}, {"status", 80}}}});
  // Runicorn's file, next to config.json.
  std::ifstream file(srv.dir() / "config" / "ui_preferences.json");
  REQUIRE(file);
  std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  auto saved = bj::parse(text).as_object();
  CHECK(saved.at("column_widths").as_object().at("experiments@1600x1000").at("window_width") == bj::value(1600));

  // Bad input: 422 for query parameters, 400 for bodies; nothing is changed.
  CheckSame(Body(c.Get("/api/config/column-widths?size=1"), 422), bj::object{{"detail", "Missing query parameter 'table'"}});
  CheckSame(Body(c.Get("/api/config/column-widths?table=t"), 422), bj::object{{"detail", "Missing query parameter 'size'"}});
  CheckSame(Body(c.Post("/api/config/column-widths", "{not json"), 400), bj::object{{"detail", "Invalid JSON body"}});
  CheckSame(Body(c.Post("/api/config/column-widths", R"({"size": "1", "widths": {}})"), 400),
            bj::object{{"detail", "table is required and must be a non-empty string"}});
  CheckSame(Body(c.Post("/api/config/column-widths", R"({"table": "t", "size": "1", "widths": [1]})"), 400),
            bj::object{{"detail", "widths is required and must be an object of column: integer"}});
  CheckSame(Body(c.Post("/api/config/column-widths", R"({"table": "t", "size": "1", "widths": {"a": "wide"}})"), 400),
            bj::object{{"detail", "width of column 'a' must be an integer"}});
  CheckSame(Body(c.Post("/api/config/column-widths", R"({"table": "t", "size": "1", "widths": {"a": -1}})"), 400),
            bj::object{{"detail", "width of column 'a' must be an integer in [0, 100000]"}});
  CheckSame(Body(c.Post("/api/config/column-widths",
                        R"({"table": ")" + std::string(201, 'x') + R"(", "size": "1", "widths": {}})"),
                 400),
            bj::object{{"detail", "table is longer than 200 bytes"}});
  CheckSame(Body(c.Post("/api/config/column-widths", R"({"table": "t", "size": "1", "widths": {}, "window_width": 1.5})"),
                 400),
            bj::object{{"detail", "window_width must be an integer"}});

  // Reset one size, then (DELETE without size) every size of the table.
  CheckSame(Body(c.Post("/api/config/column-widths/reset?table=experiments&size=1600x1000", "")),
            bj::object{{"ok", true}, {"message", "Column widths reset (1 removed)"}});
  CHECK(Body(c.Get(q)).at("widths") == bj::value(bj::object{}));
  REQUIRE(Body(c.Post("/api/config/column-widths",
                      R"({"table": "experiments", "size": "1600x1000", "widths": {"name": 1}})"))
              .at("ok") == bj::value(true));
  CheckSame(Body(c.Request(http::verb::delete_, "/api/config/column-widths?table=experiments")),
            bj::object{{"ok", true}, {"message", "Column widths reset (2 removed)"}});
  CHECK(Body(c.Get("/api/config/column-widths?table=experiments&size=800x600")).at("widths") ==
        bj::value(bj::object{}));
  CHECK(c.Request(http::verb::delete_, "/api/config/column-widths").status == 422);
}

TEST_CASE("compat: dismissed alerts", "[server][compat][preferences]") {
  TestServer srv;
  HttpClient c(srv.port());
  const std::string base = "/api/config/dismissed-alerts";
  CheckSame(Body(c.Get(base)), bj::object{{"dismissed_alerts", bj::array{}}});
  CheckSame(Body(c.Post(base + "/dismiss", R"({"alert_id": "disk-full"})")),
            bj::object{{"ok", true}, {"message", "Alert disk-full dismissed"}});
  REQUIRE(c.Post(base + "/dismiss", R"({"alert_id": "disk-full"})").status == 200);  // no duplicate
  REQUIRE(c.Post(base + "/dismiss", R"({"alert_id": "gpu-hot"})").status == 200);
  CheckSame(Body(c.Get(base)), bj::object{{"dismissed_alerts", bj::array{"disk-full", "gpu-hot"}}});
  CheckSame(Body(c.Post(base + "/undismiss", R"({"alert_id": "disk-full"})")),
            bj::object{{"ok", true}, {"message", "Alert disk-full restored"}});
  CheckSame(Body(c.Get(base)), bj::object{{"dismissed_alerts", bj::array{"gpu-hot"}}});
  CheckSame(Body(c.Post(base + "/clear", "")), bj::object{{"ok", true}, {"message", "Dismissed alerts cleared"}});
  CheckSame(Body(c.Get(base)), bj::object{{"dismissed_alerts", bj::array{}}});

  CheckSame(Body(c.Post(base + "/dismiss", R"({"alert": "x"})"), 400),
            bj::object{{"detail", "alert_id is required and must be a non-empty string"}});
  CheckSame(Body(c.Post(base + "/dismiss", R"({"alert_id": 7})"), 400),
            bj::object{{"detail", "alert_id is required and must be a non-empty string"}});
  CheckSame(Body(c.Post(base + "/undismiss", "[]"), 400), bj::object{{"detail", "JSON body must be an object"}});
  CheckSame(Body(c.Get(base)), bj::object{{"dismissed_alerts", bj::array{}}});
}

TEST_CASE("compat: analytics overview counts the store", "[server][compat][analytics]") {
  TestServer srv;
  const std::string a = MakeRun(srv.store(), "p", "a", 20);
  MakeRun(srv.store(), "p", "b", 20, {}, 1.0, runtrack::RunStatus::kFailed);
  const std::string c_id = MakeRun(srv.store(), "p", "c", 10);
  srv.Sync();
  HttpClient c(srv.port());
  REQUIRE(c.Post("/api/runs/soft-delete", R"({"run_ids": [")" + c_id + R"("]})").status == 200);

  auto body = Body(c.Get("/api/v2/analytics/overview")).as_object();
  TakeNumber(body, "generated_at");
  auto& overview = body.at("overview").as_object();
  double duration = -1, storage_mb = -1;
  TakeNumber(overview, "avg_experiment_duration", &duration);
  TakeNumber(overview, "storage_size_mb", &storage_mb);
  CHECK(duration >= 0);
  CHECK(storage_mb > 0);
  TakeNumber(overview.at("query_performance").as_object(), "avg_query_time_ms");
  auto& info = body.at("storage_info").as_object();
  TakeNumber(info.at("performance").as_object(), "avg_query_time_ms");
  auto& stats = info.at("statistics").as_object();
  for (const char* f : {"storage_size_bytes", "avg_query_time_ms", "db_size_mb", "updated_at"}) TakeNumber(stats, f);
  // 20 steps: loss + accuracy each step, val_loss every 10th (MakeRun).
  const int64_t points = 2 * (40 + 2) + (20 + 1);
  CheckSame(body, bj::object{{"overview", bj::object{{"total_experiments", 3},
                                                     {"active_experiments", 2},
                                                     {"running_experiments", 0},
                                                     {"success_rate", 66.7},
                                                     {"avg_experiment_duration", "<number>"},
                                                     {"storage_size_mb", "<number>"},
                                                     {"query_performance", bj::object{{"avg_query_time_ms", "<number>"},
                                                                                      {"cache_hit_rate", 0.0}}}}},
                             {"storage_info", bj::object{{"storage_type", "embedded"},
                                                         {"backend_type", "RocksDB"},
                                                         {"statistics", bj::object{{"total_experiments", 3},
                                                                                   {"active_experiments", 2},
                                                                                   {"deleted_experiments", 1},
                                                                                   {"total_metrics_points", points},
                                                                                   {"storage_size_bytes", "<number>"},
                                                                                   {"avg_query_time_ms", "<number>"},
                                                                                   {"cache_hit_rate", 0.0},
                                                                                   {"db_size_mb", "<number>"},
                                                                                   {"db_fragmentation_pct", 0.0},
                                                                                   {"updated_at", "<number>"}}},
                                                         {"performance", bj::object{{"avg_query_time_ms", "<number>"},
                                                                                    {"cache_hit_rate", 0.0}}}}},
                             {"generated_at", "<number>"}});
  (void)a;
}

TEST_CASE("compat: cache statistics in /api/health and /api/metrics/cache/stats", "[server][compat][cache]") {
  TestServer srv;
  const std::string id = MakeRun(srv.store(), "p", "a", 20);
  srv.Sync();
  HttpClient c(srv.port());
  CheckSame(Body(c.Get("/api/metrics/cache/stats")),
            bj::object{{"size", 0}, {"max_size", nullptr}, {"hits", 0}, {"misses", 0},
                       {"incremental_updates", 0}, {"hit_rate", 0.0}, {"incremental_rate", 0.0}});
  CheckSame(Body(c.Get("/api/health")).at("cache"),
            bj::object{{"enabled", true}, {"type", "lod_pyramid"}, {"hit_rate", "0.0%"},
                       {"hits", 0}, {"misses", 0}, {"size", 0}});
  // A chart query of three metrics: three pyramids built (3 misses), then served (3 hits)...
  REQUIRE(c.Get("/api/runs/" + id + "/metrics_step?downsample=500").status == 200);
  // ... and served again from memory (3 more hits).
  REQUIRE(c.Get("/api/runs/" + id + "/metrics_step?downsample=500").status == 200);
  CheckSame(Body(c.Get("/api/metrics/cache/stats")),
            bj::object{{"size", 3}, {"max_size", nullptr}, {"hits", 6}, {"misses", 3},
                       {"incremental_updates", 0}, {"hit_rate", 6.0 / 9.0}, {"incremental_rate", 0.0}});
  CheckSame(Body(c.Get("/api/health")).at("cache"),
            bj::object{{"enabled", true}, {"type", "lod_pyramid"}, {"hit_rate", "66.7%"},
                       {"hits", 6}, {"misses", 3}, {"size", 3}});
}
