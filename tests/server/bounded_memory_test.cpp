// Bounded memory per connection and heavy queries off the I/O threads (reliability issue item 3):
// WebSocket clients that never read cost at most one poll's output each and are dropped after
// stream_stall_timeout; a giant non-downsampled query stops at the row cap; /api/health answers
// while giant queries run. Memory ceilings are asserted from /proc/self/status (VmHWM after a
// reset of the peak), in this process, which runs the server.
#include <atomic>
#include <fstream>
#include <future>
#include <span>
#include <thread>

#include <catch2/catch.hpp>

#include <boost/beast/core/error.hpp>

#include "server/streams.h"
#include "server_fixture.h"

using namespace runicorn;
using namespace runicorn::testing;
namespace bj = boost::json;

namespace {

// Resident memory now and at its peak since the last ResetPeakRss(), in KiB.
uint64_t StatusKib(const char* field) {
  std::ifstream status("/proc/self/status");
  std::string line;
  const std::string prefix = std::string(field) + ":";
  while (std::getline(status, line))
    if (line.rfind(prefix, 0) == 0) return std::stoull(line.substr(prefix.size()));
  FAIL("no " << field << " in /proc/self/status");
  return 0;
}
uint64_t RssKib() { return StatusKib("VmRSS"); }
uint64_t PeakRssKib() { return StatusKib("VmHWM"); }
void ResetPeakRss() {
  std::ofstream clear("/proc/self/clear_refs");
  clear << "5";  // reset the peak RSS to the current RSS (Linux >= 4.0)
}

// A viewer in this process with the server options these tests need (TestServer's are fixed).
struct Viewer {
  runtrack::testing::TempDir dir;
  std::unique_ptr<runtrack::Store> store;
  std::unique_ptr<server::AppContext> ctx;
  std::unique_ptr<server::Indexer> indexer;
  std::unique_ptr<server::Api> api;
  std::unique_ptr<server::HttpServer> http;

  explicit Viewer(const server::ServerOptions& base) {
    auto s = runtrack::Store::Open(dir.path() / "store");
    REQUIRE(s.ok());
    store = std::move(*s);
    auto c = server::AppContext::Open(store->root(), dir.path() / "config.json");
    REQUIRE(c.ok());
    ctx = std::move(*c);
    indexer = std::make_unique<server::Indexer>(*ctx, std::chrono::milliseconds(50));
    REQUIRE(indexer->Start().ok());
    server::ApiOptions a;
    a.rate_limits.enabled = false;
    api = std::make_unique<server::Api>(*ctx, a);
    server::ServerOptions o = base;
    o.port = 0;
    o.drain_timeout = std::chrono::seconds(2);
    auto h = server::HttpServer::Start(*api, o, false);
    REQUIRE(h.ok());
    http = std::move(*h);
  }
  ~Viewer() {
    http->Shutdown();
    http->Wait();
    http.reset();
    indexer->Stop();
  }
  void Sync() {
    REQUIRE(ctx->storage->catalog().Refresh().ok());
    ctx->index_generation.fetch_add(1);
  }
};

// A finished run with `steps` steps of `metrics` metrics m0, m1, ...
std::string BigRun(runtrack::Store& store, int64_t steps, int metrics) {
  runtrack::RunOptions o;
  o.project = "p";
  o.name = "big";
  auto run = store.CreateRun(o);
  REQUIRE(run.ok());
  std::vector<std::string> names;
  for (int m = 0; m < metrics; ++m) names.push_back("m" + std::to_string(m));
  std::vector<runtrack::MetricValue> row;
  for (const auto& name : names) row.emplace_back(name, 0.0);
  for (int64_t step = 0; step < steps; ++step) {
    for (int m = 0; m < metrics; ++m) row[static_cast<size_t>(m)].second = 0.001 * static_cast<double>(step + m);
    REQUIRE((*run)->Log(std::span<const runtrack::MetricValue>(row), step).ok());
  }
  std::string id = (*run)->id();
  REQUIRE((*run)->Finish().ok());
  return id;
}

}  // namespace

