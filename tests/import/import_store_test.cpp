// Importing a Runicorn store written in Runicorn's formats (runicorn_fixture.h), then reading
// everything back through our Catalog and ArtifactStore.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <set>

#include <boost/json.hpp>

#include "runicorn_fixture.h"
#include "runtrack/artifacts.h"
#include "runtrack/catalog.h"
#include "runtrack/import.h"
#include "runtrack/layout.h"
#include "test_support.h"
#include "util/files.h"

namespace runtrack::testing {
namespace {

namespace json = boost::json;

bool SameBits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

std::string ReadArtifactFile(const ArtifactHandle& handle, std::string_view path) {
  auto bytes = handle.ReadFile(path);
  INFO(path << ": " << bytes.status().ToString());
  REQUIRE(bytes.ok());
  return *bytes;
}

std::string Slurp(const fs::path& p) {
  auto text = util::ReadFile(p);
  REQUIRE(text.ok());
  return *text;
}

ImportReport MustImport(const fs::path& from, const fs::path& root, ImportOptions options = {}) {
  auto report = ImportRunicornStore(from, root, options);
  INFO(report.status().ToString());
  REQUIRE(report.ok());
  return std::move(report).value();
}

bool HasSkip(const ImportReport& r, const std::string& item_part, const std::string& reason_part) {
  return std::any_of(r.skipped.begin(), r.skipped.end(), [&](const SkippedItem& s) {
    return s.item.find(item_part) != std::string::npos && s.reason.find(reason_part) != std::string::npos;
  });
}

std::set<std::string> ImportedIds(const ImportReport& r) {
  std::set<std::string> ids;
  for (const auto& run : r.imported_runs) ids.insert(run.run_id);
  return ids;
}

std::unique_ptr<Catalog> IndexedCatalog(const fs::path& root) {
  auto catalog = Catalog::Open(root);
  REQUIRE(catalog.ok());
  auto indexed = (*catalog)->Refresh();
  REQUIRE(indexed.ok());
  CHECK(indexed->runs_failed == 0);
  CHECK(indexed->corrupt_journals == 0);
  CHECK(indexed->runs_marked_crashed == 0);  // every imported run carries its final status
  return std::move(catalog).value();
}

// Every point of every metric of `expected`, through ReadMetric: one point per step, the later
// logged winning for a repeated step, value / wall time bit-exact, stage by name.
void CheckPoints(const Catalog& catalog, const ExpectedRun& expected) {
  std::map<std::string, std::map<int64_t, ExpectedPoint>> by_metric;
  std::map<std::string, uint64_t> counts;
  for (const ExpectedPoint& p : expected.points) {
    by_metric[p.metric][p.step] = p;  // later wins
    ++counts[p.metric];
  }
  auto detail = catalog.GetRun(expected.id);
  REQUIRE(detail.ok());
  REQUIRE(detail->metrics.size() == by_metric.size());
  for (const MetricInfo& info : detail->metrics) {
    INFO("metric " << info.name);
    REQUIRE(by_metric.count(info.name) == 1);
    CHECK(info.count == counts[info.name]);
  }
  for (const auto& [metric, points] : by_metric) {
    INFO("run " << expected.id << " metric " << metric);
    auto series = catalog.ReadMetric(expected.id, metric);
    REQUIRE(series.ok());
    REQUIRE(series->points.size() == points.size());
    size_t i = 0;
    for (const auto& [step, want] : points) {
      const MetricPoint& got = series->points[i++];
      INFO("step " << step);
      CHECK(got.step == want.step);
      CHECK(SameBits(got.value, want.value));
      CHECK(SameBits(got.wall_time, want.wall_time));
      REQUIRE(got.stage < series->stages.size());
      CHECK(series->stages[got.stage] == want.stage);
    }
  }
}

void CheckRun(const Catalog& catalog, const fs::path& root, const ExpectedRun& expected) {
  INFO("run " << expected.id);
  auto detail = catalog.GetRun(expected.id);
  REQUIRE(detail.ok());
  const RunSummary& row = detail->run;
  CHECK(row.project == expected.project);
  CHECK(row.name == expected.name);
  CHECK(RunStatusName(row.status) == expected.status);
  CHECK(row.exit_reason == expected.exit_reason);
  CHECK(SameBits(row.created_at, expected.created_at));
  REQUIRE(row.ended_at.has_value() == expected.ended_at.has_value());
  if (expected.ended_at) CHECK(SameBits(*row.ended_at, *expected.ended_at));
  REQUIRE(row.deleted_at.has_value() == expected.deleted_at.has_value());
  if (expected.deleted_at) CHECK(*row.deleted_at == Approx(*expected.deleted_at).margin(1e-6));
  CHECK(row.hostname == expected.hostname);
  CHECK(row.tags == expected.tags);
  CHECK(row.artifacts_created_count == expected.produced);
  CHECK(row.artifacts_used_count == expected.used);
  CHECK(json::value(detail->config) == json::parse(expected.config_json));
  CHECK(json::value(detail->summary) == json::parse(expected.summary_json));
  CheckPoints(catalog, expected);
  auto log = catalog.ReadLog(expected.id);
  REQUIRE(log.ok());
  CHECK(*log == expected.logs);
  for (const auto& [name, bytes] : expected.media) CHECK(Slurp(root / "runs" / expected.id / "media" / name) == bytes);
}

TEST_CASE("import keeps every point, summary, status, config, log and media of both layouts", "[import]") {
  TempDir tmp;
  RunicornFixture source(tmp.path() / "runicorn");
  fs::path root = tmp.path() / "ours";
  ImportReport report = MustImport(source.root(), root);

  CHECK(ImportedIds(report) == std::set<std::string>{RunicornFixture::kRunA, RunicornFixture::kRunB,
                                                    RunicornFixture::kRunC, RunicornFixture::kRunD});
  CHECK(report.existing_runs.empty());
  for (const ImportedRun& run : report.imported_runs) {
    uint64_t points = source.runs.at(run.run_id).points.size();
    CHECK(run.points == points);
    CHECK(run.log_bytes == source.runs.at(run.run_id).logs.size());
  }

  auto catalog = IndexedCatalog(root);
  for (const auto& [id, expected] : source.runs) CheckRun(*catalog, root, expected);
  // v0.6 runs keep their path and alias (rn.init(path=, alias=)); a run at the root has no path.
  auto run_c = catalog->GetRun(RunicornFixture::kRunC);
  REQUIRE(run_c.ok());
  CHECK(run_c->run.path == std::optional<std::string>("cv/resnet"));
  CHECK(run_c->run.alias == "r50");
  auto run_d = catalog->GetRun(RunicornFixture::kRunD);
  REQUIRE(run_d.ok());
  CHECK_FALSE(run_d->run.path.has_value());
  CHECK(run_d->run.alias.empty());

  RunQuery visible;
  auto page = catalog->ListRuns(visible);
  REQUIRE(page.ok());
  CHECK(page->total == 3);  // run B is in the recycle bin
  RunQuery deleted;
  deleted.deleted_only = true;
  auto bin = catalog->ListRuns(deleted);
  REQUIRE(bin.ok());
  REQUIRE(bin->runs.size() == 1);
  CHECK(bin->runs[0].id == RunicornFixture::kRunB);

  // Run A's primary metric comes from its summary's best_metric_name / mode.
  auto a = catalog->GetRun(RunicornFixture::kRunA);
  REQUIRE(a.ok());
  CHECK(a->run.best_metric_name == "acc");
  CHECK(a->run.best_metric_mode == "max");

  // The image event is indexed like our SDK's log_image (media/images.jsonl).
  std::string index = Slurp(root / "runs" / RunicornFixture::kRunA / "media" / "images.jsonl");
  json::value entry = json::parse(index.substr(0, index.find('\n')));
  CHECK(entry.at("key") == "sample");
  CHECK(entry.at("path") == "media/1736868646013_abcdef_sample.png");
  CHECK(entry.at("step") == 5);
  CHECK(entry.at("caption") == "a cat");
  // The original small files are kept verbatim.
  CHECK(Slurp(root / "runs" / RunicornFixture::kRunB / "runicorn" / "summary.json") == "{\"a\": 1, \"b");
  CHECK(fs::exists(root / "runs" / RunicornFixture::kRunA / "runicorn" / "meta.json"));
  CHECK(Slurp(StoreLayout(root).environment_path(RunicornFixture::kRunA)) ==
        Slurp(source.root() / "nlp" / "bert" / "runs" / RunicornFixture::kRunA / "environment.json"));
}

TEST_CASE("import reports what it skipped and why, and nothing escapes the root", "[import]") {
  TempDir tmp;
  RunicornFixture source(tmp.path() / "runicorn");
  fs::path root = tmp.path() / "ours";
  ImportReport report = MustImport(source.root(), root);

  CHECK(HasSkip(report, "runs/exp/my-custom-run", "runs are never renamed"));
  CHECK(HasSkip(report, "runs/20250101_000000_eeeeee", "symbolic link"));
  CHECK(HasSkip(report, "old/proj/runs/20260101_120500_cccccc", "duplicate run id"));
  CHECK(HasSkip(report, std::string(RunicornFixture::kRunA) + "/events.jsonl", "torn last line"));
  CHECK(HasSkip(report, std::string(RunicornFixture::kRunA) + "/events.jsonl", "line 127: invalid JSON"));
  CHECK(HasSkip(report, std::string(RunicornFixture::kRunA) + "/events.jsonl", "metric 'phase': 1 non-numeric"));
  CHECK(HasSkip(report, std::string(RunicornFixture::kRunB) + "/summary.json", "half-written"));
  CHECK(HasSkip(report, std::string(RunicornFixture::kRunC) + "/media/escape.png", "symbolic link"));
  CHECK(HasSkip(report, std::string(RunicornFixture::kRunC) + "/status.json", "still 'running'"));
  CHECK(HasSkip(report, "artifacts/model/toy-model/v4", "does not match its digest"));
  CHECK(HasSkip(report, "artifacts/model/bad..name", "artifact name refused"));

  // Nothing of the custom-id run, the link's target or the escaping media file was copied.
  std::set<std::string> folders;
  for (const auto& e : fs::directory_iterator(root / "runs")) folders.insert(e.path().filename().string());
  CHECK(folders == std::set<std::string>{RunicornFixture::kRunA, RunicornFixture::kRunB, RunicornFixture::kRunC,
                                         RunicornFixture::kRunD});
  CHECK_FALSE(fs::exists(root / "runs" / RunicornFixture::kRunC / "media" / "escape.png"));
  for (const auto& e : fs::recursive_directory_iterator(root)) CHECK_FALSE(e.is_symlink());
}

TEST_CASE("import keeps artifact versions, aliases, metadata, bytes and lineage", "[import]") {
  TempDir tmp;
  RunicornFixture source(tmp.path() / "runicorn");
  fs::path root = tmp.path() / "ours";
  ImportReport report = MustImport(source.root(), root);
  std::set<std::string> versions(report.imported_artifact_versions.begin(), report.imported_artifact_versions.end());
  CHECK(versions == std::set<std::string>{"model/toy-model:v1", "model/toy-model:v3", "dataset/toy-dataset:v1",
                                          "dataset/toy-dataset:v2", "code/code-cv:v1", "dataset/imagenet-mini:v1",
                                          "dataset/remote-set:v1", "model/bert-base:v1", "custom/model.pt:v1"});
  // A produced model v1; B used model v1 and dataset v1; C produced 2 and used 3 assets; D used 1.
  CHECK(report.lineage_edges == 9);

  auto store = ArtifactStore::Open(root);
  REQUIRE(store.ok());
  auto listed = store->ListVersions("toy-model");
  REQUIRE(listed.ok());
  REQUIRE(listed->size() == 2);
  const ArtifactVersionInfo& v1 = (*listed)[0];
  CHECK(v1.version == 1);
  CHECK(SameBits(v1.created_at, 1736868700.25));
  CHECK(v1.created_by_run == RunicornFixture::kRunA);
  CHECK(v1.description == "first model");
  CHECK(json::value(v1.metadata) == json::parse("{\"acc\": 0.5, \"layers\": 12}"));
  CHECK(v1.tags == std::vector<std::string>{"baseline"});
  CHECK(v1.aliases == std::vector<std::string>{"best"});
  CHECK(v1.num_references == 1);
  const ArtifactVersionInfo& v3 = (*listed)[1];
  CHECK(v3.version == 3);
  CHECK(SameBits(v3.created_at, 1736868800.5));
  CHECK(v3.created_by_run.empty());
  CHECK(v3.aliases == std::vector<std::string>{"latest", "production"});

  // v2 was permanently deleted in Runicorn: its number stays burnt here too.
  CHECK(store->GetVersion("toy-model", 2).status().code() == StatusCode::kNotFound);
  CHECK(fs::exists(root / "artifacts" / "model" / "toy-model" / "v2" / "purged"));

  auto aliases = store->Aliases("toy-model");
  REQUIRE(aliases.ok());
  CHECK(*aliases == std::map<std::string, int>{{"best", 1}, {"latest", 3}, {"production", 3}});

  auto handle = store->Use("toy-model:best", "");
  REQUIRE(handle.ok());
  for (const auto& f : source.toy_model_v1_files) {
    CHECK(ReadArtifactFile(*handle, f.path) == f.bytes);
  }
  REQUIRE(handle->references().size() == 1);
  CHECK(handle->references()[0].uri == "s3://bucket/weights.tar");
  CHECK(handle->references()[0].checksum == std::optional<std::string>("md5:abc"));
  CHECK(handle->references()[0].size == std::optional<uint64_t>(12));
  auto v3_handle = store->Use("toy-model:production", "");
  REQUIRE(v3_handle.ok());
  CHECK(ReadArtifactFile(*v3_handle, "model.bin") == source.toy_model_v3_bytes);

  auto dataset = store->ListVersions("toy-dataset", /*include_deleted=*/true);
  REQUIRE(dataset.ok());
  REQUIRE(dataset->size() == 2);
  CHECK((*dataset)[0].status == "ready");
  CHECK((*dataset)[0].description == "shared toy dataset");
  CHECK((*dataset)[1].status == "deleted");
  auto dataset_handle = store->Use("toy-dataset", "");
  REQUIRE(dataset_handle.ok());
  CHECK(dataset_handle->info().version == 1);
  CHECK(ReadArtifactFile(*dataset_handle, "train.csv") == source.toy_dataset_v1_bytes);

  auto lineage = store->Lineage("toy-model", 1);
  REQUIRE(lineage.ok());
  std::set<std::tuple<std::string, std::string, std::string>> edges;
  for (const auto& e : lineage->edges) edges.insert({e.source, e.target, e.edge_type});
  CHECK(edges.count({RunicornFixture::kRunA, "toy-model:v1", "produces"}) == 1);
  CHECK(edges.count({"toy-model:v1", RunicornFixture::kRunB, "uses"}) == 1);
  auto dataset_lineage = store->Lineage("toy-dataset", 1);
  REQUIRE(dataset_lineage.ok());
  bool used_by_b = false;
  for (const auto& e : dataset_lineage->edges)
    used_by_b = used_by_b || (e.source == "toy-dataset:v1" && e.target == RunicornFixture::kRunB && e.edge_type == "uses");
  CHECK(used_by_b);
}

TEST_CASE("v0.6 archive assets become artifact versions with their bytes and lineage", "[import]") {
  TempDir tmp;
  RunicornFixture source(tmp.path() / "runicorn");
  fs::path root = tmp.path() / "ours";
  ImportReport report = MustImport(source.root(), root);
  CHECK(HasSkip(report, "outputs[1]", "archive_path does not resolve"));
  auto store = ArtifactStore::Open(root);
  REQUIRE(store.ok());

  auto code = store->Use("code-cv:v1", "");
  REQUIRE(code.ok());
  CHECK(code->info().created_by_run == RunicornFixture::kRunC);
  CHECK(ReadArtifactFile(*code, "code_snapshot.zip") == source.code_bytes);

  auto dataset = store->Use("imagenet-mini", "");
  REQUIRE(dataset.ok());
  CHECK(dataset->info().version == 1);  // runs C and D share it: one version
  CHECK(dataset->info().description == "tiny");
  CHECK(SameBits(dataset->info().created_at, 1767268700.5));
  REQUIRE(dataset->files().size() == source.dataset_files.size());
  for (const auto& [path, bytes] : source.dataset_files) CHECK(ReadArtifactFile(*dataset, path) == bytes);

  auto output = store->Use("model.pt", "");
  REQUIRE(output.ok());
  CHECK(ReadArtifactFile(*output, "model.pt") == source.output_bytes);
  CHECK(SameBits(output->info().created_at, 1767268900.0));
  auto remote = store->Use("remote-set", "");
  REQUIRE(remote.ok());
  REQUIRE(remote->references().size() == 1);
  CHECK(remote->references()[0].uri == "s3://bucket/set");
  auto pretrained = store->Use("bert-base", "");
  REQUIRE(pretrained.ok());
  CHECK(pretrained->info().type == ArtifactType::kModel);
  CHECK(pretrained->references()[0].uri == "hf://bert-base");
  CHECK_FALSE(store->ListVersions("evil").ok());

  auto lineage = store->Lineage("imagenet-mini", 1);
  REQUIRE(lineage.ok());
  std::set<std::string> users;
  for (const auto& e : lineage->edges)
    if (e.source == "imagenet-mini:v1" && e.edge_type == "uses") users.insert(e.target);
  CHECK(users == std::set<std::string>{RunicornFixture::kRunC, RunicornFixture::kRunD});
}

TEST_CASE("importing twice imports nothing new and changes nothing", "[import]") {
  TempDir tmp;
  RunicornFixture source(tmp.path() / "runicorn");
  fs::path root = tmp.path() / "ours";
  ImportReport first = MustImport(source.root(), root);
  REQUIRE(first.imported_runs.size() == 4);
  std::string journal_before = Slurp(root / "runs" / RunicornFixture::kRunA / "journal");
  std::string manifest_before = Slurp(root / "artifacts" / "model" / "toy-model" / "v1" / "manifest.json");

  ImportReport second = MustImport(source.root(), root);
  CHECK(second.nothing_imported());
  CHECK(second.imported_runs.empty());
  CHECK(second.imported_artifact_versions.empty());
  CHECK(second.imported_files == 0);
  CHECK(second.lineage_edges == 0);
  std::set<std::string> existing(second.existing_runs.begin(), second.existing_runs.end());
  CHECK(existing == ImportedIds(first));
  std::set<std::string> existing_versions(second.existing_artifact_versions.begin(),
                                          second.existing_artifact_versions.end());
  CHECK(existing_versions == std::set<std::string>(first.imported_artifact_versions.begin(),
                                                   first.imported_artifact_versions.end()));
  CHECK(Slurp(root / "runs" / RunicornFixture::kRunA / "journal") == journal_before);
  CHECK(Slurp(root / "artifacts" / "model" / "toy-model" / "v1" / "manifest.json") == manifest_before);

  auto catalog = IndexedCatalog(root);
  for (const auto& [id, expected] : source.runs) CheckRun(*catalog, root, expected);
  auto store = ArtifactStore::Open(root);
  REQUIRE(store.ok());
  auto listed = store->ListVersions("toy-model");
  REQUIRE(listed.ok());
  CHECK(listed->size() == 2);
}

TEST_CASE("an existing run id in the target is skipped and left untouched", "[import]") {
  TempDir tmp;
  RunicornFixture source(tmp.path() / "runicorn");
  fs::path root = tmp.path() / "ours";
  fs::create_directories(root / "runs" / RunicornFixture::kRunA);
  util::WriteFileAtomic(root / "runs" / RunicornFixture::kRunA / "marker", "mine").ok();
  ImportReport report = MustImport(source.root(), root);
  CHECK(std::count(report.existing_runs.begin(), report.existing_runs.end(), RunicornFixture::kRunA) == 1);
  CHECK(ImportedIds(report).count(RunicornFixture::kRunA) == 0);
  CHECK(Slurp(root / "runs" / RunicornFixture::kRunA / "marker") == "mine");
  CHECK_FALSE(fs::exists(root / "runs" / RunicornFixture::kRunA / "journal"));
}

TEST_CASE("dry run reports the same import and writes nothing", "[import]") {
  TempDir tmp;
  RunicornFixture source(tmp.path() / "runicorn");
  fs::path root = tmp.path() / "ours";
  ImportOptions options;
  options.dry_run = true;
  ImportReport dry = MustImport(source.root(), root, options);
  CHECK(dry.dry_run);
  CHECK_FALSE(fs::exists(root));
  ImportReport real = MustImport(source.root(), root);
  CHECK(ImportedIds(dry) == ImportedIds(real));
  // v0.5 versions keep their numbers; v0.6 assets get theirs when written ("<type>/<name>:new").
  CHECK(dry.imported_artifact_versions.size() == real.imported_artifact_versions.size());
  CHECK(std::count(dry.imported_artifact_versions.begin(), dry.imported_artifact_versions.end(),
                   "dataset/imagenet-mini:new") == 1);
  CHECK(dry.skipped.size() == real.skipped.size());
}

TEST_CASE("progress is reported once per run and artifact version, ending at the total", "[import]") {
  TempDir tmp;
  RunicornFixture source(tmp.path() / "runicorn");
  std::vector<std::pair<uint64_t, uint64_t>> calls;
  ImportOptions options;
  options.progress = [&](std::string_view, uint64_t done, uint64_t total) { calls.push_back({done, total}); };
  MustImport(source.root(), tmp.path() / "ours", options);
  // 6 run folders (4 imported, the custom id, the duplicate; the link is not a run folder) and 5
  // versions (toy-model v1, v3, v4; toy-dataset v1, v2).
  REQUIRE_FALSE(calls.empty());
  uint64_t total = calls.back().second;
  CHECK(total == 6 + 5);
  CHECK(calls.back().first == total);
  for (size_t i = 1; i < calls.size(); ++i) CHECK(calls[i].first > calls[i - 1].first);
}

TEST_CASE("a temporary folder left by a dead importer is removed, a live one's is not", "[import]") {
  TempDir tmp;
  RunicornFixture source(tmp.path() / "runicorn");
  fs::path root = tmp.path() / "ours";
  // pid 2^22+1 is above Linux's default pid_max on small systems and never ours; if it happens to
  // exist the folder is (correctly) kept, so check only the live case strictly.
  fs::path live = root / "runs" / fmt::format(".import-{}-{}-0", RunicornFixture::kRunA, 1);  // pid 1 always lives
  fs::create_directories(live);
  fs::path dead = root / "runs" / fmt::format(".import-{}-{}-0", RunicornFixture::kRunB, 999999999);
  fs::create_directories(dead);
  MustImport(source.root(), root);
  CHECK(fs::exists(live));
  CHECK_FALSE(fs::exists(dead));
  CHECK(fs::exists(root / "runs" / RunicornFixture::kRunB / "journal"));
}

TEST_CASE("bad roots are clear errors", "[import]") {
  TempDir tmp;
  auto missing = ImportRunicornStore(tmp.path() / "nope", tmp.path() / "ours");
  CHECK(missing.status().code() == StatusCode::kNotFound);
  fs::create_directories(tmp.path() / "same");
  auto same = ImportRunicornStore(tmp.path() / "same", tmp.path() / "same");
  CHECK(same.status().code() == StatusCode::kInvalidArgument);
  CHECK_FALSE(fs::exists(tmp.path() / "same" / "runs"));
}

}  // namespace
}  // namespace runtrack::testing
