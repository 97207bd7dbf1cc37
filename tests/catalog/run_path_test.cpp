// Runicorn v0.6's run path, alias and assets.json on the C++ side (RunOptions::path/alias,
// NormalizeRunPath, Run::RecordAsset) and how the catalog and the JSON codec carry them.
#include <boost/json/serialize.hpp>

#include <fstream>
#include <sstream>

#include "catalog/catalog_support.h"
#include "runtrack/json_codec.h"
#include "runtrack/validation.h"

using namespace runtrack;
using namespace runtrack::testing;
namespace fs = std::filesystem;

namespace {

std::string ReadText(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

TEST_CASE("run paths are normalised as Runicorn v0.6 does", "[run_path]") {
  CHECK(*NormalizeRunPath("vision/resnet") == "vision/resnet");
  CHECK(*NormalizeRunPath("\\vision\\resnet\\") == "vision/resnet");
  CHECK(*NormalizeRunPath("//a//b-c_D9//") == "a/b-c_D9");
  CHECK(*NormalizeRunPath("/") == "");
  CHECK(*NormalizeRunPath("") == "");
  CHECK(NormalizeRunPath(std::string(200, 'a')).ok());
}

TEST_CASE("a run path outside Runicorn's rules is refused with the rule it broke", "[run_path]") {
  auto dots = NormalizeRunPath("../etc");
  REQUIRE(dots.status().code() == StatusCode::kInvalidArgument);
  CHECK(dots.status().message() ==
        "Invalid path '../etc': only letters, digits, '_', '-' and '/' are allowed");
  CHECK(NormalizeRunPath("a b").status().message() ==
        "Invalid path 'a b': only letters, digits, '_', '-' and '/' are allowed");
  CHECK(NormalizeRunPath("caf\xC3\xA9").status().message() ==
        "Invalid path 'caf?" "?': only letters, digits, '_', '-' and '/' are allowed");
  auto long_path = NormalizeRunPath(std::string(201, 'a'));
  REQUIRE(long_path.status().code() == StatusCode::kInvalidArgument);
  CHECK(long_path.status().message() ==
        "Invalid path '" + std::string(64, 'a') + "...': longer than 200 characters");
}

TEST_CASE("a run with a path derives project and name and carries path and alias into the catalog",
          "[run_path]") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  RunOptions options;
  options.path = "\\vision\\resnet\\exp1";
  options.alias = "best try";
  auto run = NewRun(*store, options);
  CHECK(run->project() == "vision");
  CHECK(run->name() == "resnet");
  CHECK(run->path() == std::optional<std::string>("vision/resnet/exp1"));
  CHECK(run->alias() == "best try");
  RunOptions one_segment;
  one_segment.path = "mnist";
  auto short_run = NewRun(*store, one_segment);
  CHECK(short_run->project() == "mnist");
  CHECK(short_run->name() == "default");
  RunOptions root;
  root.path = "/";
  auto root_run = NewRun(*store, root);
  CHECK(root_run->project() == "default");
  CHECK(root_run->name() == "default");
  auto plain = NewRun(*store);
  CHECK_FALSE(plain->path().has_value());
  for (auto* r : {run.get(), short_run.get(), root_run.get(), plain.get()}) REQUIRE(r->Finish().ok());

  {
    auto catalog = OpenCatalog(dir.path());
    Index(*catalog);
    auto detail = catalog->GetRun(run->id());
    REQUIRE(detail.ok());
    CHECK(detail->run.path == std::optional<std::string>("vision/resnet/exp1"));
    CHECK(detail->run.alias == "best try");
    CHECK(detail->run.project == "vision");
    const StoreLayout layout(dir.path());
    boost::json::object item = json::RunListItem(detail->run, layout);
    CHECK(item.at("path") == "vision/resnet/exp1");
    CHECK(item.at("alias") == "best try");
    auto root_detail = catalog->GetRun(root_run->id());
    REQUIRE(root_detail.ok());
    boost::json::object root_item = json::RunListItem(root_detail->run, layout);
    CHECK(root_item.at("path") == "");
    CHECK(root_item.at("alias").is_null());
    auto plain_detail = catalog->GetRun(plain->id());
    REQUIRE(plain_detail.ok());
    boost::json::object plain_item = json::RunListItem(plain_detail->run, layout);
    CHECK_FALSE(plain_item.contains("path"));  // v0.5 runs encode exactly as before
    CHECK_FALSE(plain_item.contains("alias"));
  }
  // The persisted catalog record keeps them: a reopened catalog answers without re-ingesting.
  auto reopened = OpenCatalog(dir.path());
  auto again = reopened->GetRun(run->id());
  REQUIRE(again.ok());
  CHECK(again->run.path == std::optional<std::string>("vision/resnet/exp1"));
  CHECK(again->run.alias == "best try");
}

TEST_CASE("a run with a bad path or alias is refused and leaves no folder behind", "[run_path]") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  RunOptions options;
  options.path = "vision/../../etc";
  auto run = store->CreateRun(options);
  REQUIRE(run.status().code() == StatusCode::kInvalidArgument);
  CHECK(run.status().message() ==
        "Invalid path 'vision/../../etc': only letters, digits, '_', '-' and '/' are allowed");
  RunOptions bad_alias;
  bad_alias.alias = "a\nb";
  auto aliased = store->CreateRun(bad_alias);
  REQUIRE(aliased.status().code() == StatusCode::kInvalidArgument);
  CHECK(aliased.status().message() == "alias contains a control character");
  CHECK(fs::is_empty(store->runs_dir()));
}

