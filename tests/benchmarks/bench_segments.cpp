// Sealed segments and persisted LOD blocks: bytes per point for training curves and white noise
// against the catalog's 28-byte raw record, and decode speed against copying raw records, both
// baselines measured in the same run. Results and datasets: docs/FORMATS-segments.md.
//
//   bench_segments --benchmark_counters_tabular=true
//
// BM_Size (args data, codec, zstd level, block points; codec 0 = the writer's default per-block
// choice): `seg_B_pt`, `lod_B_pt`, `total_B_pt` = (segment + LOD object) bytes / points;
// `x_raw` = 28 / total_B_pt (how many times smaller than the catalog's records).
// BM_Decode (10^6 points, default 4096-point blocks, one ReadOrdinals over the whole range from
// memory): `Mpts_s` points decoded per second; `memcpy_Mpts_s` copying the same points as 28-byte
// raw records; `catalog_Mpts_s` decoding raw records into MetricPoints as the catalog does today;
// `x_memcpy` = decode time / memcpy time.
// BM_LodRestore: DecodeLodPyramid vs rebuilding the pyramid from the raw points (`x_rebuild`).
// Counters use this thread's CPU time, best of 5, because the machine is shared.
#include <benchmark/benchmark.h>

#include <time.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "catalog/stored_point.h"
#include "metrics/lod_pyramid.h"
#include "segments/lod_blocks.h"
#include "segments/segment_reader.h"
#include "segments/segment_writer.h"

using namespace runtrack;
using namespace runtrack::segments;

