// The PostgreSQL catalog answers every RunQuery exactly as the embedded catalog does: the runs
// of tests/catalog/run_queries_test.cpp are indexed by the embedded catalog, copied into
// PostgreSQL with UpsertRun, and each query's page (every field, in order) and total compared.
#ifdef RUNICORN_HAVE_PG
#include <boost/json/parse.hpp>

#include "catalog/catalog_support.h"
#include "pg/pg_test_support.h"

using namespace runicorn::testing;
using runtrack::RunQuery;
using runtrack::RunStatus;
using runtrack::StatusCode;

namespace {

struct Twins {
  runtrack::testing::TempDir dir;
  std::unique_ptr<runtrack::Store> store = runtrack::testing::OpenStore(dir.path());
  std::unique_ptr<runtrack::Catalog> embedded;
  std::unique_ptr<runicorn::service::pg::PgRunCatalog> pg;
  std::vector<std::string> ids;  // in creation order

  explicit Twins(const std::string& conninfo) {
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
      runtrack::RunOptions o;
      o.project = s.project;
      o.name = s.name;
      o.tags = s.tags;
      o.config = boost::json::parse(R"({"lr": 0.001, "layers": [64, 32], "opt": {"name": "adam"}})").as_object();
      auto run = runtrack::testing::NewRun(*store, o);
      if (s.best >= 0) {
        REQUIRE(run->Log(1, "acc", s.best / 2).ok());
        REQUIRE(run->Log(2, "acc", s.best).ok());
        REQUIRE(run->SetPrimaryMetric("acc", runtrack::MetricMode::kMax).ok());
      }
      REQUIRE(run->Finish(s.status).ok());
      ids.push_back(run->id());
    }
    embedded = runtrack::testing::OpenCatalog(dir.path());
    runtrack::testing::Index(*embedded);
    pg = OpenPgCatalog(conninfo);
    for (const std::string& id : ids) {
      auto detail = embedded->GetRun(id);
      REQUIRE(detail.ok());
      REQUIRE(pg->UpsertRun(detail->run, detail->config, detail->summary).ok());
    }
  }

  std::vector<std::string> Pick(std::initializer_list<int> order) {
    std::vector<std::string> out;
    for (int i : order) out.push_back(ids[i]);
    return out;
  }

  // Both pages, compared in full; returns the ids of the page.
  std::vector<std::string> Same(const RunQuery& q, uint64_t* total = nullptr) {
    auto a = embedded->ListRuns(q);
    auto b = pg->ListRuns(q);
    INFO(a.status().ToString() << " / " << b.status().ToString());
    REQUIRE(a.ok());
    REQUIRE(b.ok());
    CHECK(a->total == b->total);
    std::vector<std::string> ra, rb;
    for (const auto& r : a->runs) ra.push_back(Render(r));
    for (const auto& r : b->runs) rb.push_back(Render(r));
    CHECK(ra == rb);
    if (total) *total = b->total;
    return Ids(*b);
  }
};

}  // namespace

TEST_CASE("pg: filters by project, name, status, tags, search and best metric as embedded", "[pg]") {
  RUNICORN_PG_TEST_SERVER(server);
  Twins f(server.NewDatabase());
  RunQuery q;
  q.sort_by = "created_at";
  q.descending = false;
  CHECK(f.Same(q) == f.Pick({0, 1, 2, 3, 4, 5}));

  RunQuery project = q;
  project.project = "a";
  CHECK(f.Same(project) == f.Pick({0, 1, 2}));

  RunQuery name = q;
  name.name = "cnn";
  CHECK(f.Same(name) == f.Pick({2, 3}));

  RunQuery status = q;
  status.statuses = {RunStatus::kFailed, RunStatus::kInterrupted};
  CHECK(f.Same(status) == f.Pick({1, 3}));

  RunQuery tags = q;
  tags.tags = {"gpu", "baseline"};  // all of them
  CHECK(f.Same(tags) == f.Pick({1}));

  RunQuery search = q;
  search.search = "transFORMER";
  CHECK(f.Same(search) == f.Pick({4}));
  search.search = "bi";  // matches the tag "big"
  CHECK(f.Same(search) == f.Pick({4}));
  search.search = f.ids[3].substr(16);  // part of a run id
  CHECK(f.Same(search) == f.Pick({3}));
  search.search = "a\nmlp";  // project and name are separate lines of the search text
  CHECK(f.Same(search) == f.Pick({0, 1}));

  RunQuery best = q;
  best.best_metric_min = 0.5;
  best.best_metric_max = 0.9;
  uint64_t total = 0;
  CHECK(f.Same(best, &total) == f.Pick({0, 1, 2}));
  CHECK(total == 3);

  RunQuery created = q;
  auto first = f.embedded->GetRun(f.ids[1]);
  created.created_after = first->run.created_at;
  CHECK(f.Same(created) == f.Pick({1, 2, 3, 4, 5}));
  created.created_before = first->run.created_at;
  CHECK(f.Same(created) == f.Pick({1}));

  RunQuery combined = q;  // every filter at once, ANDed
  combined.project = "a";
  combined.statuses = {RunStatus::kFinished, RunStatus::kFailed};
  combined.tags = {"gpu"};
  combined.search = "C";
  combined.best_metric_min = 0.8;
  CHECK(f.Same(combined) == f.Pick({2}));
}