TEST_CASE("ten WebSocket clients that never read hold one bounded batch each and are dropped",
          "[server][bounded_memory][websocket]") {
  server::ServerOptions options;
  options.stream_poll = std::chrono::milliseconds(20);
  options.stream_stall_timeout = std::chrono::seconds(2);
  Viewer v(options);
  // A backlog of 300k points (about 15 MB as stream JSON) that every client asks for from step 0.
  runtrack::RunOptions o;
  o.project = "p";
  auto run = v.store->CreateRun(o);
  REQUIRE(run.ok());
  constexpr int64_t kBacklog = 300000;
  for (int64_t step = 0; step < kBacklog; ++step) REQUIRE((*run)->Log(step, "loss", 0.5).ok());
  REQUIRE((*run)->Flush().ok());
  v.Sync();

  const uint64_t before_kib = RssKib();
  ResetPeakRss();
  std::vector<std::unique_ptr<WsClient>> clients;
  for (int i = 0; i < 10; ++i)
    clients.push_back(std::make_unique<WsClient>(
        v.http->port(), "/api/runs/" + (*run)->id() + "/metrics/ws?metrics=loss&after_step=-1"));
  // The run keeps growing while nobody reads.
  for (int64_t step = kBacklog; step < kBacklog + 20000; ++step) {
    REQUIRE((*run)->Log(step, "loss", 0.25).ok());
    if (step % 2000 == 0) REQUIRE((*run)->Flush().ok());
  }
  REQUIRE((*run)->Flush().ok());
  // Long enough for every session to fill its client's socket buffers and stall past
  // stream_stall_timeout; a wait, not a timing assertion.
  std::this_thread::sleep_for(std::chrono::seconds(5));
  const uint64_t peak_kib = PeakRssKib();
  INFO("RSS before " << before_kib << " KiB, peak with 10 stalled clients " << peak_kib << " KiB");
  // Unbounded, each session would hold its client's whole 300k-point backlog as one ~15 MB
  // message (150 MB for ten, more while encoding); bounded, one 10000-point batch (~0.5 MB) each.
  CHECK(peak_kib < before_kib + 48 * 1024);

  // Every stalled client was dropped: reading now yields what sat in the socket buffers, then
  // the end of the connection — not the rest of the backlog, not a timeout.
  for (auto& c : clients) {
    uint64_t points = 0;
    while (auto m = c->Next(std::chrono::seconds(10))) {
      auto msg = bj::parse(*m).as_object();
      REQUIRE(msg.at("type").as_string() == "points");
      const uint64_t n = msg.at("steps").as_array().size();
      CHECK(n <= server::kMaxPointsPerPoll);
      points += n;
    }
    INFO("points received before the drop: " << points << "; ended by: " << c->last_error.message());
    CHECK(c->last_error != boost::beast::error::timeout);
    CHECK(points < static_cast<uint64_t>(kBacklog));
  }
  REQUIRE((*run)->Finish().ok());
}

TEST_CASE("a metrics stream hands a long backlog out in bounded batches, in order and complete",
          "[server][bounded_memory][websocket]") {
  server::ServerOptions options;
  options.stream_poll = std::chrono::milliseconds(20);
  Viewer v(options);
  const std::string id = BigRun(*v.store, 25000, 2);  // 50000 points: five full polls
  v.Sync();
  WsClient c(v.http->port(), "/api/runs/" + id + "/metrics/ws?after_step=-1");
  std::map<std::string, int64_t> next_step{{"m0", 0}, {"m1", 0}};
  uint64_t messages = 0;
  while (next_step["m0"] < 25000 || next_step["m1"] < 25000) {
    auto m = c.Next(std::chrono::seconds(10));
    REQUIRE(m.has_value());
    ++messages;
    auto msg = bj::parse(*m).as_object();
    std::string metric(msg.at("metric").as_string());
    const auto& steps = msg.at("steps").as_array();
    REQUIRE(steps.size() <= server::kMaxPointsPerPoll);
    for (const auto& s : steps) CHECK(s.as_int64() == next_step[metric]++);
  }
  CHECK(next_step["m0"] == 25000);
  CHECK(next_step["m1"] == 25000);
  CHECK(messages >= 5);  // 50000 points at most 10000 per poll
  c.Close();
}

TEST_CASE("a giant non-downsampled query stops at the row cap within a memory ceiling",
          "[server][bounded_memory][heavy]") {
  Viewer v(server::ServerOptions{});
  const std::string id = BigRun(*v.store, 250000, 4);  // 1M points
  v.Sync();
  HttpClient c(v.http->port());
  const uint64_t before_kib = RssKib();
  ResetPeakRss();
  auto r = c.Get("/api/runs/" + id + "/metrics_step");
  const uint64_t peak_kib = PeakRssKib();
  REQUIRE(r.status == 200);
  CHECK(r.header("x-row-count") == "100000");
  auto body = r.json().as_object();
  CHECK(body.at("truncated").as_bool());
  CHECK(body.at("next_step").as_int64() == 100000);
  INFO("RSS before " << before_kib << " KiB, peak " << peak_kib << " KiB, body " << r.body.size() << " bytes");
  // The 100k-row page is ~10 MB of JSON, held by the server and by this client at once; the whole
  // table (250k rows) would be 2.5 times that.
  CHECK(peak_kib < before_kib + 96 * 1024);
}

TEST_CASE("health answers while giant queries are computed off the I/O thread", "[server][bounded_memory][heavy]") {
  server::ServerOptions options;
  options.threads = 1;        // one I/O thread: a query computed on it would hold up everything
  options.heavy_threads = 2;
  Viewer v(options);
  const std::string id = BigRun(*v.store, 250000, 4);
  v.Sync();

  // Many more giant queries than heavy workers: the pool works through them two at a time, so
  // they take many query-times in all, whatever one query costs on this machine (sealed runs
  // made a single query fast enough to finish before a fixed delay).
  constexpr int kQueries = 16;
  std::atomic<int> queries_done{0};
  std::vector<std::future<unsigned>> queries;
  for (int i = 0; i < kQueries; ++i)
    queries.push_back(std::async(std::launch::async, [&] {
      HttpClient q(v.http->port());
      auto r = q.Get("/api/runs/" + id + "/metrics_step");
      queries_done.fetch_add(1);
      return r.status;
    }));
  // Health is asked once the queries were sent.
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  HttpClient c(v.http->port());
  auto h = c.Get("/api/health");
  const int done_at_health = queries_done.load();
  CHECK(h.status == 200);
  // Ordering, not timing: had the one I/O thread computed the queries, health (read after all of
  // them) would have waited for every one; off the I/O thread it comes back while most still run.
  CHECK(done_at_health < kQueries / 2);
  for (auto& q : queries) CHECK(q.get() == 200);
  CHECK(queries_done.load() == kQueries);
}
