// Sealed segments in the catalog (docs/PERFORMANCE.md "Sealed segments in the catalog"), every
// baseline measured in the same run:
//
//   bench_segments_catalog [--benchmark_filter=...]        (as root to drop the page cache)
//
// BM_FirstChart: the first `downsample=1000` query of a 10^7-point series right after the
//   catalog is opened again (a viewer restart): `unsealed` rebuilds the pyramid from the points in
//   RocksDB (the pre-segment path), `sealed` loads the series' LOD object; `_cold` variants drop
//   the page cache first (echo 3 > /proc/sys/vm/drop_caches; counter dropped=1 when that worked).
//   Only the query is timed, not Open().
// BM_WarmChart: the same query with the pyramid in memory.
// BM_Read1M: ReadMetricSince of 10^6 points (a non-downsampled read), points/s.
// BM_Seal: sealing the 10^7-point run (read from RocksDB, encode, write segment + LOD, commit).
// BM_BytesPerPoint: a store per dataset, bytes on disk / point, everything included: journal,
//   segments, LOD objects, catalog after a full CompactRange; with the unsealed layout and
//   Runicorn's events.jsonl of the same points as reference columns.
// The summary printed at the end gives the ratios (first / warm, rebuild / LOD load).
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
#include <vector>

#include <fmt/format.h>
#include <rocksdb/db.h>

#include "journal/journal_format.h"
#include "runtrack/catalog.h"
#include "runtrack/layout.h"
#include "runtrack/store.h"

using namespace runtrack;
namespace fs = std::filesystem;

