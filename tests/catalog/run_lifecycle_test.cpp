#include <sys/stat.h>

#include <boost/json/serialize.hpp>

#include <cmath>
#include <fstream>
#include <limits>

#include "catalog/catalog_support.h"

using namespace runtrack;
using namespace runtrack::testing;
namespace fs = std::filesystem;

TEST_CASE("a finished run is indexed with its metrics, summary, config and logs") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  RunOptions options;
  options.project = "vision";
  options.name = "resnet";
  options.config = {{"lr", 0.1}, {"layers", 50}};
  options.tags = {"baseline", "gpu"};
  auto run = NewRun(*store, options);
  REQUIRE(run->Log({{"loss", 1.0}, {"acc", 0.5}}).ok());           // auto step 1
  REQUIRE(run->Log({{"loss", 0.5}, {"acc", 0.75}}).ok());          // auto step 2
  REQUIRE(run->Log({{"loss", 0.25}}, /*step=*/10, "eval").ok());   // explicit step
  REQUIRE(run->Log({{"loss", 0.125}}).ok());                       // continues at 11
  REQUIRE(run->Summary({{"best", "yes"}, {"epochs", 3}}).ok());
  REQUIRE(run->Summary({{"epochs", 4}}).ok());
  REQUIRE(run->SetPrimaryMetric("acc", MetricMode::kMax).ok());
  REQUIRE(run->LogText("epoch 1 done").ok());
  REQUIRE(run->LogText("epoch 2 done\n").ok());
  REQUIRE(run->Finish().ok());

  auto catalog = OpenCatalog(dir.path());
  IndexReport report = Index(*catalog);
  CHECK(report.runs_discovered == 1);
  CHECK(report.points_ingested == 6);

  auto detail = catalog->GetRun(run->id());
  REQUIRE(detail.ok());
  CHECK(detail->run.project == "vision");
  CHECK(detail->run.name == "resnet");
  CHECK(detail->run.status == RunStatus::kFinished);
  CHECK(detail->run.tags == std::vector<std::string>{"baseline", "gpu"});
  CHECK(detail->run.best_metric_name == "acc");
  CHECK(detail->run.best_metric_value == 0.75);
  CHECK(detail->run.best_metric_step == 2);
  CHECK(detail->run.ended_at.has_value());
  CHECK(boost::json::serialize(detail->config) == R"({"lr":1E-1,"layers":50})");
  CHECK(boost::json::serialize(detail->summary) == R"({"best":"yes","epochs":4})");
  REQUIRE(detail->metrics.size() == 2);
  CHECK(detail->metrics[0].name == "acc");
  CHECK(detail->metrics[0].count == 2);
  CHECK(detail->metrics[1].name == "loss");
  CHECK(detail->metrics[1].count == 4);
  CHECK(detail->metrics[1].last_step == 11);
  CHECK(detail->min_step == 1);
  CHECK(detail->max_step == 11);

  auto loss = catalog->ReadMetric(run->id(), "loss");
  REQUIRE(loss.ok());
  REQUIRE(loss->points.size() == 4);
  std::vector<int64_t> steps;
  for (const auto& p : loss->points) steps.push_back(p.step);
  CHECK(steps == std::vector<int64_t>{1, 2, 10, 11});
  CHECK(loss->points[2].value == 0.25);
  CHECK(loss->stages[loss->points[2].stage] == "eval");
  CHECK(loss->stages[loss->points[0].stage] == "");
  CHECK(detail->stages[loss->points[2].stage] == "eval");
  CHECK(loss->points[0].wall_time > 1.6e9);

  auto range = catalog->ReadMetric(run->id(), "loss", 2, 10);
  REQUIRE(range.ok());
  REQUIRE(range->points.size() == 2);
  CHECK(range->points[0].step == 2);
  CHECK(range->points[1].step == 10);

  auto log = catalog->ReadLog(run->id());
  REQUIRE(log.ok());
  CHECK(*log == "epoch 1 done\nepoch 2 done\n");
  CHECK(*catalog->ReadLog(run->id(), 13) == "epoch 2 done\n");
}

