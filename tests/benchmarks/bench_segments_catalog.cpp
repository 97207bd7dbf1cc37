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
//   `sealed_split`: a 1-point chart first (the LOD object's open), then the 1000-point chart.
// BM_WarmChart: the same query with the pyramid in memory.
// BM_LodChart: the LOD part of a first chart alone, without the catalog: open the series' LOD
//   object from its file (OpenLodPyramid: trailer, footer, coarse levels) and answer the same
//   query, then answer it again (`_warm`); `raw_levels` is the default encoding (levels >= 1 as
//   raw records), `all_zstd` the same pyramid with every level compressed (what storing level 1 raw
//   buys, and what it costs in bytes: counter lod_bytes).
// BM_Read1M: ReadMetricSince of 10^6 points (a non-downsampled read), points/s.
// BM_Seal: sealing the 10^7-point run (read from RocksDB, encode, write segment + LOD, commit).
// BM_BytesPerPoint: a store per dataset, bytes on disk / point, everything included: journal,
//   segments, LOD objects, catalog after a full CompactRange; with the unsealed layout and
//   Runicorn's events.jsonl of the same points as reference columns.
// The summary printed at the end gives the ratios (first / warm, rebuild / LOD load).
#include <benchmark/benchmark.h>

#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <rocksdb/db.h>

#include "journal/journal_format.h"
#include "metrics/downsample.h"
#include "segments/byte_source.h"
#include "segments/lod_blocks.h"
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

// The demo's curves (apps/runicorn/cli/demo.cpp TrainRun, decay 3000, final accuracy 0.9) before
// rounding: loss and accuracy with float64 noise in every mantissa bit, and a continuous float64
// learning-rate schedule. DemoCurves() below rounds and schedules them exactly as the demo logs
// them; Float64Curves() keeps them as they are, the hard case.
double DemoLoss(uint64_t s, std::mt19937_64& rng) {
  std::normal_distribution<double> noise(0, 0.02);
  return 2.3 * std::exp(-static_cast<double>(s) / 3000) + 0.05 + noise(rng) * 0.5;
}
double DemoAcc(uint64_t s, std::mt19937_64& rng) {
  std::normal_distribution<double> noise(0, 0.02);
  return 0.9 * (1 - std::exp(-static_cast<double>(s) / 3000)) + noise(rng) * 0.2;
}
double ContinuousLr(uint64_t s, std::mt19937_64&) { return 0.001 * std::pow(0.5, static_cast<double>(s) / 1000); }
// The demo's schedule: halved every 1000 steps (integer division, as demo.cpp writes it).
double DemoLr(uint64_t s, std::mt19937_64&) { return 0.001 * std::pow(0.5, static_cast<double>(s / 1000)); }
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
// Mean CPU seconds of the querying thread per benchmark: on a shared machine wall times of
// sub-millisecond queries mostly measure the scheduler, so the summary gives both ratios.
std::map<std::string, double> g_cpu_seconds;

// Minor page faults of the process so far (fresh memory touched for the first time).
double MinorFaults() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_minflt);
}

double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

DownsampleOptions Chart() {
  DownsampleOptions o;
  o.target_points = 1000;
  return o;
}

void FirstChart(benchmark::State& state, bool cold, std::string name) {
  BigStore& big = Big();
  double total = 0, cpu = 0, faults = 0;
  bool dropped = false;
  for (auto _ : state) {
    state.PauseTiming();
    std::unique_ptr<Catalog> catalog;
    if (cold) dropped = DropPageCache();
    catalog = MustOpen(big.root, false);
    state.ResumeTiming();
    const double c0 = ThreadCpuSeconds(), f0 = MinorFaults();
    auto t0 = std::chrono::steady_clock::now();
    auto r = catalog->DownsampleMetric(big.id, "loss", Chart());
    total += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    cpu += ThreadCpuSeconds() - c0;
    faults += MinorFaults() - f0;
    if (!r.ok() || r->points.empty()) state.SkipWithError(r.status().ToString().c_str());
    state.PauseTiming();
    catalog.reset();
    state.ResumeTiming();
  }
  state.counters["dropped"] = dropped ? 1 : 0;
  state.counters["page_faults"] = faults / static_cast<double>(state.iterations());
  g_seconds[name] = total / static_cast<double>(state.iterations());
  g_cpu_seconds[name] = cpu / static_cast<double>(state.iterations());
}

