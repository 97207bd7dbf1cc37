// Runicorn v0.6's path routes and run list fields (docs/API.md "Runicorn v0.6 paths"): exact
// bodies for the hierarchy, selection, soft delete, JSON export and storage statistics, their
// failure answers, and the later-record-wins rule for a step logged under two stages.
#include <catch2/catch.hpp>

#include "encode/compat_v06_json.h"
#include "server_fixture.h"
#include "service/path_service.h"

using namespace runicorn::testing;
namespace bj = boost::json;

namespace {

bj::value Body(const HttpResult& r, unsigned status = 200) {
  INFO(r.body);
  REQUIRE(r.status == status);
  return r.json();
}

void CheckSame(const bj::value& got, const bj::value& want) {
  INFO("got:  " << bj::serialize(got) << "\nwant: " << bj::serialize(want));
  CHECK(got == want);
}

std::string Detail(const HttpResult& r, unsigned status) {
  INFO(r.body);
  REQUIRE(r.status == status);
  return r.detail();
}

// cv/resnet (finished), cv/vit (failed), nlp/bert (finished).
struct ThreeRuns {
  std::string resnet, vit, bert;
  explicit ThreeRuns(TestServer& srv) {
    resnet = MakeRun(srv.store(), "cv", "resnet", 3);
    vit = MakeRun(srv.store(), "cv", "vit", 3, {}, 1.0, runtrack::RunStatus::kFailed);
    bert = MakeRun(srv.store(), "nlp", "bert", 3);
    srv.Sync();
  }
};

std::vector<std::string> Ids(const bj::value& list) {
  std::vector<std::string> out;
  for (const auto& item : list.as_array()) out.emplace_back(item.as_object().at("id").as_string());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("paths: list, tree and per-path stats aggregated into ancestors", "[compat06]") {
  TestServer srv;
  HttpClient c(srv.port());
  CheckSame(Body(c.Get("/api/paths")), bj::parse(R"({"paths":[],"tree":{}})"));
  ThreeRuns runs(srv);
  const bj::value tree = bj::parse(R"({"cv":{"resnet":{},"vit":{}},"nlp":{"bert":{}}})");
  CheckSame(Body(c.Get("/api/paths")),
            bj::object{{"paths", bj::array{"cv/resnet", "cv/vit", "nlp/bert"}}, {"tree", tree}});
  CheckSame(Body(c.Get("/api/paths?include_stats=true")), bj::parse(R"({
    "paths": ["cv/resnet", "cv/vit", "nlp/bert"],
    "tree": {"cv": {"resnet": {}, "vit": {}}, "nlp": {"bert": {}}},
    "stats": {
      "cv":        {"total": 2, "running": 0, "finished": 1, "failed": 1},
      "cv/resnet": {"total": 1, "running": 0, "finished": 1, "failed": 0},
      "cv/vit":    {"total": 1, "running": 0, "finished": 0, "failed": 1},
      "nlp":       {"total": 1, "running": 0, "finished": 1, "failed": 0},
      "nlp/bert":  {"total": 1, "running": 0, "finished": 1, "failed": 0}}})"));
  CheckSame(Body(c.Get("/api/paths/tree")), bj::object{{"tree", tree}});
  CHECK(Detail(c.Get("/api/paths?include_stats=maybe"), 422) ==
        "Invalid query parameter 'include_stats': expected a boolean, got 'maybe'");
}

TEST_CASE("paths: runs under a path match on segment boundaries, exact or not", "[compat06]") {
  TestServer srv;
  ThreeRuns runs(srv);
  HttpClient c(srv.port());
  using V = std::vector<std::string>;
  auto sorted = [](V v) { std::sort(v.begin(), v.end()); return v; };
  CHECK(Ids(Body(c.Get("/api/paths/runs?path=cv"))) == sorted({runs.resnet, runs.vit}));
  CHECK(Ids(Body(c.Get("/api/paths/runs?path=/cv/"))) == sorted({runs.resnet, runs.vit}));
  CHECK(Ids(Body(c.Get("/api/paths/runs?path=cv%5Cresnet"))) == V{runs.resnet});  // backslash = '/'
  CHECK(Ids(Body(c.Get("/api/paths/runs?path=cv&exact=true"))).empty());
  CHECK(Ids(Body(c.Get("/api/paths/runs?path=cv/vit&exact=1"))) == V{runs.vit});
  CHECK(Ids(Body(c.Get("/api/paths/runs?path=c"))).empty());  // not a prefix of "cv" on a boundary
  CHECK(Ids(Body(c.Get("/api/paths/runs"))).size() == 3);
  // Each item is a /api/runs item plus path, alias and assets_count.
  const bj::object item = Body(c.Get("/api/paths/runs?path=nlp/bert")).as_array().at(0).as_object();
  CHECK(item.at("path") == "nlp/bert");
  CHECK(item.at("alias").is_null());
  CHECK(item.at("assets_count") == 0);
  CHECK(item.at("project") == "nlp");

  CHECK(Detail(c.Get("/api/paths/runs?path=cv/../etc"), 400) ==
        "Invalid path 'cv/../etc': '.' and '..' segments are not allowed");
  CHECK(Detail(c.Get("/api/paths/runs?path=a%01b"), 400) == "Invalid path 'a?b': control characters are not allowed");
  CHECK(Detail(c.Get("/api/paths/runs?path=" + std::string(201, 'a')), 400) ==
        "Invalid path '" + std::string(64, 'a') + "...': longer than 200 characters");
  CHECK(Detail(c.Get("/api/paths/runs?path=cv&exact=perhaps"), 400) ==
        "Invalid query parameter 'exact': expected a boolean, got 'perhaps'");
}

TEST_CASE("run lists carry Runicorn v0.6's path, alias and assets_count", "[compat06]") {
  TestServer srv;
  ThreeRuns runs(srv);
  HttpClient c(srv.port());
  const bj::array list = Body(c.Get("/api/runs")).as_array();
  REQUIRE(list.size() == 3);
  for (const auto& v : list) {
    const bj::object& o = v.as_object();
    CHECK(o.at("path") == bj::value(std::string(o.at("project").as_string()) + "/" + std::string(o.at("name").as_string())));
    CHECK(o.at("alias").is_null());
    CHECK(o.at("assets_count") == 0);
  }
}

TEST_CASE("paths: soft-delete moves every run under a path to the recycle bin", "[compat06]") {
  TestServer srv;
  ThreeRuns runs(srv);
  HttpClient c(srv.port());
  CheckSame(Body(c.Post("/api/paths/soft-delete", R"({"path": "cv"})")),
            bj::parse(R"({"path":"cv","deleted_count":2,"errors":null,"message":"Moved 2 runs to recycle bin"})"));
  CheckSame(Body(c.Get("/api/paths")), bj::parse(R"({"paths":["nlp/bert"],"tree":{"nlp":{"bert":{}}}})"));
  CHECK(Body(c.Get("/api/recycle-bin")).at("deleted_runs").as_array().size() == 2);
  // Nothing left there: a no-op, not an error.
  CheckSame(Body(c.Post("/api/paths/soft-delete", R"({"path": "cv/", "exact": false})")),
            bj::parse(R"({"path":"cv","deleted_count":0,"errors":null,"message":"Moved 0 runs to recycle bin"})"));
  // exact: only the path itself ("nlp" has no run of its own).
  CHECK(Body(c.Post("/api/paths/soft-delete", R"({"path": "nlp", "exact": true})")).at("deleted_count") == 0);

  CHECK(Detail(c.Post("/api/paths/soft-delete", R"({})"), 400) == "path is required and must be a string");
  CHECK(Detail(c.Post("/api/paths/soft-delete", R"({"path": 3})"), 400) == "path is required and must be a string");
  CHECK(Detail(c.Post("/api/paths/soft-delete", R"({"path": "nlp", "exact": "yes"})"), 400) == "exact must be a boolean");
  CHECK(Detail(c.Post("/api/paths/soft-delete", R"({"path": "/"})"), 400) ==
        "path is required: soft-deleting the root would delete every run");
  CHECK(Detail(c.Post("/api/paths/soft-delete", R"({"path": "../x"})"), 400) ==
        "Invalid path '../x': '.' and '..' segments are not allowed");
  CHECK(Body(c.Get("/api/runs")).as_array().size() == 1);  // the refused calls changed nothing
}

TEST_CASE("paths: JSON export of the runs under a path", "[compat06]") {
  TestServer srv;
  ThreeRuns runs(srv);
  HttpClient c(srv.port());
  bj::object got = Body(c.Get("/api/paths/export?path=nlp&format=json")).as_object();
  REQUIRE(got.at("runs").as_array().size() == 1);
  bj::object& run = got.at("runs").as_array()[0].as_object();
  const double created = run.at("created_time").as_double();
  CHECK(run.at("meta").at("created_at").as_double() == created);
  run["created_time"] = "<t>";
  run.at("meta").as_object()["created_at"] = "<t>";
  run.at("meta").as_object()["hostname"] = "<h>";
  run.at("meta").as_object()["pid"] = 0;
  CheckSame(got, bj::parse(R"({"path":"nlp","exact":false,"total_runs":1,"runs":[{
      "run_id":")" + runs.bert + R"(","path":"nlp/bert","alias":null,"status":"finished","created_time":"<t>",
      "summary":{},
      "meta":{"id":")" + runs.bert + R"(","project":"nlp","name":"bert","path":"nlp/bert","alias":null,
              "created_at":"<t>","hostname":"<h>","pid":0,"tags":[]}}]})"));
  // format defaults to json; the root selects everything.
  CHECK(Body(c.Get("/api/paths/export")).at("total_runs") == 3);
  CHECK(Detail(c.Get("/api/paths/export?path=nlp&format=xml"), 400) == "Unsupported format 'xml': use json or zip");
  CHECK(Detail(c.Get("/api/paths/export?path=none&format=zip"), 404) == "No runs found under this path");
  CHECK(Body(c.Get("/api/paths/export?path=none")).at("total_runs") == 0);  // json: an empty list
}

