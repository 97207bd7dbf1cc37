// A chart of a 10^7-point series from the bucket (docs/PERFORMANCE.md "S3 object store", issue
// 20's target: cold <= 300 ms, warm <= 20 ms), against the same chart from local segment files in
// the same run. A local Ceph RGW over loopback (started here like tests/s3 does).
//
//   bench_s3_segments [--benchmark_filter=...]
//
// One finished run with one 10^7-point series ("loss", the demo's curve) is sealed and published
// with ObjectSegmentPublisher; a copy of the store without its segments/ folders stands for a
// replica (or an evicted store) that has the catalog entries but not the files.
// BM_Chart/local_cold, /bucket_cold: the first `downsample=1000` DownsampleMetric of the series
//   after the catalog is opened (fresh catalog, fresh readers; bucket: a fresh S3 client too, so a
//   new connection); only the query is timed.
// BM_Chart/local_warm, /bucket_warm: the same query again (pyramid in memory).
// BM_WholeSegmentGet: GETting the whole segment object, what fetch-and-cache would cost before
//   the first chart (the alternative to range reads).
// The summary gives the ratios, requests and bytes per cold chart.
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

#include "../s3/rgw_test_server.h"
#include "s3_bench_run.h"
#include "journal/journal_format.h"
#include "runtrack/catalog.h"
#include "runtrack/layout.h"
#include "runtrack/store.h"
#include "service/s3/object_segment_publisher.h"
#include "service/s3/object_segment_source.h"
#include "service/s3/object_segment_store.h"
#include "service/s3/s3_client.h"

namespace {

namespace fs = std::filesystem;
using namespace runtrack;
using namespace runicorn::service::s3;

using runicorn::testing::s3_bench::kPoints;

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "bench_s3_segments: %s\n", what.c_str());
  std::exit(1);
}

std::unique_ptr<Catalog> OpenCatalog(const fs::path& root, std::shared_ptr<const SealedObjectSource> objects) {
  CatalogOptions o;
  o.seal_finished_runs = false;
  o.sealed_objects = std::move(objects);
  auto c = Catalog::Open(root, o);
  if (!c.ok()) Die("open catalog: " + c.status().ToString());
  return std::move(c).value();
}

// The sealed, published store (`local`) and its copy without segment files (`remote`).
struct Setup {
  fs::path base, local, remote;
  std::string id;
  SealedObjectRef ref;
  bool available = false;