// The first chart split in two, thread CPU: a 1-point chart first (opens the LOD object, reads its
// coarse levels, answers from the top level), then the 1000-point chart (loads level 1).
void FirstChartSplit(benchmark::State& state, std::string name) {
  BigStore& big = Big();
  double open_cpu = 0, chart_cpu = 0;
  DownsampleOptions one = Chart();
  one.target_points = 1;
  for (auto _ : state) {
    state.PauseTiming();
    auto catalog = MustOpen(big.root, false);
    state.ResumeTiming();
    const double c0 = ThreadCpuSeconds();
    auto r1 = catalog->DownsampleMetric(big.id, "loss", one);
    const double c1 = ThreadCpuSeconds();
    auto r2 = catalog->DownsampleMetric(big.id, "loss", Chart());
    const double c2 = ThreadCpuSeconds();
    if (!r1.ok() || !r2.ok()) state.SkipWithError("query failed");
    open_cpu += c1 - c0;
    chart_cpu += c2 - c1;
    state.PauseTiming();
    catalog.reset();
    state.ResumeTiming();
  }
  g_cpu_seconds[name + "_open"] = open_cpu / static_cast<double>(state.iterations());
  g_cpu_seconds[name + "_chart"] = chart_cpu / static_cast<double>(state.iterations());
}

void WarmChart(benchmark::State& state, std::string name) {
  BigStore& big = Big();
  auto catalog = MustOpen(big.root, false);
  (void)catalog->DownsampleMetric(big.id, "loss", Chart());
  double total = 0;
  const double c0 = ThreadCpuSeconds();
  for (auto _ : state) {
    auto t0 = std::chrono::steady_clock::now();
    auto r = catalog->DownsampleMetric(big.id, "loss", Chart());
    total += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    benchmark::DoNotOptimize(r);
  }
  g_seconds[name] = total / static_cast<double>(state.iterations());
  g_cpu_seconds[name] = (ThreadCpuSeconds() - c0) / static_cast<double>(state.iterations());
}