TEST_CASE("storage stats count runs, projects and bytes per area", "[compat06]") {
  TestServer srv;
  ThreeRuns runs(srv);
  HttpClient c(srv.port());
  bj::object s = Body(c.Get("/api/storage/stats")).as_object();
  CHECK(s.at("storage_root") == bj::value(srv.store().root().string()));
  const bj::object& r = s.at("runs").as_object();
  CHECK(r.at("runs_count") == 3);
  CHECK(r.at("projects_count") == 2);
  CHECK(r.at("experiments_count") == 3);
  auto bytes = [](const bj::value& area) { return area.at("size_bytes").to_number<uint64_t>(); };
  CHECK(bytes(r) > 0);
  CHECK(r.at("size_human") == bj::value(runicorn::encode::HumanSize(bytes(r))));
  CHECK(bytes(s.at("index")) > 0);  // the catalog
  CHECK(bytes(s.at("total")) >= bytes(r) + bytes(s.at("index")) + bytes(s.at("archive")));
  // No artifact logged: no chunks; the archive is the artifact store's own index files.
  const bj::object& archive = s.at("archive").as_object();
  CheckSame(archive.at("blobs"), bj::parse(R"({"size_bytes":0,"size_human":"0.00 B","file_count":0})"));
  CHECK(bytes(archive) == bytes(archive.at("manifests")));
}

