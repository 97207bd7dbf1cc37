// Exports streamed a page of rows at a time (encode/export_stream.h): any page size gives the same
// bytes, errors come before the first byte, the HTTP route sends it chunked, and memory stays at
// one page however long the run is.
#include <catch2/catch.hpp>

#include <fstream>

#include "encode/export_stream.h"
#include "server_fixture.h"

using namespace runicorn::testing;
using runicorn::encode::ExportStream;

namespace {

// The whole export, pieces concatenated; checks the stream's own row counts on the way.
std::string Drain(runicorn::server::AppContext& ctx, const std::string& run_id, ExportStream::Format format,
                  uint64_t page_rows, runicorn::service::MetricTableQuery query = {}) {
  auto stream = ExportStream::Start(*ctx.services, run_id, std::move(query), format, 1700000000.5, {}, page_rows);
  REQUIRE(stream.ok());
  std::string out;
  for (;;) {
    auto more = (*stream)->Next(out);
    REQUIRE(more.ok());
    if (!*more) break;
  }
  CHECK((*stream)->rows_written() == (*stream)->total_rows());
  return out;
}

// Peak resident memory since the last ResetPeakRss(), in KiB (Linux: VmHWM).
uint64_t PeakRssKib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stoull(line.substr(6));
  FAIL("no VmHWM in /proc/self/status");
  return 0;
}

void ResetPeakRss() {
  std::ofstream clear("/proc/self/clear_refs");
  clear << "5";  // "5": reset the peak RSS to the current RSS (Linux >= 4.0)
}

}  // namespace

TEST_CASE("an export paged a few rows at a time is byte-identical to one page", "[export][stream]") {
  TestServer server;
  const std::string id = MakeRun(server.store(), "p", "n", 57);  // val_loss at every 10th step
  server.Sync();
  for (auto format : {ExportStream::Format::kCsv, ExportStream::Format::kJson}) {
    const std::string whole = Drain(server.ctx(), id, format, 100000);
    for (uint64_t page : {1, 2, 7, 10, 56, 57, 58}) {
      INFO("page rows " << page);
      CHECK(Drain(server.ctx(), id, format, page) == whole);
    }
  }
  const std::string csv = Drain(server.ctx(), id, ExportStream::Format::kCsv, 7);
  CHECK(csv.rfind("global_step,time,accuracy,loss,val_loss,stage\n1,", 0) == 0);
  CHECK(std::count(csv.begin(), csv.end(), '\n') == 58);  // header + 57 rows
  // Step 10: accuracy 1 - 1/11, loss 1/10, val_loss 2/10 (the stage is the later-logged point's;
  // both Log calls may carry the same wall time, so it is not pinned here).
  CHECK(csv.find("\n10,") != std::string::npos);
  CHECK(csv.find(",0.9090909090909091,0.1,0.2,") != std::string::npos);
}

TEST_CASE("a paged JSON export is the API's document, every row once", "[export][stream]") {
  TestServer server;
  const std::string id = MakeRun(server.store(), "p", "n", 57);
  server.Sync();
  const std::string text = Drain(server.ctx(), id, ExportStream::Format::kJson, 5);
  // Numbers in shortest round-trip notation (Boost.JSON's default parse may be off by an ulp, so
  // exact values are checked in the text).
  CHECK(text.find(R"("global_step":11,"accuracy":0.9166666666666666,"loss":0.09090909090909091,)") !=
        std::string::npos);
  const auto doc = boost::json::parse(text).as_object();
  CHECK(doc.at("format_version").as_int64() == 1);
  CHECK(doc.at("exported_at").as_double() == 1700000000.5);
  CHECK(doc.at("run").as_object().at("id").as_string() == id);
  const auto& metrics = doc.at("metrics").as_object();
  CHECK(boost::json::serialize(metrics.at("columns")) ==
        R"(["global_step","accuracy","loss","stage","time","val_loss"])");
  const auto& rows = metrics.at("rows").as_array();
  REQUIRE(rows.size() == 57);
  for (size_t r = 0; r < rows.size(); ++r) {
    const auto& row = rows[r].as_object();
    REQUIRE(row.at("global_step").as_int64() == static_cast<int64_t>(r) + 1);
    CHECK(row.at("val_loss").is_null() == ((r + 1) % 10 != 0));
  }
  // The same rows metrics_step answers for the whole table at once.
  HttpClient client(server.port());
  auto step = client.Get("/api/runs/" + id + "/metrics_step");
  REQUIRE(step.status == 200);
  CHECK(step.json().as_object().at("rows") == metrics.at("rows"));
}

