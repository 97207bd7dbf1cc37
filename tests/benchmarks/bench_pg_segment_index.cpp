// A cold chart on a replica that never indexed the run (docs/PERFORMANCE.md "Team back end",
// issue 20's target: cold <= 300 ms, warm <= 20 ms): the run's 10^7-point series is sealed and
// published by "replica A" and recorded in the segment index (PostgreSQL 15, private, started
// here), then "replica B" (an empty store) answers a `downsample=1000` chart through
// service::s3::ObjectMetricReader: the index row (one SELECT), the segment footer and the LOD
// object by range GETs from a local Ceph RGW. Everything the HTTP handler calls, minus HTTP.
//
//   bench_pg_segment_index [--benchmark_filter=...]
//
// BM_ReplicaChart/cold: a fresh reader (and S3 client: a new connection) per query; only the
//   query is timed. /warm: the same reader again (footers and pyramid in memory; one SELECT).
#include <benchmark/benchmark.h>

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>

#include <fmt/format.h>

#include "../pg/pg_test_server.h"
#include "../s3/rgw_test_server.h"
#include "s3_bench_run.h"
#include "journal/journal_format.h"
#include "runtrack/catalog.h"
#include "runtrack/layout.h"
#include "runtrack/store.h"
#include "service/embedded_storage.h"
#ifdef RUNICORN_HAVE_PG
#include "service/pg/pg_segment_index.h"
#endif
#include "service/s3/object_metric_reader.h"
#include "service/s3/object_segment_publisher.h"
#include "service/s3/object_segment_source.h"
#include "service/s3/object_segment_store.h"
#include "service/s3/s3_client.h"
#include "service/s3/segment_index_publisher.h"

namespace {

namespace fs = std::filesystem;
using namespace runtrack;
using namespace runicorn::service::s3;

using runicorn::testing::s3_bench::kPoints;

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "bench_pg_segment_index: %s\n", what.c_str());
  std::exit(1);
}

#ifdef RUNICORN_HAVE_PG
struct Setup {
  fs::path base;
  std::string id;
  std::unique_ptr<runicorn::testing::PgTestServer> pg;
  std::shared_ptr<runicorn::service::pg::PgSegmentIndex> index;
  std::unique_ptr<runicorn::service::EmbeddedStorage> replica_b;
  bool available = false;

  Setup() {
    auto& server = runicorn::testing::RgwTestServer::Shared();
    pg = std::make_unique<runicorn::testing::PgTestServer>();
    if (!server.available() || !pg->available()) {
      std::fprintf(stderr, "no engines: %s %s\n", server.unavailable_reason().c_str(), pg->unavailable_reason().c_str());
      return;
    }
    char tmpl[] = "/tmp/runicorn-bench-segindex-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) Die("mkdtemp");
    base = tmpl;
    const fs::path a = base / "a", b = base / "b";
    fs::create_directories(a);
    fs::create_directories(b);
    (void)Store::Open(a);
    id = runicorn::testing::s3_bench::WriteLossRun(a);
    auto client = runicorn::testing::s3_bench::NewRgwClient("bench-segment-index");
    if (!client->CreateBucket().ok()) Die("create bucket");
    const std::string database = pg->NewDatabase();
    auto opened = runicorn::service::pg::PgSegmentIndex::Open(database);
    if (!opened.ok()) Die("segment index: " + opened.status().ToString());
    index = std::move(*opened);
    {
      CatalogOptions o;
      o.seal_finished_runs = false;
      auto catalog = Catalog::Open(a, o);
      if (!catalog.ok() || !(*catalog)->Refresh().ok()) Die("index");
      auto sealed = (*catalog)->SealFinishedRuns();
      if (!sealed.ok() || sealed->points_sealed != kPoints) Die("seal");
      // The run row the segment index joins (the run mirror writes it in a viewer).
      auto conn = runicorn::service::pg::PgConnection::Connect(database);
      if (!conn.ok() || !(*conn)->Exec("INSERT INTO runs (id, status, created_at, updated_at) VALUES ($1, 'finished', 0, 0)",
                                        {id}).ok())
        Die("run row");
      auto objects = std::make_shared<ObjectSegmentStore>(client);
      ObjectSegmentPublisher publisher(a, objects, [&catalog] { return (*catalog)->ListSealedObjects(); });
      auto rows = std::make_shared<SegmentIndexPublisher>(index, objects, [&catalog] { return (*catalog)->ListSealedSeries(); });
      publisher.OnConfirmed([rows](const std::vector<SealedObjectRef>& c) { return rows->Publish(c); });
      auto pushed = publisher.Push();
      if (!pushed.ok() || pushed->uploaded != 2) Die("publish: " + pushed.status().ToString());
    }
    auto storage = runicorn::service::EmbeddedStorage::Open(b);
    if (!storage.ok()) Die("replica b: " + storage.status().ToString());
    replica_b = std::move(*storage);
    available = true;
  }
  ~Setup() {
    replica_b.reset();
    std::error_code ec;
    if (!base.empty()) fs::remove_all(base, ec);
  }
};
Setup& Big() {
  static Setup setup;
  return setup;
}

