#include <fstream>

#include "catalog/catalog_support.h"

using namespace runtrack;
using namespace runtrack::testing;
namespace fs = std::filesystem;

namespace {

struct Fixture {
  TempDir dir;
  std::unique_ptr<Store> store = OpenStore(dir.path());
  std::vector<std::string> ids;  // in creation order

  // Six runs: projects a/b, names, tags, statuses and best values that the filters below pick
  // apart. Each run gets a distinct creation time because runs are created in sequence.
  Fixture() {
    struct Spec { const char* project; const char* name; std::vector<std::string> tags; double best; const char* status; };
    std::vector<Spec> specs = {
        {"a", "mlp", {"baseline"}, 0.50, "finished"},
        {"a", "mlp", {"baseline", "gpu"}, 0.70, "failed"},
        {"a", "cnn", {"gpu"}, 0.90, "finished"},
        {"b", "cnn", {}, 0.20, "interrupted"},
        {"b", "Transformer", {"gpu", "big"}, 0.95, "finished"},
        {"b", "rnn", {}, -1, "finished"},  // no primary metric: never has a best value
    };
    for (const Spec& s : specs) {
      RunOptions o;
      o.project = s.project;
      o.name = s.name;
      o.tags = s.tags;
      auto run = NewRun(*store, o);
      if (s.best >= 0) {
        REQUIRE(run->Log(1, "acc", s.best / 2).ok());
        REQUIRE(run->Log(2, "acc", s.best).ok());
        REQUIRE(run->SetPrimaryMetric("acc", MetricMode::kMax).ok());
      }
      REQUIRE(run->Finish(s.status).ok());
      ids.push_back(run->id());
    }
  }

  std::vector<std::string> List(Catalog& catalog, const RunQuery& q, uint64_t* total = nullptr) {
    auto page = catalog.ListRuns(q);
    INFO(page.status().ToString());
    REQUIRE(page.ok());
    if (total) *total = page->total;
    std::vector<std::string> out;
    for (const auto& r : page->runs) out.push_back(r.id);
    return out;
  }
  std::vector<std::string> Pick(std::initializer_list<int> order) {
    std::vector<std::string> out;
    for (int i : order) out.push_back(ids[i]);
    return out;
  }
};

}  // namespace

TEST_CASE("listing filters by project, name, status, tags, search and best metric") {
  Fixture f;
  auto catalog = OpenCatalog(f.dir.path());
  Index(*catalog);
  RunQuery q;
  q.sort_by = "created_at";
  q.descending = false;
  CHECK(f.List(*catalog, q) == f.Pick({0, 1, 2, 3, 4, 5}));

  RunQuery project = q;
  project.project = "a";
  CHECK(f.List(*catalog, project) == f.Pick({0, 1, 2}));

  RunQuery name = q;
  name.name = "cnn";
  CHECK(f.List(*catalog, name) == f.Pick({2, 3}));

  RunQuery status = q;
  status.statuses = {RunStatus::kFailed, RunStatus::kInterrupted};
  CHECK(f.List(*catalog, status) == f.Pick({1, 3}));

  RunQuery tags = q;
  tags.tags = {"gpu", "baseline"};  // all of them
  CHECK(f.List(*catalog, tags) == f.Pick({1}));

  RunQuery search = q;
  search.search = "transFORMER";
  CHECK(f.List(*catalog, search) == f.Pick({4}));
  search.search = "bi";  // matches the tag "big"
  CHECK(f.List(*catalog, search) == f.Pick({4}));
  search.search = f.ids[3].substr(16);  // part of a run id
  CHECK(f.List(*catalog, search) == f.Pick({3}));

  RunQuery best = q;
  best.best_metric_min = 0.5;
  best.best_metric_max = 0.9;
  uint64_t total = 0;
  CHECK(f.List(*catalog, best, &total) == f.Pick({0, 1, 2}));
  CHECK(total == 3);

  RunQuery created = q;
  auto first = catalog->GetRun(f.ids[1]);
  created.created_after = first->run.created_at;
  CHECK(f.List(*catalog, created) == f.Pick({1, 2, 3, 4, 5}));
  created.created_before = first->run.created_at;
  CHECK(f.List(*catalog, created) == f.Pick({1}));
}

