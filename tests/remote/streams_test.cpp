// Multi-process runs (docs/REMOTE.md "Streams"): every process of a run ships its own journal
// stream under the same run id; the viewer stores them side by side and its catalog merges them.
#include <fcntl.h>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "journal/journal_format.h"
#include "processes.h"
#include "runtrack/catalog.h"
#include "runtrack/remote.h"
#include "runtrack/store.h"
#include "server_fixture.h"
#include "test_support.h"
#include "util/files.h"
#include "viewer_fixture.h"

namespace {
using namespace runtrack;
namespace fs = std::filesystem;
using journal::RecordType;
using runicorn::testing::RestartableViewer;

const std::string kRun = "20261203_120000_d0d0d0";

std::string FileBytes(const fs::path& p) {
  auto r = util::ReadFile(p);
  return r.ok() ? *r : std::string("<missing>");
}

std::string Point(uint32_t metric, int64_t step, double value) {
  journal::PackedPoint p{metric, 0, step, 1000.0 + step, value};
  return std::string(reinterpret_cast<const char*>(&p), sizeof p);
}

// A stream's journal: start, one metric "loss" (id 1) at steps 1..n with value base + step, and
// a final status when `status` is not empty.
std::string StreamJournal(const std::string& project, int n, double base, const std::string& status) {
  std::string j = journal::EncodeHeader();
  journal::AppendRecord(&j, RecordType::kRunStart, fmt::format(R"({{"id":"{}","project":"{}","name":"ddp"}})", kRun, project));
  std::string name(4, '\0');
  uint32_t id = 1;
  std::memcpy(name.data(), &id, 4);
  name.push_back(static_cast<char>(journal::NameKind::kMetric));
  name += "loss";
  journal::AppendRecord(&j, RecordType::kName, name);
  for (int s = 1; s <= n; ++s) journal::AppendRecord(&j, RecordType::kPoints, Point(1, s, base + s));
  journal::AppendRecord(&j, RecordType::kSummary, fmt::format(R"({{"written_by":"{}"}})", project));
  if (!status.empty())
    journal::AppendRecord(&j, RecordType::kStatus, fmt::format(R"({{"status":"{}","ended_at":2000}})", status));
  return j;
}

bool LockIsFree(const StoreLayout& layout) {
  util::FileLock probe;
  auto free = util::FileLock::TryAcquire(layout.lock_path(kRun), &probe);
  REQUIRE(free.ok());
  return *free;
}

}  // namespace

TEST_CASE("streams: stream names are one safe path component", "[remote][streams]") {
  CHECK(ValidateJournalStream("0").ok());
  CHECK(ValidateJournalStream("node-3.cluster:4711").ok());
  CHECK(ValidateJournalStream("").message() == "Invalid stream '': it must be 1-64 characters");
  CHECK(ValidateJournalStream(std::string(65, '1')).message() ==
        fmt::format("Invalid stream '{}': it must be 1-64 characters", std::string(64, '1')));
  CHECK(ValidateJournalStream("..").message() == "Invalid stream '..': it must not start with '.'");
  CHECK(ValidateJournalStream("a/b").message() ==
        "Invalid stream 'a/b': use a rank (\"0\", \"1\", ...) or host:pid, characters [A-Za-z0-9_.:-]");
  StoreLayout layout("/s");
  CHECK(layout.stream_journal_path(kRun, "0") == layout.journal_path(kRun));
  CHECK(layout.stream_journal_path(kRun, "2") == fs::path("/s/runs") / kRun / "journal.2");
}

