// How Runicorn statuses our store has no equivalent for, and unreadable run files, are imported.
#include <catch2/catch.hpp>

#include <algorithm>

#include "runicorn_fixture.h"
#include "runtrack/catalog.h"
#include "runtrack/import.h"
#include "test_support.h"

namespace runtrack::testing {
namespace {

bool HasSkip(const ImportReport& r, const std::string& item_part, const std::string& reason_part) {
  return std::any_of(r.skipped.begin(), r.skipped.end(), [&](const SkippedItem& s) {
    return s.item.find(item_part) != std::string::npos && s.reason.find(reason_part) != std::string::npos;
  });
}

TEST_CASE("statuses without an equivalent and unreadable run files are imported as reported failures", "[import]") {
  TempDir tmp;
  fs::path from = tmp.path() / "runicorn";
  fs::path runs = from / "runs";
  const std::string stopped = "20250101_000001_000001", missing = "20250101_000002_000002",
                    torn = "20250101_000003_000003", odd = "20250101_000004_000004";
  WriteText(runs / stopped / "meta.json", "{\"created_at\": 10.5}");
  WriteText(runs / stopped / "status.json", "{\"status\": \"stopped\", \"ended_at\": 12.5}");
  WriteText(runs / missing / "meta.json", "{\"created_at\": 20.5}");
  WriteText(runs / torn / "meta.json", "{\"created_at\": 30.5}");
  WriteText(runs / torn / "status.json", "{\"status\": \"fini");
  WriteText(runs / torn / ".deleted", "{\"deleted_at\": 4");  // half-written: still deleted
  WriteText(runs / odd / "status.json", "{\"status\": \"finished\", \"started_at\": 40.5}");  // no meta.json
  WriteText(runs / odd / "logs.txt", std::string("bad \xff\xfe bytes\n"));
  WriteText(tmp.path() / "elsewhere.jsonl", "{\"ts\": 1, \"type\": \"metrics\", \"data\": {\"x\": 1, \"global_step\": 1}}\n");
  fs::create_symlink(tmp.path() / "elsewhere.jsonl", runs / odd / "events.jsonl");

  fs::path root = tmp.path() / "ours";
  auto report = ImportRunicornStore(from, root);
  REQUIRE(report.ok());
  CHECK(report->imported_runs.size() == 4);
  CHECK(HasSkip(*report, stopped + "/status.json", "status 'stopped' has no equivalent"));
  CHECK(HasSkip(*report, missing + "/status.json", "missing: imported as failed (status_missing)"));
  CHECK(HasSkip(*report, torn + "/status.json", "half-written"));
  CHECK(HasSkip(*report, torn + "/.deleted", "half-written"));
  CHECK(HasSkip(*report, odd + "/logs.txt", "not valid UTF-8"));
  CHECK(HasSkip(*report, odd + "/events.jsonl", "symbolic link"));

  auto catalog = Catalog::Open(root);
  REQUIRE(catalog.ok());
  REQUIRE((*catalog)->Refresh().ok());
  auto get = [&](const std::string& id) {
    auto run = (*catalog)->GetRun(id);
    REQUIRE(run.ok());
    return *run;
  };
  RunDetail s = get(stopped);
  CHECK(s.run.status == RunStatus::kFailed);
  CHECK(s.run.exit_reason == "runicorn_status:stopped");
  CHECK(s.run.ended_at == std::optional<double>(12.5));
  RunDetail m = get(missing);
  CHECK(m.run.status == RunStatus::kFailed);
  CHECK(m.run.exit_reason == "status_missing");
  CHECK_FALSE(m.run.ended_at.has_value());
  RunDetail t = get(torn);
  CHECK(t.run.exit_reason == "status_unreadable");
  CHECK(t.run.deleted_at.has_value());
  RunDetail o = get(odd);
  CHECK(o.run.status == RunStatus::kFinished);
  CHECK(o.run.created_at == 40.5);  // started_at when meta.json is missing
  CHECK(o.metrics.empty());         // the linked events file was not read
  CHECK(o.log_bytes == 0);
}

}  // namespace
}  // namespace runtrack::testing