namespace {

constexpr uint64_t kBigPoints = 10'000'000;
constexpr double kStart = 1.7e9 + 12345.678;

// Writes a run's journal directly (header, start, names, points, final status), so wall times are
// what a training loop would log (1 ms apart, 20 % jitter) rather than the logging call's clock.
// The run folder is created through Store so its id and files are the real ones.
struct SeriesSpec {
  std::string name;
  std::function<double(uint64_t step, std::mt19937_64& rng)> value;
};

std::string WriteRun(const fs::path& root, const std::vector<SeriesSpec>& series, uint64_t steps) {
  std::string id;
  {
    auto store = Store::Open(root);
    auto run = (*store)->CreateRun({});
    id = (*run)->id();
    (void)(*run)->Finish();
  }
  std::ofstream out(StoreLayout(root).journal_path(id), std::ios::binary | std::ios::trunc);
  std::string buf = journal::EncodeHeader();
  journal::AppendRecord(&buf, journal::RecordType::kRunStart,
                        fmt::format(R"({{"id":"{}","project":"bench","name":"sealed","created_at":{}}})", id, kStart));
  for (size_t m = 0; m < series.size(); ++m)
    journal::AppendRecord(&buf, journal::RecordType::kName,
                          journal::EncodeName(static_cast<uint32_t>(m + 1), journal::NameKind::kMetric, series[m].name));
  journal::AppendRecord(&buf, journal::RecordType::kName, journal::EncodeName(100, journal::NameKind::kStage, "train"));
  std::mt19937_64 rng(42), values_rng(7);
  std::normal_distribution<double> jitter(0, 0.2);
  double t = kStart;
  std::string points;
  auto flush_points = [&] {
    journal::AppendRecord(&buf, journal::RecordType::kPoints, points);
    points.clear();
    out.write(buf.data(), static_cast<std::streamsize>(buf.size()));
    buf.clear();
  };
  for (uint64_t s = 1; s <= steps; ++s) {
    t += 1e-3 * (1 + jitter(rng));
    for (size_t m = 0; m < series.size(); ++m) {
      journal::PackedPoint p{static_cast<uint32_t>(m + 1), 100, static_cast<int64_t>(s), t, series[m].value(s, values_rng)};
      points.append(reinterpret_cast<const char*>(&p), sizeof p);
    }
    if (points.size() >= (1u << 20)) flush_points();
  }
  if (!points.empty()) flush_points();
  journal::AppendRecord(&buf, journal::RecordType::kStatus,
                        fmt::format(R"({{"status":"finished","ended_at":{}}})", t));
  out.write(buf.data(), static_cast<std::streamsize>(buf.size()));
  return id;
}

// The demo's curves (apps/runicorn/cli/demo.cpp TrainRun, decay 3000, final accuracy 0.9), as the
// demo logs them (float64) and rounded to float32 (what a framework's tensor.item() logs).
double DemoLoss(uint64_t s, std::mt19937_64& rng) {
  std::normal_distribution<double> noise(0, 0.02);
  return 2.3 * std::exp(-static_cast<double>(s) / 3000) + 0.05 + noise(rng) * 0.5;
}
double DemoAcc(uint64_t s, std::mt19937_64& rng) {
  std::normal_distribution<double> noise(0, 0.02);
  return 0.9 * (1 - std::exp(-static_cast<double>(s) / 3000)) + noise(rng) * 0.2;
}
double DemoLr(uint64_t s, std::mt19937_64&) { return 0.001 * std::pow(0.5, static_cast<double>(s) / 1000); }
double WhiteNoise(uint64_t, std::mt19937_64& rng) { return std::normal_distribution<double>(0, 1)(rng); }

bool DropPageCache() {
  ::sync();
  std::ofstream f("/proc/sys/vm/drop_caches");
  f << "3\n";
  f.flush();
  return f.good();
}

std::unique_ptr<Catalog> MustOpen(const fs::path& root, bool seal) {
  CatalogOptions o;
  o.seal_finished_runs = seal;
  auto c = Catalog::Open(root, o);
  if (!c.ok()) {
    fmt::print(stderr, "open catalog: {}\n", c.status().ToString());
    std::abort();
  }
  return std::move(c).value();
}

// The 10^7-point store: built once, unsealed until BM_Seal runs.
struct BigStore {
  fs::path root;
  std::string id;
  bool sealed = false;
  BigStore() {
    root = fs::temp_directory_path() / fmt::format("bench-segments-catalog-{}", ::getpid());
    fs::create_directories(root);
    (void)Store::Open(root);
    id = WriteRun(root, {{"loss", DemoLoss}}, kBigPoints);
    auto catalog = MustOpen(root, false);
    auto report = catalog->Refresh();
    if (!report.ok() || report->points_ingested != kBigPoints) std::abort();
  }
  ~BigStore() {
    std::error_code ec;
    fs::remove_all(root, ec);
  }
};
BigStore& Big() {
  static BigStore store;
  return store;
}

std::map<std::string, double> g_seconds;  // mean seconds per benchmark, for the summary

DownsampleOptions Chart() {
  DownsampleOptions o;
  o.target_points = 1000;
  return o;
}

void FirstChart(benchmark::State& state, bool cold, std::string name) {
  BigStore& big = Big();
  double total = 0;
  bool dropped = false;
  for (auto _ : state) {
    state.PauseTiming();
    std::unique_ptr<Catalog> catalog;
    if (cold) dropped = DropPageCache();
    catalog = MustOpen(big.root, false);
    state.ResumeTiming();
    auto t0 = std::chrono::steady_clock::now();
    auto r = catalog->DownsampleMetric(big.id, "loss", Chart());
    total += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!r.ok() || r->points.empty()) state.SkipWithError(r.status().ToString().c_str());
    state.PauseTiming();
    catalog.reset();
    state.ResumeTiming();
  }
  state.counters["dropped"] = dropped ? 1 : 0;
  g_seconds[name] = total / static_cast<double>(state.iterations());
}

void WarmChart(benchmark::State& state, std::string name) {
  BigStore& big = Big();
  auto catalog = MustOpen(big.root, false);
  (void)catalog->DownsampleMetric(big.id, "loss", Chart());
  double total = 0;
  for (auto _ : state) {
    auto t0 = std::chrono::steady_clock::now();
    auto r = catalog->DownsampleMetric(big.id, "loss", Chart());
    total += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    benchmark::DoNotOptimize(r);
  }
  g_seconds[name] = total / static_cast<double>(state.iterations());
}

void Read1M(benchmark::State& state, std::string name) {
  BigStore& big = Big();
  auto catalog = MustOpen(big.root, false);
  uint64_t at = 0, points = 0;
  double total = 0;
  for (auto _ : state) {
    auto t0 = std::chrono::steady_clock::now();
    auto chunk = catalog->ReadMetricSince(big.id, "loss", MetricCursor{at}, 1'000'000);
    total += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!chunk.ok() || chunk->points.size() != 1'000'000) state.SkipWithError("short read");
    points += 1'000'000;
    at = (at + 1'000'000) % kBigPoints;
  }
  state.counters["Mpts_s"] = static_cast<double>(points) / total / 1e6;
  g_seconds[name] = total / static_cast<double>(state.iterations());
}