TEST_CASE("an export keeps the first page's columns and its metrics= filter", "[export][stream]") {
  TestServer server;
  const std::string id = MakeRun(server.store(), "p", "n", 25);
  server.Sync();
  runicorn::service::MetricTableQuery query;
  query.metrics = {"val_loss", "nope"};
  const std::string csv = Drain(server.ctx(), id, ExportStream::Format::kCsv, 1, query);
  CHECK(csv.rfind("global_step,time,val_loss,stage\n10,", 0) == 0);
  CHECK(std::count(csv.begin(), csv.end(), '\n') == 3);  // header + steps 10 and 20
  query.step_min = 11;
  query.step_max = 20;
  const std::string ranged = Drain(server.ctx(), id, ExportStream::Format::kCsv, 1, query);
  CHECK(std::count(ranged.begin(), ranged.end(), '\n') == 2);
  CHECK(ranged.find("\n20,") != std::string::npos);
}

TEST_CASE("an export fails before its first byte for an unknown or malformed run", "[export][stream]") {
  TestServer server;
  for (const char* id : {"20200101_000000_abcdef", "../../etc", ""}) {
    auto stream = ExportStream::Start(*server.ctx().services, id, {}, ExportStream::Format::kCsv, 0);
    REQUIRE_FALSE(stream.ok());
    CHECK(stream.status().code() == runtrack::StatusCode::kNotFound);
    CHECK(stream.status().message() == "Run not found");
  }
  HttpClient client(server.port());
  auto r = client.Get("/api/export/20200101_000000_abcdef/csv");
  CHECK(r.status == 404);
  CHECK(r.detail() == "Run not found");
  auto bad = client.Get("/api/export/20200101_000000_abcdef/json?step_range=9,1");
  CHECK(bad.status == 422);
}

TEST_CASE("GET /api/export streams the same bytes, chunked", "[export][stream]") {
  TestServer server;
  const std::string id = MakeRun(server.store(), "p", "n", 30);
  server.Sync();
  HttpClient client(server.port());
  auto csv = client.Get("/api/export/" + id + "/csv");
  REQUIRE(csv.status == 200);
  CHECK(csv.header("transfer-encoding") == "chunked");
  CHECK(csv.header("content-type") == "text/csv; charset=utf-8");
  CHECK(csv.header("content-disposition") == "attachment; filename=\"" + id + "_metrics.csv\"");
  CHECK(csv.body == Drain(server.ctx(), id, ExportStream::Format::kCsv, 3));
  auto json = client.Get("/api/export/" + id + "/json");
  REQUIRE(json.status == 200);
  CHECK(json.header("transfer-encoding") == "chunked");
  auto api = json.json().as_object();
  auto ours = boost::json::parse(Drain(server.ctx(), id, ExportStream::Format::kJson, 3)).as_object();
  api.erase("exported_at");
  ours.erase("exported_at");
  CHECK(api == ours);
}

TEST_CASE("exporting a long run holds one page, not the run, in memory", "[export][stream][memory]") {
  TestServer server;
  // 300,000 rows x 4 metrics: whole, the table alone is ~35 MB and the CSV ~25 MB more.
  runtrack::RunOptions o;
  o.project = "p";
  o.name = "long";
  auto run = server.store().CreateRun(o);
  REQUIRE(run.ok());
  constexpr int kSteps = 300'000;
  for (int s = 1; s <= kSteps; ++s)
    REQUIRE((*run)->Log({{"a", s * 0.5}, {"b", 1.0 / s}, {"c", s * 0.25}, {"d", -s * 1.5}}, s).ok());
  const std::string id = (*run)->id();
  REQUIRE((*run)->Finish().ok());
  server.Sync();
  // Warm-up: pyramids built and caches filled before the peak is measured.
  runicorn::service::MetricTableQuery warm;
  warm.downsample = 500;
  REQUIRE(server.ctx().services->metrics.QueryTable(id, warm).ok());

  ResetPeakRss();
  const uint64_t before = PeakRssKib();
  auto stream = ExportStream::Start(*server.ctx().services, id, {}, ExportStream::Format::kCsv, 0);
  REQUIRE(stream.ok());
  std::string piece;
  uint64_t bytes = 0;
  for (;;) {
    piece.clear();
    auto more = (*stream)->Next(piece);
    REQUIRE(more.ok());
    if (!*more) break;
    bytes += piece.size();
  }
  const uint64_t grown_kib = PeakRssKib() - before;
  CHECK((*stream)->rows_written() == kSteps);
  CHECK(bytes > 20u * 1024 * 1024);  // the export itself is far larger than the bound below
  INFO("peak grew by " << grown_kib << " KiB for a " << bytes << " byte export");
  CHECK(grown_kib < 16 * 1024);
}