TEST_CASE("NaN and infinities are stored as given and never become the best value") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  auto run = NewRun(*store);
  const double inf = std::numeric_limits<double>::infinity();
  REQUIRE(run->Log(1, "x", std::nan("")).ok());
  REQUIRE(run->Log(2, "x", inf).ok());
  REQUIRE(run->Log(3, "x", -inf).ok());
  REQUIRE(run->Log(4, "x", 2.5).ok());
  REQUIRE(run->SetPrimaryMetric("x", MetricMode::kMax).ok());
  REQUIRE(run->Finish().ok());
  auto catalog = OpenCatalog(dir.path());
  Index(*catalog);
  auto x = catalog->ReadMetric(run->id(), "x");
  REQUIRE(x->points.size() == 4);
  CHECK(std::isnan(x->points[0].value));
  CHECK(x->points[1].value == inf);
  CHECK(x->points[2].value == -inf);
  CHECK(x->points[3].value == 2.5);
  auto detail = catalog->GetRun(run->id());
  CHECK(detail->run.best_metric_value == 2.5);
  CHECK(detail->metrics[0].non_finite_count == 3);
  CHECK(detail->metrics[0].max == 2.5);
}

TEST_CASE("the same step logged twice reads back as the later value") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  auto run = NewRun(*store);
  REQUIRE(run->Log(1, "loss", 1.0).ok());
  REQUIRE(run->Log(2, "loss", 2.0).ok());
  REQUIRE(run->Log(2, "loss", 3.0).ok());
  REQUIRE(run->Log(1, "loss", 4.0).ok());  // steps may go backwards too
  REQUIRE(run->Finish().ok());
  auto catalog = OpenCatalog(dir.path());
  Index(*catalog);
  auto loss = catalog->ReadMetric(run->id(), "loss");
  REQUIRE(loss->points.size() == 2);
  CHECK(loss->points[0].step == 1);
  CHECK(loss->points[0].value == 4.0);
  CHECK(loss->points[1].step == 2);
  CHECK(loss->points[1].value == 3.0);
  CHECK(catalog->GetRun(run->id())->metrics[0].count == 4);
}

TEST_CASE("bad metric names, statuses and ids are rejected and store nothing partial") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  auto run = NewRun(*store);
  std::string too_long(257, 'a');
  std::string invalid_utf8 = "lo\xC3\x28ss";
  CHECK(run->Log(1, "", 1.0).code() == StatusCode::kInvalidArgument);
  CHECK(run->Log(1, too_long, 1.0).message() == "metric name is 257 bytes long; the limit is 256");
  CHECK(run->Log(1, std::string(256, 'b'), 1.0).ok());  // exactly at the limit is fine
  CHECK(run->Log(1, invalid_utf8, 1.0).message() == "metric name is not valid UTF-8");
  // One bad name rejects the whole call: "good" must not be stored either.
  Status mixed = run->Log({{"good", 1.0}, {"", 2.0}});
  CHECK(mixed.code() == StatusCode::kInvalidArgument);
  CHECK(run->Finish("done").message() ==
        "unknown run status 'done': expected one of running, finished, failed, interrupted");
  CHECK(run->Finish(RunStatus::kRunning).code() == StatusCode::kInvalidArgument);
  REQUIRE(run->Finish("failed").ok());
  CHECK(run->Log(2, "x", 1.0).code() == StatusCode::kFailedPrecondition);
  CHECK(run->Finish().code() == StatusCode::kFailedPrecondition);

  auto catalog = OpenCatalog(dir.path());
  Index(*catalog);
  auto detail = catalog->GetRun(run->id());
  REQUIRE(detail->metrics.size() == 1);
  CHECK(detail->metrics[0].name == std::string(256, 'b'));
  CHECK(detail->run.status == RunStatus::kFailed);
  CHECK(detail->run.exit_reason.empty());
}

TEST_CASE("caller-given run ids must match Runicorn's format and stay inside the store") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  for (std::string bad : {"../../etc", "20250101_120000_ABCDEF", "20250101_120000_abcde",
                          "2025010_1120000_abcdef", "20250101-120000-abcdef", "x"}) {
    RunOptions options;
    options.run_id = bad;
    auto run = store->CreateRun(options);
    REQUIRE_FALSE(run.ok());
    CHECK(run.status().code() == StatusCode::kInvalidArgument);
  }
  RunOptions options;
  options.run_id = "20250101_120000_abcdef";
  auto run = NewRun(*store, options);
  CHECK(run->id() == "20250101_120000_abcdef");
  CHECK(run->dir() == dir.path() / "runs" / "20250101_120000_abcdef");
  auto again = store->CreateRun(options);
  CHECK(again.status().code() == StatusCode::kAlreadyExists);
  // Generated ids follow the same format.
  auto fresh = NewRun(*store);
  CHECK(fresh->id().size() == 22);
  CHECK(fresh->id()[8] == '_');
  RunOptions bad_project;
  bad_project.project = "";
  CHECK(store->CreateRun(bad_project).status().message() == "project must not be empty");
}