void BM_Seal(benchmark::State& state) {
  BigStore& big = Big();
  for (auto _ : state) {
    auto catalog = MustOpen(big.root, false);
    auto t0 = std::chrono::steady_clock::now();
    auto report = catalog->SealFinishedRuns();
    g_seconds["BM_Seal"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!report.ok() || report->points_sealed != kBigPoints) state.SkipWithError("seal failed");
  }
  big.sealed = true;
}

// Bytes per point of one store, split by where they sit.
struct Footprint {
  uint64_t journal = 0, segments = 0, lod = 0, catalog = 0;
};
uint64_t CatalogBytesCompacted(const fs::path& root) {
  {
    rocksdb::DB* raw = nullptr;
    if (!rocksdb::DB::Open(rocksdb::Options(), StoreLayout(root).catalog_dir().string(), &raw).ok()) std::abort();
    std::unique_ptr<rocksdb::DB> db(raw);
    (void)db->CompactRange(rocksdb::CompactRangeOptions(), nullptr, nullptr);
  }
  uint64_t total = 0;
  for (const auto& e : fs::recursive_directory_iterator(StoreLayout(root).catalog_dir()))
    if (e.is_regular_file()) total += e.file_size();
  return total;
}
Footprint Measure(const fs::path& root) {
  Footprint f;
  for (const auto& e : fs::recursive_directory_iterator(StoreLayout(root).runs_dir())) {
    if (!e.is_regular_file()) continue;
    const std::string name = e.path().filename().string();
    if (name == "journal") f.journal += e.file_size();
    if (e.path().extension() == ".seg") f.segments += e.file_size();
    if (e.path().extension() == ".lod") f.lod += e.file_size();
  }
  f.catalog = CatalogBytesCompacted(root);
  return f;
}

// Runicorn's events.jsonl for the same points: one metrics event per step, numbers as Python's
// json.dumps prints them (shortest round trip), as its SDK writes them.
uint64_t RunicornEventsBytes(const std::vector<SeriesSpec>& series, uint64_t steps) {
  std::mt19937_64 rng(42), values_rng(7);
  std::normal_distribution<double> jitter(0, 0.2);
  double t = kStart;
  uint64_t bytes = 0;
  std::string line;
  for (uint64_t s = 1; s <= steps; ++s) {
    t += 1e-3 * (1 + jitter(rng));
    line = fmt::format(R"({{"ts": {}, "type": "metrics", "data": {{"global_step": {}, "time": {})", t, s, t);
    for (const SeriesSpec& m : series) line += fmt::format(R"(, "{}": {})", m.name, m.value(s, values_rng));
    line += ", \"stage\": \"train\"}}\n";
    bytes += line.size();
  }
  return bytes;
}

void BM_BytesPerPoint(benchmark::State& state, std::vector<SeriesSpec> series, std::string name) {
  constexpr uint64_t kSteps = 1'000'000;
  for (auto _ : state) {
    const fs::path root = fs::temp_directory_path() / fmt::format("bench-bpp-{}-{}", ::getpid(), name);
    fs::remove_all(root);
    fs::create_directories(root);
    (void)Store::Open(root);
    WriteRun(root, series, kSteps);
    {
      auto catalog = MustOpen(root, false);
      (void)catalog->Refresh();
    }
    const Footprint unsealed = Measure(root);
    {
      auto catalog = MustOpen(root, false);
      (void)catalog->SealFinishedRuns();
    }
    const Footprint sealed = Measure(root);
    const double n = static_cast<double>(kSteps * series.size());
    state.counters["journal"] = sealed.journal / n;
    state.counters["segments"] = sealed.segments / n;
    state.counters["lod"] = sealed.lod / n;
    state.counters["catalog"] = sealed.catalog / n;
    state.counters["sealed_total"] = (sealed.journal + sealed.segments + sealed.lod + sealed.catalog) / n;
    state.counters["sealed_no_journal"] = (sealed.segments + sealed.lod + sealed.catalog) / n;
    state.counters["unsealed_total"] = (unsealed.journal + unsealed.catalog) / n;
    state.counters["unsealed_catalog"] = unsealed.catalog / n;
    state.counters["runicorn_events"] = RunicornEventsBytes(series, kSteps) / n;
    fs::remove_all(root);
  }
}