TEST_CASE("streams: rank 0 owns status and summary, the run stays open until every stream ended",
          "[remote][streams]") {
  testing::TempDir dir;
  StoreLayout layout(dir.path());
  fs::create_directories(layout.runs_dir());
  JournalReceiver rx(layout, ReceiverOptions{.linger = std::chrono::hours(1)});
  const std::string rank0 = StreamJournal("rank0-project", 3, 0, "finished");
  const std::string rank1 = StreamJournal("rank1-project", 3, 100, "failed");

  REQUIRE(rx.Append(kRun, "0", 0, rank0).ok());
  // Rank 1 has started but not ended: the run is still arriving.
  const size_t rank1_open = rank1.size() - 8 - std::string(R"({"status":"failed","ended_at":2000})").size() - 1;
  REQUIRE(rx.Append(kRun, "1", 0, std::string_view(rank1).substr(0, rank1_open)).ok());
  CHECK_FALSE(LockIsFree(layout));
  CHECK(fs::exists(layout.receiving_marker(kRun)));
  CHECK(FileBytes(layout.stream_journal_path(kRun, "1")) == rank1.substr(0, rank1_open));

  auto catalog = Catalog::Open(dir.path());
  REQUIRE(catalog.ok());
  REQUIRE((*catalog)->Refresh().ok());
  auto mid = (*catalog)->GetRun(kRun);
  REQUIRE(mid.ok());
  CHECK(mid->run.status == RunStatus::kFinished);  // rank 0's status, even while rank 1 runs
  CHECK(mid->run.project == "rank0-project");
  CHECK(boost::json::serialize(mid->summary) == R"({"written_by":"rank0-project"})");

  auto last = rx.Append(kRun, "1", rank1_open, std::string_view(rank1).substr(rank1_open));
  REQUIRE(last.ok());
  CHECK(last->offset == rank1.size());
  // Every stream ended: the receiver lingers (a late rank would still be merged) ...
  CHECK_FALSE(LockIsFree(layout));
  CHECK(fs::exists(layout.receiving_marker(kRun)));
  CHECK(rx.ExpireLeases() == 0);
  // ... then lets the run go.
  rx.SetLinger(std::chrono::milliseconds(0));
  rx.ExpireLeases();
  CHECK(LockIsFree(layout));
  CHECK_FALSE(fs::exists(layout.receiving_marker(kRun)));
  // The run is final in the catalog, yet rank 1's last records are still read.
  REQUIRE((*catalog)->Refresh().ok());
  auto streams = (*catalog)->ListStreams(kRun);
  REQUIRE(streams.ok());
  REQUIRE(streams->size() == 2);
  CHECK((*streams)[0].stream == "0");
  CHECK((*streams)[0].ended);
  CHECK((*streams)[0].points == 3);
  CHECK((*streams)[1].stream == "1");
  CHECK((*streams)[1].ended);
  CHECK((*streams)[1].points == 3);
  auto end = (*catalog)->GetRun(kRun);
  REQUIRE(end.ok());
  CHECK(end->run.status == RunStatus::kFinished);  // rank 1's "failed" is its own, not the run's
  REQUIRE(end->metrics.size() == 1);               // "loss" once, with rank 0's figures
  CHECK(end->metrics[0].count == 3);
  CHECK(end->metrics[0].last_value == 3);
  auto per_stream = (*catalog)->ReadMetricStreams(kRun, "loss");
  REQUIRE(per_stream.ok());
  REQUIRE(per_stream->size() == 2);
  CHECK((*per_stream)[1].stream == "1");
  REQUIRE((*per_stream)[1].points.size() == 3);
  CHECK((*per_stream)[1].points[2].value == 103);
  // The default (by-name) read is rank 0's series.
  auto loss = (*catalog)->ReadMetric(kRun, "loss");
  REQUIRE(loss.ok());
  REQUIRE(loss->points.size() == 3);
  CHECK(loss->points[0].value == 1);
  CHECK((*catalog)->ReadMetricStreams(kRun, "acc").status().message() == "run 20261203_120000_d0d0d0 has no metric 'acc'");
}