std::map<std::string, double> g_ms, g_gets;

void ReplicaChart(benchmark::State& state, bool cold, const std::string& name) {
  Setup& big = Big();
  if (!big.available) {
    state.SkipWithError("PostgreSQL 15 or radosgw not installed");
    for (auto _ : state) {}
    return;
  }
  MetricQuery chart;
  chart.downsample = 1000;
  std::shared_ptr<S3Client> client;
  std::unique_ptr<ObjectMetricReader> reader;
  auto open = [&] {
    client = runicorn::testing::s3_bench::NewRgwClient("bench-segment-index");
    auto objects = std::make_shared<ObjectSegmentStore>(client);
    reader = std::make_unique<ObjectMetricReader>(*big.replica_b, *big.replica_b, big.index, objects,
                                                  std::make_shared<ObjectSegmentSource>(objects), big.replica_b->root());
  };
  open();
  if (!cold) (void)reader->QueryMetrics(big.id, chart, {});
  double total = 0;
  uint64_t gets = 0;
  for (auto _ : state) {
    if (cold) {
      state.PauseTiming();
      open();
      state.ResumeTiming();
    }
    const uint64_t before = client->counts().get;
    auto t0 = std::chrono::steady_clock::now();
    auto table = reader->QueryMetrics(big.id, chart, {});
    total += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    gets += client->counts().get - before;
    if (!table.ok() || table->points_in_range != kPoints || table->rows.steps.empty()) {
      const std::string why = table.ok() ? "wrong answer" : table.status().ToString();
      state.SkipWithError(why.c_str());
      break;
    }
  }
  g_ms[name] = total * 1e3 / static_cast<double>(state.iterations());
  g_gets[name] = static_cast<double>(gets) / static_cast<double>(state.iterations());
  state.counters["gets"] = g_gets[name];
}

void BM_ReplicaChart_cold(benchmark::State& s) { ReplicaChart(s, true, "cold"); }
void BM_ReplicaChart_warm(benchmark::State& s) { ReplicaChart(s, false, "warm"); }
BENCHMARK(BM_ReplicaChart_cold)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(10);
BENCHMARK(BM_ReplicaChart_warm)->Unit(benchmark::kMillisecond)->UseRealTime();
#endif

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
#ifdef RUNICORN_HAVE_PG
  std::printf("\nsummary: a 10^7-point chart (downsample=1000) on a replica that never indexed the run:\n"
              "  cold %.1f ms (%.1f GETs), warm %.2f ms (%.1f GETs); targets cold <= 300 ms %s, warm <= 20 ms %s\n",
              g_ms["cold"], g_gets["cold"], g_ms["warm"], g_gets["warm"], g_ms["cold"] <= 300 ? "met" : "MISSED",
              g_ms["warm"] <= 20 ? "met" : "MISSED");
#else
  std::printf("built without libpq: nothing measured\n");
#endif
  return 0;
}