TEST_CASE("a run destroyed without Finish is recorded as interrupted with all its points") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  std::string id;
  {
    auto run = NewRun(*store);
    id = run->id();
    for (int i = 0; i < 5000; ++i) REQUIRE(run->Log(i, "loss", i * 0.5).ok());
  }
  auto catalog = OpenCatalog(dir.path());
  IndexReport report = Index(*catalog);
  CHECK(report.runs_marked_crashed == 0);
  auto detail = catalog->GetRun(id);
  CHECK(detail->run.status == RunStatus::kInterrupted);
  CHECK(detail->run.exit_reason == "not_finished");
  CHECK(detail->metrics[0].count == 5000);
}

TEST_CASE("a live run is never marked failed") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  auto run = NewRun(*store);
  REQUIRE(run->Log(1, "loss", 1.0).ok());
  REQUIRE(run->Flush().ok());
  auto catalog = OpenCatalog(dir.path());
  IndexReport report = Index(*catalog);
  CHECK(report.runs_marked_crashed == 0);
  CHECK(catalog->GetRun(run->id())->run.status == RunStatus::kRunning);
  CHECK(catalog->GetRun(run->id())->metrics[0].count == 1);
  // New points show up on the next pass.
  REQUIRE(run->Log(2, "loss", 0.5).ok());
  REQUIRE(run->Flush().ok());
  Index(*catalog);
  CHECK(catalog->GetRun(run->id())->metrics[0].count == 2);
  REQUIRE(run->Finish().ok());
  Index(*catalog);
  CHECK(catalog->GetRun(run->id())->run.status == RunStatus::kFinished);
}

TEST_CASE("an unwritable or missing store root is a clear error") {
  TempDir dir;
  fs::path locked = dir.path() / "locked";
  fs::create_directories(locked);
  ::chmod(locked.c_str(), 0500);
  if (::geteuid() != 0) {  // root ignores permission bits
    auto store = Store::Open(locked / "store");
    CHECK(store.status().code() == StatusCode::kIOError);
  }
  ::chmod(locked.c_str(), 0700);
  fs::path file = dir.path() / "file";
  std::ofstream(file) << "x";
  auto store = Store::Open(file / "store");
  CHECK(store.status().code() == StatusCode::kIOError);
  StoreOptions no_create;
  no_create.create_if_missing = false;
  CHECK(Store::Open(dir.path() / "absent", no_create).status().code() == StatusCode::kNotFound);
  CHECK(Catalog::Open(dir.path() / "absent").status().code() == StatusCode::kNotFound);
}

TEST_CASE("the default root comes from RUNICORN_DIR") {
  TempDir dir;
  ::setenv("RUNICORN_DIR", dir.path().c_str(), 1);
  CHECK(DefaultStoreRoot() == dir.path());
  ::setenv("RUNICORN_DIR", "", 1);
  CHECK(DefaultStoreRoot() == fs::path(".runicorn"));
  ::unsetenv("RUNICORN_DIR");
  CHECK(DefaultStoreRoot() == fs::path(".runicorn"));
}

TEST_CASE("NaN and infinities inside config and summary become null, never a lost record") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  RunOptions options;
  options.project = "p";
  options.config = {{"lr", std::nan("")}, {"nested", {{"x", std::numeric_limits<double>::infinity()}}}, {"ok", 1}};
  auto run = NewRun(*store, options);
  REQUIRE(run->Summary({{"best", std::nan("")}, {"epochs", 3}}).ok());
  REQUIRE(run->Finish().ok());
  auto catalog = OpenCatalog(dir.path());
  Index(*catalog);
  auto detail = catalog->GetRun(run->id());
  CHECK(detail->run.project == "p");
  CHECK(boost::json::serialize(detail->config) == R"({"lr":null,"nested":{"x":null},"ok":1})");
  CHECK(boost::json::serialize(detail->summary) == R"({"best":null,"epochs":3})");
}
