// `runicorn import --from-runicorn DIR`: the real binary over a small Runicorn store written by
// the importer's own fixture (tests/import/runicorn_fixture.h).
#include <set>

#include "cli/cli_fixture.h"
#include "import/runicorn_fixture.h"

using namespace runicorn::testing;
namespace bj = boost::json;
using runtrack::testing::RunicornFixture;

namespace {

std::set<std::string> RunIds(const bj::array& runs, const char* field) {
  std::set<std::string> ids;
  for (const auto& r : runs) ids.insert(std::string(r.at(field).as_string()));
  return ids;
}

std::set<std::string> Strings(const bj::value& v) {
  std::set<std::string> out;
  for (const auto& s : v.as_array()) out.insert(std::string(s.as_string()));
  return out;
}

const std::set<std::string> kAllRuns = {RunicornFixture::kRunA, RunicornFixture::kRunB, RunicornFixture::kRunC,
                                        RunicornFixture::kRunD};

}  // namespace

TEST_CASE("import converts a Runicorn store, runs list shows it, and a second import adds nothing",
          "[cli][import]") {
  CliEnv env;
  RunicornFixture source(env.dir() / "runicorn");

  auto first = env.Run({"import", "--from-runicorn", source.root().string(), "--json"});
  INFO(first.err);
  REQUIRE(first.exit_code == 0);
  CHECK(first.err.empty());  // no bar with --json
  const bj::object report = first.json().as_object();
  CHECK(report.at("from") == bj::value(source.root().string()));
  CHECK(report.at("storage") == bj::value(env.root().string()));
  CHECK(report.at("dry_run") == bj::value(false));
  CHECK(report.at("nothing_imported") == bj::value(false));
  CHECK(RunIds(report.at("imported_runs").as_array(), "run_id") == kAllRuns);
  CHECK(report.at("existing_runs").as_array().empty());
  const std::set<std::string> versions = Strings(report.at("imported_artifact_versions"));
  CHECK(versions.count("model/toy-model:v1") == 1);
  CHECK(report.at("skipped").as_array().size() > 0);  // the fixture's unimportable items, with reasons
  for (const auto& s : report.at("skipped").as_array()) CHECK_FALSE(s.at("reason").as_string().empty());

  // Soft-deleted in Runicorn (run B) stays in the recycle bin here.
  auto list = env.Run({"runs", "list", "--json"});
  REQUIRE(list.exit_code == 0);
  CHECK(RunIds(list.json().as_array(), "id") ==
        std::set<std::string>{RunicornFixture::kRunA, RunicornFixture::kRunC, RunicornFixture::kRunD});

  auto second = env.Run({"import", "--from-runicorn", source.root().string(), "--json"});
  REQUIRE(second.exit_code == 0);
  const bj::object again = second.json().as_object();
  CHECK(again.at("nothing_imported") == bj::value(true));
  CHECK(again.at("imported_runs").as_array().empty());
  CHECK(again.at("imported_artifact_versions").as_array().empty());
  CHECK(again.at("imported_files") == bj::value(0));
  CHECK(Strings(again.at("existing_runs")) == kAllRuns);
  CHECK(Strings(again.at("existing_artifact_versions")) == versions);

  // The human summary of an import with nothing new.
  auto third = env.Run({"import", "--from-runicorn", source.root().string()});
  REQUIRE(third.exit_code == 0);
  CHECK(third.out.rfind(fmt::format("imported 0 runs and 0 artifact versions (0 files, 0 lineage edges) from {} into {}\n",
                                    source.root().string(), env.root().string()),
                        0) == 0);
  CHECK(third.out.find("runs already in the store (4):\n") != std::string::npos);
  CHECK(third.out.find(std::string("  ") + RunicornFixture::kRunA + "\n") != std::string::npos);
  CHECK(third.out.find("nothing new to import\n") != std::string::npos);
}

TEST_CASE("import prints a table of the runs and a bar with --progress", "[cli][import]") {
  CliEnv env;
  RunicornFixture source(env.dir() / "runicorn");
  auto r = env.Run({"import", "--from-runicorn", source.root().string(), "--progress"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.rfind("imported 4 runs and ", 0) == 0);
  CHECK(r.out.find("RUN") != std::string::npos);
  CHECK(r.out.find(RunicornFixture::kRunC) != std::string::npos);
  CHECK(r.out.find("skipped (") != std::string::npos);
  // The bar goes to stderr only, and ends complete.
  CHECK(r.err.find("importing [") != std::string::npos);
  CHECK(r.err.find("100%") != std::string::npos);
}

TEST_CASE("import --dry-run reports the import and writes nothing", "[cli][import]") {
  CliEnv env;
  RunicornFixture source(env.dir() / "runicorn");
  auto dry = env.Run({"import", "--from-runicorn", source.root().string(), "--dry-run", "--json"});
  INFO(dry.err);
  REQUIRE(dry.exit_code == 0);
  CHECK(dry.json().at("dry_run") == bj::value(true));
  CHECK(RunIds(dry.json().at("imported_runs").as_array(), "run_id") == kAllRuns);
  CHECK_FALSE(fs::exists(env.root()));
  auto human = env.Run({"import", "--from-runicorn", source.root().string(), "--dry-run"});
  REQUIRE(human.exit_code == 0);
  CHECK(human.out.rfind("dry run: would import 4 runs and ", 0) == 0);
  CHECK_FALSE(fs::exists(env.root()));
}

TEST_CASE("import refuses bad command lines and missing sources with the documented exit codes", "[cli][import]") {
  CliEnv env;
  auto no_source = env.Run({"import"});
  CHECK(no_source.exit_code == 2);
  CHECK(no_source.err.rfind("usage: runicorn import --from-runicorn DIR", 0) == 0);
  CHECK(env.Run({"import", "--from-runicorn", "x", "--bogus"}).exit_code == 2);
  CHECK(env.Run({"import", "extra", "--from-runicorn", "x"}).exit_code == 2);

  const std::string missing = (env.dir() / "nope").string();
  auto not_found = env.Run({"import", "--from-runicorn", missing});
  CHECK(not_found.exit_code == 4);
  CHECK(not_found.err == "runicorn import: Runicorn store not found: " + missing + "\n");
  CHECK(not_found.out.empty());

  fs::create_directories(env.root());
  auto itself = env.Run({"import", "--from-runicorn", env.root().string()});
  CHECK(itself.exit_code == 2);
  CHECK(itself.err.find("is the target store or inside it") != std::string::npos);
}