void LodChart(benchmark::State& state, bool raw_levels, std::string name) {
  BigStore& big = Big();
  fs::path sealed_lod;
  for (const auto& e : fs::recursive_directory_iterator(StoreLayout(big.root).run_dir(big.id)))
    if (e.path().extension() == ".lod") sealed_lod = e.path();
  auto sealed_source = segments::FileByteSource::Open(sealed_lod);
  if (!sealed_source.ok()) return state.SkipWithError("no LOD object: run BM_Seal first");
  auto pyramid = segments::DecodeLodPyramid(**sealed_source);
  if (!pyramid.ok()) return state.SkipWithError(pyramid.status().ToString().c_str());
  segments::LodEncodeOptions options;
  if (!raw_levels) options.raw_from_level = segments::kMaxLodLevels;
  const fs::path path = big.root / (raw_levels ? "bench-raw-levels.lod" : "bench-all-zstd.lod");
  {
    const std::string bytes = segments::EncodeLodPyramid(*pyramid, options);
    std::ofstream(path, std::ios::binary | std::ios::trunc).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  // A whole-series chart reads no raw point; a call would be a regression worth seeing.
  const RawPointReader no_raw = [](uint64_t b, uint64_t e, std::vector<MetricPoint>*) {
    return b == e ? Status::Ok() : Status::Internal("the whole-series chart read raw points");
  };
  double first = 0, warm = 0, first_cpu = 0, warm_cpu = 0, faults = 0;
  for (auto _ : state) {
    const double c0 = ThreadCpuSeconds(), f0 = MinorFaults();
    auto t0 = std::chrono::steady_clock::now();
    auto file = segments::FileByteSource::Open(path);
    if (!file.ok()) return state.SkipWithError(file.status().ToString().c_str());
    auto lazy = segments::OpenLodPyramid(std::shared_ptr<const segments::ByteSource>(std::move(file).value()), nullptr);
    if (!lazy.ok()) return state.SkipWithError(lazy.status().ToString().c_str());
    auto r = Downsample(*lazy, no_raw, Chart());
    auto t1 = std::chrono::steady_clock::now();
    const double c1 = ThreadCpuSeconds();
    faults += MinorFaults() - f0;
    auto again = Downsample(*lazy, no_raw, Chart());
    auto t2 = std::chrono::steady_clock::now();
    const double c2 = ThreadCpuSeconds();
    first_cpu += c1 - c0;
    warm_cpu += c2 - c1;
    if (!r.ok() || !again.ok()) return state.SkipWithError(r.status().ToString().c_str());
    benchmark::DoNotOptimize(again);
    first += std::chrono::duration<double>(t1 - t0).count();
    warm += std::chrono::duration<double>(t2 - t1).count();
  }
  state.counters["lod_bytes_per_point"] = static_cast<double>(fs::file_size(path)) / kBigPoints;
  state.counters["page_faults"] = faults / static_cast<double>(state.iterations());
  g_seconds[name] = first / static_cast<double>(state.iterations());
  g_seconds[name + "_warm"] = warm / static_cast<double>(state.iterations());
  g_cpu_seconds[name] = first_cpu / static_cast<double>(state.iterations());
  g_cpu_seconds[name + "_warm"] = warm_cpu / static_cast<double>(state.iterations());
  fs::remove(path);
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
    {
      // Journal compaction (docs/FORMATS.md "Compacted journal"), without waiting for the default
      // 10-minute quiet period: the journal keeps everything but the points.
      CatalogOptions o;
      o.seal_finished_runs = false;
      o.journal_compaction_delay = std::chrono::seconds(0);
      auto catalog = Catalog::Open(root, o);
      auto report = catalog.ok() ? catalog.value()->SealFinishedRuns() : Result<SealReport>(catalog.status());
      if (!report.ok() || report->journals_compacted != 1) return state.SkipWithError("compaction failed");
    }
    const Footprint compacted = Measure(root);
    const double n = static_cast<double>(kSteps * series.size());
    state.counters["compacted_journal"] = compacted.journal / n;
    state.counters["compacted_total"] = (compacted.journal + compacted.segments + compacted.lod + compacted.catalog) / n;
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

// As apps/runicorn/cli/demo.cpp logs them: loss and accuracy rounded to float32, the stepped lr.
std::vector<SeriesSpec> DemoCurves() {
  auto f32 = [](double (*f)(uint64_t, std::mt19937_64&)) {
    return [f](uint64_t s, std::mt19937_64& rng) { return static_cast<double>(static_cast<float>(f(s, rng))); };
  };
  return {{"loss", f32(DemoLoss)}, {"accuracy", f32(DemoAcc)}, {"lr", DemoLr}};
}
// The hard case: float64 noise in every mantissa bit and a continuous float64 schedule.
std::vector<SeriesSpec> Float64Curves() { return {{"loss", DemoLoss}, {"accuracy", DemoAcc}, {"lr", ContinuousLr}}; }

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
  // 20 reopens each: a sub-millisecond first query on a shared machine needs them for a stable mean.
  RegisterBenchmark("BM_FirstChart/sealed", FirstChart, false, "BM_FirstChart/sealed")->Iterations(20)->Unit(benchmark::kMillisecond);
  RegisterBenchmark("BM_FirstChart/sealed_split", FirstChartSplit, "BM_FirstChart/sealed_split")->Iterations(20)->Unit(benchmark::kMillisecond);
  RegisterBenchmark("BM_WarmChart/sealed", WarmChart, "BM_WarmChart/sealed")->Unit(benchmark::kMillisecond);
  RegisterBenchmark("BM_LodChart/raw_levels", LodChart, true, "BM_LodChart/raw_levels")->Iterations(20)->Unit(benchmark::kMillisecond);
  RegisterBenchmark("BM_LodChart/all_zstd", LodChart, false, "BM_LodChart/all_zstd")->Iterations(20)->Unit(benchmark::kMillisecond);
  RegisterBenchmark("BM_Read1M/sealed", Read1M, "BM_Read1M/sealed")->Iterations(10)->Unit(benchmark::kMillisecond);
  RegisterBenchmark("BM_BytesPerPoint/demo", BM_BytesPerPoint, DemoCurves(), "demo")->Iterations(1);
  RegisterBenchmark("BM_BytesPerPoint/float64_curves", BM_BytesPerPoint, Float64Curves(), "float64_curves")->Iterations(1);
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
  auto cpu_ms = [](const std::string& name) {
    auto it = g_cpu_seconds.find(name);
    return it == g_cpu_seconds.end() ? NAN : it->second * 1e3;
  };
  fmt::print("  thread CPU: sealed first {:.3f} (cold {:.3f}), warm {:.3f}: first / warm {:.1f}x (cold {:.1f}x)\n",
             cpu_ms("BM_FirstChart/sealed"), cpu_ms("BM_FirstChart/sealed_cold"), cpu_ms("BM_WarmChart/sealed"),
             cpu_ms("BM_FirstChart/sealed") / cpu_ms("BM_WarmChart/sealed"),
             cpu_ms("BM_FirstChart/sealed_cold") / cpu_ms("BM_WarmChart/sealed"));
  fmt::print("  thread CPU, first chart split: 1-point chart (LOD open) {:.3f}, then the 1000-point chart {:.3f}\n",
             cpu_ms("BM_FirstChart/sealed_split_open"), cpu_ms("BM_FirstChart/sealed_split_chart"));
  fmt::print("  LOD alone, thread CPU, first / second query: levels >= 1 raw {:.3f} / {:.3f} ({:.1f}x), all zstd {:.3f} / {:.3f} ({:.1f}x)\n",
             cpu_ms("BM_LodChart/raw_levels"), cpu_ms("BM_LodChart/raw_levels_warm"),
             cpu_ms("BM_LodChart/raw_levels") / cpu_ms("BM_LodChart/raw_levels_warm"), cpu_ms("BM_LodChart/all_zstd"),
             cpu_ms("BM_LodChart/all_zstd_warm"), cpu_ms("BM_LodChart/all_zstd") / cpu_ms("BM_LodChart/all_zstd_warm"));
  fmt::print("  LOD alone, first / second query: levels >= 1 raw {:.3f} / {:.3f} ({:.1f}x), all zstd {:.3f} / {:.3f} ({:.1f}x)\n",
             ms("BM_LodChart/raw_levels"), ms("BM_LodChart/raw_levels_warm"),
             ms("BM_LodChart/raw_levels") / ms("BM_LodChart/raw_levels_warm"), ms("BM_LodChart/all_zstd"),
             ms("BM_LodChart/all_zstd_warm"), ms("BM_LodChart/all_zstd") / ms("BM_LodChart/all_zstd_warm"));
  fmt::print("  first chart, rebuild from RocksDB / LOD load: {:.0f}x\n",
             ms("BM_FirstChart/unsealed") / ms("BM_FirstChart/sealed"));
  fmt::print("  read 10^6 points: unsealed {:.1f} ms, sealed {:.1f} ms\n", ms("BM_Read1M/unsealed"),
             ms("BM_Read1M/sealed"));
  fmt::print("  sealing 10^7 points: {:.0f} ms\n", ms("BM_Seal"));
  return 0;
}