TEST_CASE("listing sorts by the allowed fields and pages with a total") {
  Fixture f;
  auto catalog = OpenCatalog(f.dir.path());
  Index(*catalog);
  RunQuery q;
  q.sort_by = "best_metric_value";
  q.descending = true;
  CHECK(f.List(*catalog, q) == f.Pick({4, 2, 1, 0, 3, 5}));  // no best value sorts last
  q.descending = false;
  CHECK(f.List(*catalog, q) == f.Pick({3, 0, 1, 2, 4, 5}));

  q.sort_by = "created_at";
  q.descending = true;
  q.offset = 1;
  q.limit = 2;
  uint64_t total = 0;
  CHECK(f.List(*catalog, q, &total) == f.Pick({4, 3}));
  CHECK(total == 6);
  q.offset = 5;
  CHECK(f.List(*catalog, q) == f.Pick({0}));
  q.offset = 50;
  CHECK(f.List(*catalog, q, &total).empty());
  CHECK(total == 6);

  RunQuery status;
  status.sort_by = "status";
  status.descending = false;
  auto by_status = f.List(*catalog, status);
  CHECK(by_status.front() == f.ids[1]);  // "failed" sorts first
  CHECK(by_status[5] == f.ids[3]);       // "interrupted" after every "finished"

  RunQuery bad;
  bad.sort_by = "name; DROP TABLE runs";
  auto err = catalog->ListRuns(bad);
  CHECK(err.status().code() == StatusCode::kInvalidArgument);
  CHECK(err.status().message() ==
        "cannot sort by 'name; DROP TABLE runs': expected one of created_at, updated_at, best_metric_value, status");
  RunQuery inverted;
  inverted.best_metric_min = 2;
  inverted.best_metric_max = 1;
  CHECK(catalog->ListRuns(inverted).status().code() == StatusCode::kInvalidArgument);
}

TEST_CASE("soft delete hides a run, restore brings it back, both survive a catalog rebuild") {
  Fixture f;
  {
    auto catalog = OpenCatalog(f.dir.path());
    Index(*catalog);
    REQUIRE(catalog->SoftDelete(f.ids[2]).ok());
    REQUIRE(catalog->SoftDelete(f.ids[3]).ok());
    RunQuery q;
    q.descending = false;
    CHECK(f.List(*catalog, q) == f.Pick({0, 1, 4, 5}));
    RunQuery bin;
    bin.deleted_only = true;
    bin.descending = false;
    CHECK(f.List(*catalog, bin) == f.Pick({2, 3}));
    RunQuery all;
    all.include_deleted = true;
    CHECK(f.List(*catalog, all).size() == 6);
    REQUIRE(catalog->Restore(f.ids[3]).ok());
    CHECK(catalog->Restore(f.ids[3]).code() == StatusCode::kFailedPrecondition);
    CHECK(catalog->GetRun(f.ids[2])->run.deleted_at.has_value());
  }
  fs::remove_all(f.dir.path() / "catalog");  // the catalog is derived data
  auto catalog = OpenCatalog(f.dir.path());
  Index(*catalog);
  RunQuery bin;
  bin.deleted_only = true;
  CHECK(f.List(*catalog, bin) == f.Pick({2}));
}