  Setup() {
    auto& server = runicorn::testing::RgwTestServer::Shared();
    if (!server.available()) {
      std::fprintf(stderr, "no gateway: %s\n", server.unavailable_reason().c_str());
      return;
    }
    std::fprintf(stderr, "Ceph RGW started in %.1f s\n", server.startup_seconds());
    char tmpl[] = "/tmp/runicorn-bench-s3seg-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) Die("mkdtemp");
    base = tmpl;
    local = base / "local";
    remote = base / "remote";
    fs::create_directories(local);
    (void)Store::Open(local);
    id = runicorn::testing::s3_bench::WriteLossRun(local);
    auto client = runicorn::testing::s3_bench::NewRgwClient("bench-segments");
    if (!client->CreateBucket().ok()) Die("create bucket");
    {
      auto catalog = OpenCatalog(local, nullptr);
      auto indexed = catalog->Refresh();
      if (!indexed.ok() || indexed->points_ingested != kPoints) Die("index");
      auto sealed = catalog->SealFinishedRuns();
      if (!sealed.ok() || sealed->points_sealed != kPoints) Die("seal");
      auto refs = catalog->ListSealedObjects();
      if (!refs.ok() || refs->size() != 1) Die("list sealed");
      ref = refs->front();
      ObjectSegmentPublisher publisher(local, std::make_shared<ObjectSegmentStore>(client),
                                       [&catalog] { return catalog->ListSealedObjects(); });
      auto t0 = std::chrono::steady_clock::now();
      auto pushed = publisher.Push();
      if (!pushed.ok() || pushed->uploaded != 2) Die("publish: " + pushed.status().ToString());
      std::fprintf(stderr, "published segment %llu B + LOD %llu B in %.2f s (verify + PUT)\n",
                   static_cast<unsigned long long>(ref.segment_size), static_cast<unsigned long long>(ref.lod_size),
                   std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    fs::copy(local, remote, fs::copy_options::recursive);
    fs::remove_all(StoreLayout(remote).segments_dir(id));
    available = true;
  }
  ~Setup() {
    std::error_code ec;
    if (!base.empty()) fs::remove_all(base, ec);
  }
};
Setup& Big() {
  static Setup setup;
  return setup;
}

DownsampleOptions Chart() {
  DownsampleOptions o;
  o.target_points = 1000;
  return o;
}

std::map<std::string, double> g_seconds;
std::map<std::string, double> g_requests;

// from_bucket: the replica's copy with the bucket as source; cold: a fresh catalog each query.
void ChartBench(benchmark::State& state, bool from_bucket, bool cold, const std::string& name) {
  Setup& big = Big();
  if (!big.available) {
    state.SkipWithError("radosgw not installed");
    for (auto _ : state) {}
    return;
  }
  std::shared_ptr<S3Client> client;
  std::unique_ptr<Catalog> catalog;
  auto open = [&] {
    catalog.reset();
    client = runicorn::testing::s3_bench::NewRgwClient("bench-segments");
    catalog = OpenCatalog(from_bucket ? big.remote : big.local,
                          from_bucket ? std::make_shared<ObjectSegmentSource>(std::make_shared<ObjectSegmentStore>(client))
                                      : nullptr);
  };
  open();
  if (!cold) (void)catalog->DownsampleMetric(big.id, "loss", Chart());
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
    auto r = catalog->DownsampleMetric(big.id, "loss", Chart());
    total += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    gets += client->counts().get - before;
    if (!r.ok() || r->points.empty() || r->points_in_range != kPoints) {
      const std::string why = r.ok() ? fmt::format("wrong answer: {} points of {}", r->points.size(), r->points_in_range)
                                     : r.status().ToString();
      std::fprintf(stderr, "%s: %s\n", name.c_str(), why.c_str());
      state.SkipWithError(why.c_str());
      break;
    }
  }
  catalog.reset();  // after the loop: not timed
  g_seconds[name] = total / static_cast<double>(state.iterations());
  g_requests[name] = static_cast<double>(gets) / static_cast<double>(state.iterations());
  state.counters["gets"] = g_requests[name];
}

void BM_Chart_local_cold(benchmark::State& s) { ChartBench(s, false, true, "local_cold"); }
void BM_Chart_bucket_cold(benchmark::State& s) { ChartBench(s, true, true, "bucket_cold"); }
void BM_Chart_local_warm(benchmark::State& s) { ChartBench(s, false, false, "local_warm"); }
void BM_Chart_bucket_warm(benchmark::State& s) { ChartBench(s, true, false, "bucket_warm"); }
BENCHMARK(BM_Chart_local_cold)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(10);
BENCHMARK(BM_Chart_bucket_cold)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(10);
BENCHMARK(BM_Chart_local_warm)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Chart_bucket_warm)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_WholeSegmentGet(benchmark::State& state) {
  Setup& big = Big();
  if (!big.available) {
    state.SkipWithError("radosgw not installed");
    for (auto _ : state) {}
    return;
  }
  auto client = runicorn::testing::s3_bench::NewRgwClient("bench-segments");
  ObjectSegmentStore segments(client);
  double total = 0;
  for (auto _ : state) {
    auto t0 = std::chrono::steady_clock::now();
    auto bytes = client->GetObject(segments.KeyOf(big.ref, SealedObjectKind::kSegment));
    total += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!bytes.ok() || bytes->size() != big.ref.segment_size) state.SkipWithError("get failed");
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * big.ref.segment_size));
  g_seconds["whole_segment_get"] = total / static_cast<double>(state.iterations());
}
BENCHMARK(BM_WholeSegmentGet)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(5);

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  auto ms = [](const char* k) { return g_seconds.count(k) ? g_seconds[k] * 1e3 : 0.0; };
  std::printf("\nsummary (mean per query):\n");
  std::printf("  cold chart: bucket %.1f ms (%.1f GETs) vs local files %.1f ms: x%.1f\n", ms("bucket_cold"),
              g_requests["bucket_cold"], ms("local_cold"), ms("local_cold") > 0 ? ms("bucket_cold") / ms("local_cold") : 0);
  std::printf("  warm chart: bucket %.2f ms (%.2f GETs) vs local files %.2f ms: x%.1f\n", ms("bucket_warm"),
              g_requests["bucket_warm"], ms("local_warm"), ms("local_warm") > 0 ? ms("bucket_warm") / ms("local_warm") : 0);
  std::printf("  whole segment GET (fetch-and-cache's first step): %.1f ms = x%.1f the cold range-read chart\n",
              ms("whole_segment_get"), ms("bucket_cold") > 0 ? ms("whole_segment_get") / ms("bucket_cold") : 0);
  auto verdict = [&](const char* k, double limit) { return ms(k) <= 0 ? "not measured" : ms(k) <= limit ? "met" : "MISSED"; };
  std::printf("  targets: cold <= 300 ms %s, warm <= 20 ms %s\n", verdict("bucket_cold", 300), verdict("bucket_warm", 20));
  return 0;
}
