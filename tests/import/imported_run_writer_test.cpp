// ImportedRunWriter: publication is all or nothing and never replaces a run.
#include <catch2/catch.hpp>

#include "import/imported_run_writer.h"
#include "runtrack/catalog.h"
#include "test_support.h"
#include "util/files.h"

namespace runtrack::importer {
namespace {

constexpr const char* kId = "20250114_153045_a1b2c3";

size_t Entries(const fs::path& dir) {
  size_t n = 0;
  for (const auto& e : fs::directory_iterator(dir)) (void)e, ++n;
  return n;
}

TEST_CASE("a writer dropped before Publish leaves no run and no temporary folder", "[import]") {
  testing::TempDir tmp;
  fs::create_directories(tmp.path() / "runs");
  {
    auto writer = ImportedRunWriter::Create(StoreLayout(tmp.path()), kId);
    REQUIRE(writer.ok());
    REQUIRE((*writer)->AddPoint("loss", "train", 1, 1.5, 0.25).ok());
    CHECK(fs::exists((*writer)->dir() / "journal"));
  }
  CHECK(Entries(tmp.path() / "runs") == 0);
}

TEST_CASE("Publish refuses to replace an existing run and keeps its folder intact", "[import]") {
  testing::TempDir tmp;
  fs::path runs = tmp.path() / "runs";
  fs::create_directories(runs / kId);
  REQUIRE(util::WriteFileAtomic(runs / kId / "journal", "theirs").ok());
  auto writer = ImportedRunWriter::Create(StoreLayout(tmp.path()), kId);
  REQUIRE(writer.ok());
  Status published = (*writer)->Publish();
  CHECK(published.code() == StatusCode::kAlreadyExists);
  writer->reset();
  CHECK(*util::ReadFile(runs / kId / "journal") == "theirs");
  CHECK(Entries(runs) == 1);
}

TEST_CASE("a published run keeps the given wall times, times and status through the catalog", "[import]") {
  testing::TempDir tmp;
  fs::path runs = tmp.path() / "runs";
  fs::create_directories(runs);
  auto writer = ImportedRunWriter::Create(StoreLayout(tmp.path()), kId);
  REQUIRE(writer.ok());
  ImportedRunWriter& w = **writer;
  REQUIRE(w.AddJson(journal::RecordType::kRunStart, {{"id", kId}, {"project", "p"}, {"name", "n"},
                                                     {"created_at", 100.25}, {"config", boost::json::object()},
                                                     {"tags", boost::json::array()}, {"pid", 0}, {"hostname", ""}}).ok());
  REQUIRE(w.AddPoint("loss", "", 7, 101.5, 0.5).ok());
  REQUIRE(w.AddPoint("loss", "eval", 8, 102.5, 0.25).ok());
  std::string big(3u << 20, 'x');  // more than one Text record
  big += "\n";
  REQUIRE(w.AddText(big).ok());
  REQUIRE(w.AddJson(journal::RecordType::kStatus, {{"status", "interrupted"}, {"ended_at", 103.75}, {"exit_reason", "x"}}).ok());
  REQUIRE(w.Publish().ok());
  CHECK(Entries(runs) == 1);

  auto catalog = Catalog::Open(tmp.path());
  REQUIRE(catalog.ok());
  REQUIRE((*catalog)->Refresh().ok());
  auto run = (*catalog)->GetRun(kId);
  REQUIRE(run.ok());
  CHECK(run->run.created_at == 100.25);
  CHECK(run->run.status == RunStatus::kInterrupted);
  CHECK(run->run.exit_reason == "x");
  CHECK(run->run.ended_at == std::optional<double>(103.75));
  auto loss = (*catalog)->ReadMetric(kId, "loss");
  REQUIRE(loss.ok());
  REQUIRE(loss->points.size() == 2);
  CHECK(loss->points[0].wall_time == 101.5);
  CHECK(loss->points[1].wall_time == 102.5);
  CHECK(loss->stages[loss->points[1].stage] == "eval");
  CHECK(*(*catalog)->ReadLog(kId) == big);
}

}  // namespace
}  // namespace runtrack::importer