namespace {

constexpr size_t kPoints = 1'000'000;

enum Dataset : int64_t {
  kLoss = 0,         // demo loss curve, float32-valued (what a framework's .item() logs)
  kAccuracy = 1,     // demo accuracy curve, float32-valued
  kLearningRate = 2, // demo schedule 0.001 * 0.5^(s/1000), a Python float (full float64)
  kLoss64 = 3,       // the loss curve with float64 noise: every mantissa bit random
  kWhiteNoise = 4,   // N(0, 1) float64
};
const char* const kDatasetNames[] = {"loss_f32", "acc_f32", "lr_f64", "loss_f64", "white_noise"};

// Steps 1..n; wall times 1 ms apart with 20% Gaussian jitter, as double seconds since the epoch
// (time.time() style); values as in demo.cpp's TrainRun with decay 3000 and final accuracy 0.9.
std::vector<MetricPoint> MakeSeries(Dataset d, size_t n) {
  std::mt19937_64 rng(1234 + d);
  std::normal_distribution<double> noise(0, 0.02), jitter(0, 0.2), white(0, 1);
  std::vector<MetricPoint> pts(n);
  double t = 1.7e9 + 12345.678;
  for (size_t i = 0; i < n; ++i) {
    const double s = static_cast<double>(i + 1);
    t += 1e-3 * (1 + jitter(rng));
    double v = 0;
    switch (d) {
      case kLoss: v = static_cast<float>(2.3 * std::exp(-s / 3000) + 0.05 + noise(rng) * 0.5); break;
      case kAccuracy: v = static_cast<float>(0.9 * (1 - std::exp(-s / 3000)) + noise(rng) * 0.2); break;
      case kLearningRate: v = 0.001 * std::pow(0.5, s / 1000); break;
      case kLoss64: v = 2.3 * std::exp(-s / 3000) + 0.05 + noise(rng) * 0.5; break;
      case kWhiteNoise: v = white(rng); break;
    }
    pts[i] = {static_cast<int64_t>(i + 1), t, v, 1};
  }
  return pts;
}

const std::vector<MetricPoint>& Series(Dataset d) {
  static std::vector<MetricPoint> cache[5];
  if (cache[d].empty()) cache[d] = MakeSeries(d, kPoints);
  return cache[d];
}

const std::vector<std::string> kStages = {"", "train"};

constexpr int64_t kGorilla = static_cast<int64_t>(ValueCodec::kGorillaXor);
constexpr int64_t kZstd = static_cast<int64_t>(ValueCodec::kXorShuffleZstd);
constexpr int64_t kBitsDelta = static_cast<int64_t>(ValueCodec::kBitsDelta);
constexpr int64_t kSmallest = 0;  // no codec given: the writer picks the smaller per block

// CPU time of this thread, best of `reps`: the benchmark machine is shared, and wall time there
// measures the other tenants as much as the code.
double ThreadSeconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double SecondsOf(auto fn, int reps) {
  double best = 1e300;
  for (int r = 0; r < reps; ++r) {
    const double t0 = ThreadSeconds();
    fn();
    best = std::min(best, ThreadSeconds() - t0);
  }
  return best;
}

// Args: dataset, codec, zstd level, block points.
void BM_Size(benchmark::State& state) {
  const auto d = static_cast<Dataset>(state.range(0));
  SegmentWriterOptions opt;
  if (state.range(1) != kSmallest) opt.value_codec = static_cast<ValueCodec>(state.range(1));
  opt.zstd_level = static_cast<int>(state.range(2));
  opt.block_points = static_cast<uint32_t>(state.range(3));
  const std::vector<MetricPoint>& pts = Series(d);
  std::string segment;
  for (auto _ : state) {
    auto bytes = EncodeSegment({"metric", kStages, pts}, opt);
    if (!bytes.ok()) return state.SkipWithError(bytes.status().ToString().c_str());
    segment = std::move(bytes).value();
  }
  LodPyramid pyramid;
  pyramid.Append(pts);
  const std::string lod = EncodeLodPyramid(pyramid);
  const double n = static_cast<double>(pts.size());
  state.SetLabel(kDatasetNames[d]);
  state.counters["seg_B_pt"] = static_cast<double>(segment.size()) / n;
  state.counters["lod_B_pt"] = static_cast<double>(lod.size()) / n;
  state.counters["total_B_pt"] = static_cast<double>(segment.size() + lod.size()) / n;
  state.counters["x_raw"] = static_cast<double>(catalog::kStoredPointSize) * n / static_cast<double>(segment.size() + lod.size());
}

// Args: dataset, codec.
void BM_Decode(benchmark::State& state) {
  const auto d = static_cast<Dataset>(state.range(0));
  SegmentWriterOptions opt;
  if (state.range(1) != kSmallest) opt.value_codec = static_cast<ValueCodec>(state.range(1));
  const std::vector<MetricPoint>& pts = Series(d);
  auto bytes = EncodeSegment({"metric", kStages, pts}, opt);
  if (!bytes.ok()) return state.SkipWithError(bytes.status().ToString().c_str());
  auto reader = SegmentReader::Open(std::make_shared<StringByteSource>(std::move(bytes).value()));
  if (!reader.ok()) return state.SkipWithError(reader.status().ToString().c_str());
  std::vector<MetricPoint> out;
  auto decode = [&] {
    const Status s = reader->ReadOrdinals(0, pts.size(), &out);
    if (!s.ok() || out.size() != pts.size()) state.SkipWithError("decode failed");
    benchmark::DoNotOptimize(out.data());
  };
  for (auto _ : state) decode();
  // Baselines over the same points as the catalog stores them: 28-byte records.
  const std::string raw = catalog::EncodeChunk(pts);
  std::string copy(raw.size(), '\0');
  std::vector<MetricPoint> from_raw;
  const double t_decode = SecondsOf(decode, 5);
  const double t_memcpy = SecondsOf([&] {
    std::memcpy(copy.data(), raw.data(), raw.size());
    benchmark::DoNotOptimize(copy.data());
  }, 5);
  const double t_catalog = SecondsOf([&] {
    from_raw.clear();
    catalog::DecodeChunk(raw, &from_raw);
    benchmark::DoNotOptimize(from_raw.data());
  }, 5);
  const double n = static_cast<double>(pts.size());
  state.SetLabel(kDatasetNames[d]);
  state.counters["Mpts_s"] = n / t_decode / 1e6;
  state.counters["memcpy_Mpts_s"] = n / t_memcpy / 1e6;
  state.counters["catalog_Mpts_s"] = n / t_catalog / 1e6;
  state.counters["x_memcpy"] = t_decode / t_memcpy;
}

// Arg: dataset. Restoring the pyramid from LOD blocks vs rebuilding it from raw points in memory
// (the rebuild after a restart today also has to read every point from RocksDB first).
void BM_LodRestore(benchmark::State& state) {
  const auto d = static_cast<Dataset>(state.range(0));
  const std::vector<MetricPoint>& pts = Series(d);
  LodPyramid pyramid;
  pyramid.Append(pts);
  const StringByteSource lod(EncodeLodPyramid(pyramid));
  auto restore = [&] {
    auto r = DecodeLodPyramid(lod);
    if (!r.ok()) state.SkipWithError(r.status().ToString().c_str());
    benchmark::DoNotOptimize(r->count());
  };
  for (auto _ : state) restore();
  const double t_restore = SecondsOf(restore, 5);
  const double t_rebuild = SecondsOf([&] {
    LodPyramid p;
    p.Append(pts);
    benchmark::DoNotOptimize(p.count());
  }, 5);
  state.SetLabel(kDatasetNames[d]);
  state.counters["lod_KiB"] = static_cast<double>(lod.size()) / 1024;
  state.counters["restore_ms"] = t_restore * 1e3;
  state.counters["rebuild_ms"] = t_rebuild * 1e3;
  state.counters["x_rebuild"] = t_rebuild / t_restore;
}

void SizeArgs(benchmark::internal::Benchmark* b) {
  for (int64_t d : {kLoss, kAccuracy, kLearningRate, kLoss64, kWhiteNoise}) {
    b->Args({d, kGorilla, 0, 1024});
    b->Args({d, kBitsDelta, 0, 1024});
    for (int64_t level : {1, 3, 9}) b->Args({d, kZstd, level, 1024});
    b->Args({d, kZstd, 3, 4096});
    b->Args({d, kSmallest, 3, 1024});
    b->Args({d, kSmallest, 3, 4096});
  }
  b->ArgNames({"data", "codec", "zstd", "block"})->Iterations(1)->Unit(benchmark::kMillisecond);
}

void DecodeArgs(benchmark::internal::Benchmark* b) {
  for (int64_t d : {kLoss, kAccuracy, kLearningRate, kWhiteNoise}) {
    for (int64_t codec : {kGorilla, kBitsDelta, kZstd, kSmallest}) b->Args({d, codec});
  }
  b->ArgNames({"data", "codec"})->Unit(benchmark::kMillisecond);
}

}  // namespace

BENCHMARK(BM_Size)->Apply(SizeArgs);
BENCHMARK(BM_Decode)->Apply(DecodeArgs);
BENCHMARK(BM_LodRestore)->ArgName("data")->Arg(kLoss)->Arg(kWhiteNoise)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
