// Per-node system metrics with shipping on (docs/SYSTEM.md "Per-node system metrics"): the run's
// system:<host> stream reaches the central viewer as a stream of the same run, byte for byte, and
// the stream API serves it per host.
#include <unistd.h>

#include <cstring>
#include <thread>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "journal/journal_reader.h"
#include "runtrack/catalog.h"
#include "runtrack/remote.h"
#include "runtrack/store.h"
#include "runtrack/system.h"
#include "server_fixture.h"
#include "test_support.h"
#include "util/files.h"
#include "viewer_fixture.h"

namespace {
using namespace runtrack;
namespace fs = std::filesystem;
using runicorn::testing::RestartableViewer;

// system/cpu_percent points in a stream journal (0 when it cannot be read yet).
size_t CpuPoints(const fs::path& path) {
  std::map<uint32_t, std::string> names;
  size_t n = 0;
  auto r = journal::ReadJournal(path, 0, [&](journal::RecordType type, std::string_view payload) {
    if (type == journal::RecordType::kName) names[journal::GetU32(payload.data())] = std::string(payload.substr(5));
    if (type == journal::RecordType::kPoints)
      for (size_t at = 0; at + sizeof(journal::PackedPoint) <= payload.size(); at += sizeof(journal::PackedPoint)) {
        uint32_t id = journal::GetU32(payload.data() + at);
        n += names[id] == "system/cpu_percent";
      }
    return Status::Ok();
  });
  return r.ok() ? n : 0;
}

std::string FileBytes(const fs::path& p) {
  auto r = util::ReadFile(p);
  return r.ok() ? *r : std::string("<missing>");
}

}  // namespace

TEST_CASE("system stream: with shipping on, the viewer has the run's system:<host> stream", "[remote][system][e2e]") {
  testing::TempDir dir;
  RestartableViewer viewer(dir.path() / "central", dir.path() / "config.json");
  StoreOptions so;
  so.server = viewer.url();
  auto store = Store::Open(dir.path() / "node", so);
  REQUIRE(store.ok());
  RunOptions ro;
  ro.system_metrics = true;
  ro.system_metrics_interval = std::chrono::milliseconds(100);
  auto run = (*store)->CreateRun(ro);
  REQUIRE(run.ok());
  const std::string id = (*run)->id();
  char host[256] = {};
  REQUIRE(::gethostname(host, sizeof host - 1) == 0);
  const std::string stream = SystemStreamName(host);
  const StoreLayout& local = (*store)->layout();
  for (int s = 1; s <= 10; ++s) REQUIRE((*run)->Log(s, "loss", 1.0 / s).ok());
  // Until the sampler has written two samples (the bound only stops a broken sampler).
  for (int i = 0; i < 3000 && CpuPoints(local.stream_journal_path(id, stream)) < 2; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  REQUIRE((*run)->Finish().ok());

  // Byte for byte, acknowledged to the end.
  const std::string bytes = FileBytes(local.stream_journal_path(id, stream));
  const size_t samples = CpuPoints(local.stream_journal_path(id, stream));
  REQUIRE(samples >= 2);
  StoreLayout central(dir.path() / "central");
  CHECK(FileBytes(central.stream_journal_path(id, stream)) == bytes);
  const StoreLayout ship(local.system_ship_root(id));
  CHECK(FileBytes(ship.shipped_path(id)) == std::to_string(bytes.size()));
  CHECK(FileBytes(ship.shipping_stream_path(id)) == stream);
  CHECK(FileBytes(central.journal_path(id)) == FileBytes(local.journal_path(id)));

  // One run with two streams; the run finished once both had ended.
  viewer.Sync();
  auto detail = viewer.ctx().storage->catalog().GetRun(id);
  REQUIRE(detail.ok());
  CHECK(detail->run.status == RunStatus::kFinished);
  runicorn::testing::HttpClient http(viewer.port());
  auto streams = http.Get("/api/runs/" + id + "/streams");
  REQUIRE(streams.status == 200);
  auto list = streams.json().as_object().at("streams").as_array();
  REQUIRE(list.size() == 2);
  CHECK(list[0].as_object().at("stream").as_string() == "0");
  CHECK(list[0].as_object().at("points").as_int64() == 10);
  CHECK(list[1].as_object().at("stream").as_string() == stream);
  CHECK(list[1].as_object().at("ended").as_bool());

  // The host's series, selected by stream.
  auto cpu = http.Get("/api/runs/" + id + "/stream-points?metric=system/cpu_percent&stream=" + stream);
  REQUIRE(cpu.status == 200);
  auto rows = cpu.json().as_object().at("rows").as_object();
  REQUIRE(rows.at("step").as_array().size() == samples);
  for (size_t i = 0; i < samples; ++i) {
    CHECK(rows.at("step").as_array()[i].as_int64() == static_cast<int64_t>(i + 1));
    CHECK(rows.at("stream").as_array()[i].as_string() == stream);
    double v = rows.at("value").as_array()[i].to_number<double>();
    CHECK(v >= 0.0);
    CHECK(v <= 100.0);
  }
  auto not_there = http.Get("/api/runs/" + id + "/stream-points?metric=loss&stream=" + stream);
  CHECK(not_there.status == 404);
  CHECK(not_there.detail() == fmt::format("run {} has no stream '{}' with metric 'loss'", id, stream));
}