TEST_CASE("pg: sorts by the allowed fields and pages with a total as embedded", "[pg]") {
  RUNICORN_PG_TEST_SERVER(server);
  Twins f(server.NewDatabase());
  RunQuery q;
  q.sort_by = "best_metric_value";
  q.descending = true;
  CHECK(f.Same(q) == f.Pick({4, 2, 1, 0, 3, 5}));  // no best value sorts last
  q.descending = false;
  CHECK(f.Same(q) == f.Pick({3, 0, 1, 2, 4, 5}));

  q.sort_by = "created_at";
  q.descending = true;
  q.offset = 1;
  q.limit = 2;
  uint64_t total = 0;
  CHECK(f.Same(q, &total) == f.Pick({4, 3}));
  CHECK(total == 6);
  q.offset = 5;
  CHECK(f.Same(q) == f.Pick({0}));
  q.offset = 50;
  CHECK(f.Same(q, &total).empty());
  CHECK(total == 6);  // the total survives an empty page

  RunQuery status;
  status.sort_by = "status";
  status.descending = false;
  auto by_status = f.Same(status);
  REQUIRE(by_status.size() == 6);
  CHECK(by_status.front() == f.ids[1]);  // "failed" sorts first
  CHECK(by_status[5] == f.ids[3]);       // "interrupted" after every "finished"
  status.descending = true;
  auto by_status_desc = f.Same(status);
  REQUIRE(by_status_desc.size() == 6);
  CHECK(by_status_desc.front() == f.ids[3]);  // "interrupted" first
  CHECK(by_status_desc[5] == f.ids[1]);       // "failed" last; the "finished" ties between by id

  RunQuery updated;
  updated.sort_by = "updated_at";
  CHECK(f.Same(updated).size() == 6);
}

TEST_CASE("pg: bad sort fields and inverted ranges are refused with the embedded messages", "[pg]") {
  RUNICORN_PG_TEST_SERVER(server);
  auto pg = OpenPgCatalog(server.NewDatabase());
  RunQuery bad;
  bad.sort_by = "name; DROP TABLE runs";
  auto err = pg->ListRuns(bad);
  CHECK(err.status().code() == StatusCode::kInvalidArgument);
  CHECK(err.status().message() ==
        "cannot sort by 'name; DROP TABLE runs': expected one of created_at, updated_at, best_metric_value, status");
  RunQuery inverted;
  inverted.best_metric_min = 2;
  inverted.best_metric_max = 1;
  CHECK(pg->ListRuns(inverted).status().message() == "best_metric_min is greater than best_metric_max");
  RunQuery dates;
  dates.created_after = 2;
  dates.created_before = 1;
  CHECK(pg->ListRuns(dates).status().message() == "created_after is later than created_before");
}

TEST_CASE("pg: soft delete, the recycle bin and restore list as embedded", "[pg]") {
  RUNICORN_PG_TEST_SERVER(server);
  Twins f(server.NewDatabase());
  for (int i : {2, 3}) {
    REQUIRE(f.embedded->SoftDelete(f.ids[i]).ok());
    REQUIRE(f.pg->SoftDelete(f.ids[i]).ok());
    // Same deletion time in both, so the rendered rows compare equal.
    auto detail = f.embedded->GetRun(f.ids[i]);
    REQUIRE(f.pg->UpsertRun(detail->run, detail->config, detail->summary).ok());
  }
  RunQuery q;
  q.descending = false;
  CHECK(f.Same(q) == f.Pick({0, 1, 4, 5}));
  RunQuery bin;
  bin.deleted_only = true;
  bin.descending = false;
  CHECK(f.Same(bin) == f.Pick({2, 3}));
  RunQuery all;
  all.include_deleted = true;
  CHECK(f.Same(all).size() == 6);
  REQUIRE(f.pg->Restore(f.ids[3]).ok());
  auto again = f.pg->Restore(f.ids[3]);
  CHECK(again.code() == StatusCode::kFailedPrecondition);
  CHECK(again.message() == fmt::format("run {} is not in the recycle bin", f.ids[3]));
  CHECK(f.pg->GetRun(f.ids[2])->run.deleted_at.has_value());
  CHECK_FALSE(f.pg->GetRun(f.ids[3])->run.deleted_at.has_value());
}

TEST_CASE("pg: a run's detail keeps its config and summary", "[pg]") {
  RUNICORN_PG_TEST_SERVER(server);
  Twins f(server.NewDatabase());
  auto a = f.embedded->GetRun(f.ids[4]);
  auto b = f.pg->GetRun(f.ids[4]);
  REQUIRE(b.ok());
  CHECK(Render(a->run) == Render(b->run));
  CHECK(b->config == a->config);  // JSONB may reorder keys; the values are the same
  CHECK(b->config.at("opt").at("name").as_string() == "adam");
  CHECK(b->summary == a->summary);
  CHECK(b->run.tags == std::vector<std::string>{"gpu", "big"});
}
#else
#include <catch2/catch.hpp>
TEST_CASE("pg: the PostgreSQL back end is not built (libpq-dev missing)", "[pg]") {
  WARN("SKIPPED: runicorn_pg was not built: install libpq-dev (scripts/setup-deps.sh)");
}
#endif
