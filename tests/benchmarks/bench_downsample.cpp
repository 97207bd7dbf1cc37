// Downsampling query cost vs series length, against a naive full-scan LTTB baseline measured in the
// same run, and the ingest overhead of maintaining the LOD pyramid.
//
//   bench_downsample --benchmark_counters_tabular=true
//
// Counters: `x_naive` = naive full-scan LTTB time / this query's time (higher is better);
// `overhead` = (vector + pyramid ingest) / (vector-only ingest) - 1, both timed in the same run.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cmath>
#include <map>
#include <memory>
#include <random>
#include <vector>

#include "metrics/downsample.h"
#include "metrics/lod_pyramid.h"
#include "metrics/lttb.h"

using namespace runtrack;

namespace {

struct Series {
  std::vector<MetricPoint> raw;
  LodPyramid pyramid;
  RawPointReader Reader() const {
    return [this](uint64_t b, uint64_t e, std::vector<MetricPoint>* out) {
      out->assign(raw.begin() + static_cast<std::ptrdiff_t>(b), raw.begin() + static_cast<std::ptrdiff_t>(e));
      return Status::Ok();
    };
  }
};

std::vector<MetricPoint> MakePoints(size_t len) {
  std::mt19937_64 rng(42);
  std::normal_distribution<double> noise(0.0, 1.0);
  std::vector<MetricPoint> pts(len);
  double v = 0;
  for (size_t i = 0; i < len; ++i) {
    v += noise(rng);  // random walk: a loss-curve-like signal with structure at every scale
    pts[i] = {static_cast<int64_t>(i), 1.7e9 + 0.05 * double(i), v, 0};
  }
  return pts;
}

// One series per length, built once; only the most recent length is kept to bound memory.
const Series& GetSeries(size_t len) {
  static std::unique_ptr<Series> cached;
  if (!cached || cached->raw.size() != len) {
    cached.reset();
    cached = std::make_unique<Series>();
    cached->raw = MakePoints(len);
    cached->pyramid.Append(cached->raw);
  }
  return *cached;
}

// The Runicorn way: read every point in range, then textbook LTTB over all of them.
std::vector<MetricPoint> NaiveLttb(const Series& s, uint64_t b, uint64_t e, size_t n) {
  std::vector<MetricPoint> pts;
  (void)s.Reader()(b, e, &pts);
  std::vector<double> xs(pts.size()), ys(pts.size());
  for (size_t i = 0; i < pts.size(); ++i) {
    xs[i] = static_cast<double>(pts[i].step);
    ys[i] = pts[i].value;
  }
  std::vector<MetricPoint> out;
  for (size_t i : LttbSelect(xs, ys, n)) out.push_back(pts[i]);
  return out;
}

double SecondsOf(auto fn, int reps) {
  double best = 1e300;
  for (int r = 0; r < reps; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    fn();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

constexpr size_t kN = 1000;

// Range: 0 = full series, 1 = the middle 10% of steps.
std::pair<uint64_t, uint64_t> RangeOf(size_t len, int64_t which) {
  if (which == 0) return {0, len};
  return {len * 45 / 100, len * 55 / 100};
}

void BM_Query(benchmark::State& state, DownsampleMethod method) {
  const size_t len = static_cast<size_t>(state.range(0));
  const Series& s = GetSeries(len);
  auto [b, e] = RangeOf(len, state.range(1));
  DownsampleOptions opt;
  opt.method = method;
  opt.target_points = kN;
  opt.step_min = static_cast<int64_t>(b);
  opt.step_max = static_cast<int64_t>(e - 1);
  const RawPointReader reader = s.Reader();
  int level = -2;
  for (auto _ : state) {
    auto r = Downsample(s.pyramid, reader, opt);
    if (!r.ok()) state.SkipWithError(r.status().ToString().c_str());
    level = r->level_used;
    benchmark::DoNotOptimize(r->points.data());
  }
  const double query = SecondsOf([&] { benchmark::DoNotOptimize(Downsample(s.pyramid, reader, opt)); }, 5);
  const double naive = SecondsOf([&] { benchmark::DoNotOptimize(NaiveLttb(s, b, e, kN)); }, len >= 10'000'000 ? 2 : 5);
  state.counters["level"] = level;
  state.counters["x_naive"] = naive / query;
  state.counters["naive_ms"] = naive * 1e3;
}

void BM_NaiveLttb(benchmark::State& state) {
  const size_t len = static_cast<size_t>(state.range(0));
  const Series& s = GetSeries(len);
  auto [b, e] = RangeOf(len, state.range(1));
  for (auto _ : state) benchmark::DoNotOptimize(NaiveLttb(s, b, e, kN).data());
}

// Ingest of 10^7 points in batches of `batch` into a vector alone vs a vector plus the pyramid.
// The two are timed interleaved (best of 5 each) so machine noise hits both alike; the loop
// itself times the vector-plus-pyramid variant.
void BM_Ingest(benchmark::State& state) {
  const size_t batch = static_cast<size_t>(state.range(0));
  static const std::vector<MetricPoint> source = MakePoints(10'000'000);
  auto ingest = [&](bool with_pyramid) {
    std::vector<MetricPoint> stored;
    LodPyramid pyramid;
    for (size_t i = 0; i < source.size(); i += batch) {
      std::span<const MetricPoint> part(source.data() + i, std::min(batch, source.size() - i));
      stored.insert(stored.end(), part.begin(), part.end());
      if (with_pyramid) pyramid.Append(part);
    }
    benchmark::DoNotOptimize(stored.data());
    benchmark::DoNotOptimize(pyramid.count());
  };
  for (auto _ : state) ingest(true);
  double vec = 1e300, both = 1e300;
  for (int r = 0; r < 5; ++r) {
    vec = std::min(vec, SecondsOf([&] { ingest(false); }, 1));
    both = std::min(both, SecondsOf([&] { ingest(true); }, 1));
  }
  const double pyramid_only = SecondsOf([&] {
    LodPyramid pyramid;
    for (size_t i = 0; i < source.size(); i += batch) {
      pyramid.Append(std::span<const MetricPoint>(source.data() + i, std::min(batch, source.size() - i)));
    }
    benchmark::DoNotOptimize(pyramid.count());
  }, 3);
  const double n = double(source.size());
  state.counters["vector_ns_pt"] = vec * 1e9 / n;
  state.counters["both_ns_pt"] = both * 1e9 / n;
  state.counters["pyramid_ns_pt"] = pyramid_only * 1e9 / n;
  state.counters["overhead"] = both / vec - 1.0;
}

void QueryArgs(benchmark::internal::Benchmark* b) {
  for (int64_t len : {10'000, 100'000, 1'000'000, 10'000'000}) {
    for (int64_t range : {0, 1}) b->Args({len, range});
  }
  b->ArgNames({"len", "range10pct"})->Unit(benchmark::kMillisecond);
}

}  // namespace

BENCHMARK_CAPTURE(BM_Query, lttb, DownsampleMethod::kLttb)->Apply(QueryArgs);
BENCHMARK_CAPTURE(BM_Query, m4, DownsampleMethod::kM4)->Apply(QueryArgs);
BENCHMARK(BM_NaiveLttb)->Apply(QueryArgs);
BENCHMARK(BM_Ingest)->ArgName("batch")->Arg(1000)->Arg(1)->Iterations(1)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