std::vector<SeriesSpec> DemoCurves() { return {{"loss", DemoLoss}, {"accuracy", DemoAcc}, {"lr", DemoLr}}; }
std::vector<SeriesSpec> DemoCurvesF32() {
  auto f32 = [](double (*f)(uint64_t, std::mt19937_64&)) {
    return [f](uint64_t s, std::mt19937_64& rng) { return static_cast<double>(static_cast<float>(f(s, rng))); };
  };
  return {{"loss", f32(DemoLoss)}, {"accuracy", f32(DemoAcc)}, {"lr", DemoLr}};
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  using benchmark::RegisterBenchmark;
  // Order matters: the unsealed measurements run before BM_Seal turns the store into segments.
  RegisterBenchmark("BM_FirstChart/unsealed_cold", FirstChart, true, "BM_FirstChart/unsealed_cold")->Iterations(2)->Unit(benchmark::kMillisecond);
  RegisterBenchmark("BM_FirstChart/unsealed", FirstChart, false, "BM_FirstChart/unsealed")->Iterations(3)->Unit(benchmark::kMillisecond);
  RegisterBenchmark("BM_WarmChart/unsealed", WarmChart, "BM_WarmChart/unsealed")->Unit(benchmark::kMillisecond);
  RegisterBenchmark("BM_Read1M/unsealed", Read1M, "BM_Read1M/unsealed")->Iterations(10)->Unit(benchmark::kMillisecond);
  RegisterBenchmark("BM_Seal", BM_Seal)->Iterations(1)->Unit(benchmark::kMillisecond);
  RegisterBenchmark("BM_FirstChart/sealed_cold", FirstChart, true, "BM_FirstChart/sealed_cold")->Iterations(3)->Unit(benchmark::kMillisecond);
  RegisterBenchmark("BM_FirstChart/sealed", FirstChart, false, "BM_FirstChart/sealed")->Iterations(5)->Unit(benchmark::kMillisecond);
  RegisterBenchmark("BM_WarmChart/sealed", WarmChart, "BM_WarmChart/sealed")->Unit(benchmark::kMillisecond);
  RegisterBenchmark("BM_Read1M/sealed", Read1M, "BM_Read1M/sealed")->Iterations(10)->Unit(benchmark::kMillisecond);
  RegisterBenchmark("BM_BytesPerPoint/demo_f64", BM_BytesPerPoint, DemoCurves(), "demo_f64")->Iterations(1);
  RegisterBenchmark("BM_BytesPerPoint/demo_f32", BM_BytesPerPoint, DemoCurvesF32(), "demo_f32")->Iterations(1);
  RegisterBenchmark("BM_BytesPerPoint/white_noise", BM_BytesPerPoint,
                    std::vector<SeriesSpec>{{"noise", WhiteNoise}}, "white_noise")->Iterations(1);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();

  auto ms = [](const char* name) {
    auto it = g_seconds.find(name);
    return it == g_seconds.end() ? NAN : it->second * 1e3;
  };
  fmt::print("\nsummary (ms, mean per query)\n");
  fmt::print("  first chart after reopen: unsealed {:.1f} (cold {:.1f}), sealed {:.2f} (cold {:.2f}); target <= 50\n",
             ms("BM_FirstChart/unsealed"), ms("BM_FirstChart/unsealed_cold"), ms("BM_FirstChart/sealed"),
             ms("BM_FirstChart/sealed_cold"));
  fmt::print("  warm chart: unsealed {:.3f}, sealed {:.3f}\n", ms("BM_WarmChart/unsealed"), ms("BM_WarmChart/sealed"));
  fmt::print("  sealed first / warm: {:.1f}x (cold {:.1f}x); target <= 3x\n",
             ms("BM_FirstChart/sealed") / ms("BM_WarmChart/sealed"),
             ms("BM_FirstChart/sealed_cold") / ms("BM_WarmChart/sealed"));
  fmt::print("  first chart, rebuild from RocksDB / LOD load: {:.0f}x\n",
             ms("BM_FirstChart/unsealed") / ms("BM_FirstChart/sealed"));
  fmt::print("  read 10^6 points: unsealed {:.1f} ms, sealed {:.1f} ms\n", ms("BM_Read1M/unsealed"),
             ms("BM_Read1M/sealed"));
  fmt::print("  sealing 10^7 points: {:.0f} ms\n", ms("BM_Seal"));
  return 0;
}