TEST_CASE("streams: a 4-process DDP run shows as one run with per-rank and merged views", "[remote][streams][e2e]") {
  testing::TempDir dir;
  RestartableViewer viewer(dir.path() / "central", dir.path() / "config.json");
  constexpr int kSteps = 300;
  std::vector<pid_t> ranks;
  for (int rank = 0; rank < 4; ++rank)
    ranks.push_back(runicorn::testing::Spawn(
        {RUNICORN_BINARY, "simulate", "--storage", (dir.path() / fmt::format("node{}", rank)).string(), "--run-id",
         kRun, "--steps", std::to_string(kSteps), "--interval-ms", "0", "--log-every", "100"},
        {{"RUNICORN_SERVER", viewer.url()}, {"RUNICORN_STREAM", std::to_string(rank)}, {"RUNICORN_TOKEN", ""}},
        (dir.path() / fmt::format("rank{}.log", rank)).string()));
  for (pid_t pid : ranks) CHECK(runicorn::testing::WaitExit(pid) == 0);

  // Every rank's journal arrived whole, each as its own stream of the one run.
  StoreLayout central(dir.path() / "central");
  for (int rank = 0; rank < 4; ++rank) {
    StoreLayout node(dir.path() / fmt::format("node{}", rank));
    CHECK(FileBytes(central.stream_journal_path(kRun, std::to_string(rank))) == FileBytes(node.journal_path(kRun)));
  }
  viewer.Sync();
  auto runs = viewer.ctx().storage->catalog().ListRuns({});
  REQUIRE(runs.ok());
  REQUIRE(runs->runs.size() == 1);  // one run, not one per rank
  CHECK(runs->runs[0].id == kRun);
  CHECK(runs->runs[0].status == RunStatus::kFinished);

  runicorn::testing::HttpClient http(viewer.port());
  auto streams = http.Request(boost::beast::http::verb::get, "/api/runs/" + kRun + "/streams");
  CHECK(streams.status == 200);
  CHECK(streams.body == fmt::format(R"({{"run_id":"{}","streams":[)"
                                    R"({{"stream":"0","ended":true,"points":{n}}},{{"stream":"1","ended":true,"points":{n}}},)"
                                    R"({{"stream":"2","ended":true,"points":{n}}},{{"stream":"3","ended":true,"points":{n}}}]}})",
                                    kRun, fmt::arg("n", 2 * kSteps)));

  // Merged: every step once per rank, ordered by (step, stream).
  auto merged = http.Request(boost::beast::http::verb::get, "/api/runs/" + kRun + "/stream-points?metric=loss");
  REQUIRE(merged.status == 200);
  auto m = merged.json().as_object();
  CHECK(m.at("stream").is_null());
  CHECK(boost::json::serialize(m.at("streams")) == R"(["0","1","2","3"])");
  const auto& rows = m.at("rows").as_object();
  REQUIRE(rows.at("step").as_array().size() == 4 * kSteps);
  bool ordered = true;
  for (size_t i = 0; i < 4 * kSteps; ++i) {
    if (ordered && !(rows.at("step").as_array()[i].as_int64() == static_cast<int64_t>(i / 4 + 1) &&
              rows.at("stream").as_array()[i].as_string() == std::to_string(i % 4)))
      UNSCOPED_INFO("row " << i << ": step " << rows.at("step").as_array()[i] << " stream " << rows.at("stream").as_array()[i]
                    << " value " << rows.at("value").as_array()[i]);
    ordered = ordered && rows.at("step").as_array()[i].as_int64() == static_cast<int64_t>(i / 4 + 1) &&
              rows.at("stream").as_array()[i].as_string() == std::to_string(i % 4) &&
              std::abs(rows.at("value").as_array()[i].to_number<double>() - 1.0 / static_cast<double>(i / 4 + 1)) < 1e-9;
  }
  CHECK(ordered);

  // Per rank: rank 2's points only.
  auto rank2 = http.Request(boost::beast::http::verb::get, "/api/runs/" + kRun + "/stream-points?metric=loss&stream=2");
  REQUIRE(rank2.status == 200);
  auto r2 = rank2.json().as_object();
  CHECK(r2.at("stream").as_string() == "2");
  const auto& rows2 = r2.at("rows").as_object();
  REQUIRE(rows2.at("step").as_array().size() == kSteps);
  bool only_rank2 = true;
  for (size_t i = 0; i < kSteps; ++i)
    only_rank2 = only_rank2 && rows2.at("stream").as_array()[i].as_string() == "2" &&
                 rows2.at("step").as_array()[i].as_int64() == static_cast<int64_t>(i + 1);
  CHECK(only_rank2);

  // Failure paths.
  auto unknown = http.Request(boost::beast::http::verb::get, "/api/runs/" + kRun + "/stream-points?metric=loss&stream=7");
  CHECK(unknown.status == 404);
  CHECK(unknown.detail() == "run 20261203_120000_d0d0d0 has no stream '7' with metric 'loss'");
  auto bad = http.Request(boost::beast::http::verb::get, "/api/runs/" + kRun + "/stream-points?metric=loss&stream=..");
  CHECK(bad.status == 400);
  CHECK(bad.detail() == "Invalid stream '..': it must not start with '.'");
  auto no_metric = http.Request(boost::beast::http::verb::get, "/api/runs/" + kRun + "/stream-points");
  CHECK(no_metric.status == 400);
  CHECK(no_metric.detail() == "Missing query parameter 'metric'");
  auto bad_run = http.Request(boost::beast::http::verb::get, "/api/runs/nope/streams");
  CHECK(bad_run.status == 400);
}