TEST_CASE("HumanSize writes Runicorn's two-decimal 1024-based sizes", "[compat06]") {
  using runicorn::encode::HumanSize;
  CHECK(HumanSize(0) == "0.00 B");
  CHECK(HumanSize(1023) == "1023.00 B");
  CHECK(HumanSize(1536) == "1.50 KB");
  CHECK(HumanSize(1572864) == "1.50 MB");
  CHECK(HumanSize(3ull << 40) == "3.00 TB");
  CHECK(HumanSize(5ull << 50) == "5120.00 TB");
}

TEST_CASE("path normalisation and selection rules", "[compat06]") {
  using runicorn::service::PathSelection;
  using runicorn::service::PathService;
  CHECK(*PathService::NormalizePath("") == "");
  CHECK(*PathService::NormalizePath("/") == "");
  CHECK(*PathService::NormalizePath("\\\\vision//resnet\\") == "vision/resnet");
  CHECK(*PathService::NormalizePath("a.b/c d") == "a.b/c d");  // our names may hold these
  CHECK(PathService::NormalizePath("a/./b").status().message() == "Invalid path 'a/./b': '.' and '..' segments are not allowed");
  CHECK(PathService::Prefixes("a/b/c") == std::vector<std::string>{"a", "a/b", "a/b/c"});
  CHECK(PathService::Prefixes("").empty());
  CHECK(PathService::Selects(PathSelection{"", false}, "x/y"));
  CHECK_FALSE(PathService::Selects(PathSelection{"", true}, "x/y"));
  CHECK(PathService::Selects(PathSelection{"x", false}, "x/y"));
  CHECK_FALSE(PathService::Selects(PathSelection{"x", false}, "xy"));
  CHECK_FALSE(PathService::Selects(PathSelection{"x/y/z", false}, "x/y"));
}

TEST_CASE("a step logged under two stages: the later record wins, stage included", "[compat06]") {
  TestServer srv;
  runtrack::RunOptions o;
  o.project = "p";
  o.name = "stages";
  auto run = srv.store().CreateRun(o);
  REQUIRE(run.ok());
  REQUIRE((*run)->Log({{"loss", 1.0}}, 5, "train").ok());
  REQUIRE((*run)->Log({{"loss", 2.0}}, 5, "eval").ok());
  REQUIRE((*run)->Log({{"loss", 3.0}}, 6, "eval").ok());
  REQUIRE((*run)->Log({{"loss", 4.0}}, 6, "train").ok());
  const std::string id = (*run)->id();
  REQUIRE((*run)->Finish().ok());
  srv.Sync();
  HttpClient c(srv.port());
  for (const char* route : {"metrics_step", "metrics"}) {
    INFO(route);
    bj::object got = Body(c.Get("/api/runs/" + id + "/" + route)).as_object();
    bj::array rows = got.at("rows").as_array();
    REQUIRE(rows.size() == 2);
    for (auto& row : rows) row.as_object().erase("time");
    CheckSame(rows, bj::parse(R"([{"global_step":5,"loss":2.0,"stage":"eval"},
                                  {"global_step":6,"loss":4.0,"stage":"train"}])"));
  }
}