TEST_CASE("permanent delete removes the folder and every catalog entry") {
  Fixture f;
  auto catalog = OpenCatalog(f.dir.path());
  Index(*catalog);
  fs::create_directories(f.store->run_dir(f.ids[0]) / "media");
  std::ofstream(f.store->run_dir(f.ids[0]) / "media" / "img.png") << "png";
  REQUIRE(catalog->PermanentDelete(f.ids[0]).ok());
  CHECK_FALSE(fs::exists(f.store->run_dir(f.ids[0])));
  CHECK(catalog->GetRun(f.ids[0]).status().code() == StatusCode::kNotFound);
  CHECK(catalog->ReadMetric(f.ids[0], "acc").status().code() == StatusCode::kNotFound);
  CHECK(catalog->PermanentDelete(f.ids[0]).code() == StatusCode::kNotFound);
  CHECK(catalog->PermanentDelete("../../etc").code() == StatusCode::kInvalidArgument);
  Index(*catalog);  // does not come back
  CHECK(catalog->GetRun(f.ids[0]).status().code() == StatusCode::kNotFound);

  auto live = NewRun(*f.store);
  Index(*catalog);
  CHECK(catalog->PermanentDelete(live->id()).code() == StatusCode::kFailedPrecondition);
  CHECK(fs::exists(live->dir()));

  catalog.reset();
  catalog = OpenCatalog(f.dir.path());  // nothing of the deleted run is left in RocksDB either
  CHECK(catalog->GetRun(f.ids[0]).status().code() == StatusCode::kNotFound);
  CHECK(catalog->GetRun(f.ids[1])->metrics[0].count == 2);
}

TEST_CASE("re-opening and re-indexing is idempotent") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  auto run = NewRun(*store);
  for (int i = 0; i < 3000; ++i) REQUIRE(run->Log(i, "loss", i).ok());
  REQUIRE(run->Flush().ok());
  std::string id = run->id();
  {
    auto catalog = OpenCatalog(dir.path());
    CHECK(Index(*catalog).points_ingested == 3000);
    CHECK(Index(*catalog).points_ingested == 0);
  }
  for (int i = 3000; i < 5000; ++i) REQUIRE(run->Log(i, "loss", i).ok());
  REQUIRE(run->Finish().ok());
  for (int round = 0; round < 2; ++round) {
    auto catalog = OpenCatalog(dir.path());
    CHECK(Index(*catalog).points_ingested == (round == 0 ? 2000u : 0u));
    auto loss = catalog->ReadMetric(id, "loss");
    REQUIRE(loss->points.size() == 5000);
    for (int i = 0; i < 5000; ++i) REQUIRE(loss->points[i].value == i);
  }
  // Rebuilding from scratch gives the same answer.
  fs::remove_all(dir.path() / "catalog");
  auto catalog = OpenCatalog(dir.path());
  CHECK(Index(*catalog).points_ingested == 5000);
  CHECK(catalog->ReadMetric(id, "loss")->points.size() == 5000);
}

TEST_CASE("a second catalog on the same root is refused as busy") {
  TempDir dir;
  OpenStore(dir.path());
  auto first = OpenCatalog(dir.path());
  auto second = Catalog::Open(dir.path());
  REQUIRE_FALSE(second.ok());
  CHECK(second.status().code() == StatusCode::kBusy);
}

TEST_CASE("queries reject malformed run ids and report unknown ones") {
  TempDir dir;
  OpenStore(dir.path());
  auto catalog = OpenCatalog(dir.path());
  CHECK(catalog->GetRun("../../etc/passwd").status().code() == StatusCode::kInvalidArgument);
  CHECK(catalog->GetRun("20250101_120000_abcdef").status().message() == "run 20250101_120000_abcdef not found");
  CHECK(catalog->ReadLog("x").status().code() == StatusCode::kInvalidArgument);
  // Folders that are not run ids are never indexed.
  fs::create_directories(dir.path() / "runs" / "not-a-run");
  IndexReport report = Index(*catalog);
  CHECK(report.runs_discovered == 0);
}

TEST_CASE("a run whose journal cannot be read does not stop the others from being indexed") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  auto good = NewRun(*store);
  REQUIRE(good->Log(1, "x", 1).ok());
  REQUIRE(good->Finish().ok());
  // A run folder whose "journal" is a directory: reading it fails with an I/O error.
  fs::path broken = dir.path() / "runs" / "20250101_000000_badbad";
  fs::create_directories(broken / "journal");
  auto catalog = OpenCatalog(dir.path());
  IndexReport report = Index(*catalog);
  CHECK(report.runs_failed == 1);
  CHECK(report.last_error.find("20250101_000000_badbad") != std::string::npos);
  CHECK(report.runs_discovered == 1);
  CHECK(catalog->GetRun(good->id())->metrics[0].count == 1);
}