TEST_CASE("assets.json: config and code replace, datasets append, outputs upsert by key",
          "[run_path]") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  auto run = NewRun(*store);
  const fs::path assets = store->layout().assets_path(run->id());
  CHECK_FALSE(fs::exists(assets));
  REQUIRE(run->RecordAsset("config", {{"args", {{"lr", 1}}}}).ok());
  REQUIRE(run->RecordAsset("config", {{"args", {{"lr", 2}}}}).ok());
  REQUIRE(run->RecordAsset("datasets", {{"name", "a"}}).ok());
  REQUIRE(run->RecordAsset("datasets", {{"name", "b"}}).ok());
  REQUIRE(run->RecordAsset("outputs", {{"key", "m.pt"}, {"v", 1}}).ok());
  REQUIRE(run->RecordAsset("outputs", {{"key", "log.txt"}, {"v", 1}}).ok());
  REQUIRE(run->RecordAsset("outputs", {{"key", "m.pt"}, {"v", 2}}).ok());
  CHECK(ReadText(assets) ==
        R"({"config":{"args":{"lr":2}},"datasets":[{"name":"a"},{"name":"b"}],)"
        R"("outputs":[{"key":"m.pt","v":2},{"key":"log.txt","v":1}]})");

  auto bad = run->RecordAsset("secrets", {});
  REQUIRE(bad.code() == StatusCode::kInvalidArgument);
  CHECK(bad.message() ==
        "unknown asset section 'secrets': expected code, config, datasets, pretrained or outputs");
  CHECK(run->RecordAsset("outputs", {{"v", 1}}).message() == "an outputs asset needs a string \"key\"");

  REQUIRE(run->Finish().ok());
  CHECK(run->RecordAsset("config", {}).code() == StatusCode::kFailedPrecondition);
  CHECK(ReadText(assets).find(R"("lr":2)") != std::string::npos);  // unchanged by the refused calls
}

TEST_CASE("a damaged assets.json is reported, never silently replaced", "[run_path]") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  auto run = NewRun(*store);
  const fs::path assets = store->layout().assets_path(run->id());
  std::ofstream(assets) << "{\"config\": {";
  auto s = run->RecordAsset("datasets", {{"name", "a"}});
  REQUIRE(s.code() == StatusCode::kCorruption);
  CHECK(ReadText(assets) == "{\"config\": {");
}
