// Live metric streams and chart tables through the catalog, each against the approach it replaces,
// measured in the same run on the same store.
//
//   bench_metric_stream --benchmark_counters_tabular=true
//
// Stream poll (a metrics WebSocket with one new point per poll): per iteration the run logs one
// point, flushes, the catalog refreshes, and the reader asks for what is new. Only the read is
// timed, as CPU time of the calling thread (manual time); Refresh's CPU time is a separate counter.
// - BM_StreamPollSince:    ReadMetricSince(previous cursor)          on 10^5 and 10^7 points
// - BM_StreamPollReadFrom: ReadMetric(run, name, last step + 1)      (the old stream, baseline)
// Chart table: 10,000 rows x 5 metrics, not downsampled.
// - BM_TableQueryMetrics:  Catalog::QueryMetrics (one snapshot, one join)
// - BM_TableOldPath:       GetRun + DownsampleMetric x5 + BuildMetricRows + wall time/stage merge
// At exit a summary prints the ratios: 10^7 vs 10^5 per poll (O(new points) means ~1) and old/new.
#include <benchmark/benchmark.h>

#include <time.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "runtrack/catalog.h"
#include "runtrack/store.h"

using namespace runtrack;
namespace fs = std::filesystem;

namespace {

double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

void Die(const Status& s, const char* what) {
  std::fprintf(stderr, "%s: %s\n", what, s.ToString().c_str());
  std::exit(1);
}

// One store shared by every benchmark: writing 10^7 points is the slow part, done once.
struct StreamStore {
  fs::path root = fs::temp_directory_path() / fmt::format("runtrack-bench-stream-{}", ::getpid());
  std::unique_ptr<Store> store;
  std::unique_ptr<Catalog> catalog;
  std::map<int64_t, std::unique_ptr<Run>> stream_runs;  // by series length, still running
  std::map<int64_t, int64_t> next_step;                 // per stream run
  std::unique_ptr<Run> table_run;

  StreamStore() {
    auto s = Store::Open(root);
    if (!s.ok()) Die(s.status(), "open store");
    store = std::move(s).value();
    auto c = Catalog::Open(root);
    if (!c.ok()) Die(c.status(), "open catalog");
    catalog = std::move(c).value();
  }
  ~StreamStore() {
    for (auto& [n, run] : stream_runs) (void)run->Finish();
    if (table_run) (void)table_run->Finish();
    catalog.reset();
    std::error_code ec;
    fs::remove_all(root, ec);
  }

  std::unique_ptr<Run> NewRun() {
    auto run = store->CreateRun(RunOptions{});
    if (!run.ok()) Die(run.status(), "create run");
    return std::move(run).value();
  }
  void Refresh() {
    auto r = catalog->Refresh();
    if (!r.ok()) Die(r.status(), "refresh");
  }

  // A running run with one series "y" of n points, indexed.
  Run& StreamRun(int64_t n) {
    auto& run = stream_runs[n];
    if (!run) {
      run = NewRun();
      for (int64_t i = 0; i < n; ++i) (void)run->Log(i, "y", std::sin(i / 1000.0));
      if (Status s = run->Flush(); !s.ok()) Die(s, "flush");
      Refresh();
      next_step[n] = n;
    }
    return *run;
  }

  // A finished run with 5 metrics logged together at 10,000 steps, two stages.
  const std::string& TableRun() {
    if (!table_run) {
      table_run = NewRun();
      for (int64_t i = 0; i < 10'000; ++i) {
        const double x = static_cast<double>(i);
        (void)table_run->Log({{"m0", x}, {"m1", x * 0.5}, {"m2", -x}, {"m3", std::sin(x)}, {"m4", 1 / (x + 1)}}, i,
                             i % 100 == 0 ? "eval" : "train");
      }
      if (Status s = table_run->Flush(); !s.ok()) Die(s, "flush");
      Refresh();
    }
    return table_run->id();
  }
};

// Both series are written before anything is timed, so both sizes are read from the same database
// (same files and levels): the comparison isolates the series length.
StreamStore* shared_store = nullptr;
StreamStore& Shared() {
  if (!shared_store) {
    shared_store = new StreamStore();
    shared_store->StreamRun(100'000);
    shared_store->StreamRun(10'000'000);
    shared_store->TableRun();
  }
  return *shared_store;
}

// Mean CPU seconds per operation, by benchmark and size, for the summary.
std::map<std::string, double> per_op;

// Logs one point and indexes it; returns Refresh's thread CPU time.
double LogOneAndRefresh(StreamStore& s, Run& run, int64_t n) {
  const int64_t step = s.next_step[n]++;
  (void)run.Log(step, "y", std::sin(step / 1000.0));
  if (Status st = run.Flush(); !st.ok()) Die(st, "flush");
  const double t0 = ThreadCpuSeconds();
  s.Refresh();
  return ThreadCpuSeconds() - t0;
}

void BM_StreamPollSince(benchmark::State& state) {
  const int64_t n = state.range(0);
  StreamStore& s = Shared();
  Run& run = s.StreamRun(n);
  auto start = s.catalog->MetricCursorAtEnd(run.id(), "y");
  if (!start.ok()) Die(start.status(), "cursor");
  MetricCursor cursor = *start;
  double read_cpu = 0, refresh_cpu = 0;
  uint64_t points = 0;
  for (auto _ : state) {
    refresh_cpu += LogOneAndRefresh(s, run, n);
    const double t0 = ThreadCpuSeconds();
    auto chunk = s.catalog->ReadMetricSince(run.id(), "y", cursor);
    const double dt = ThreadCpuSeconds() - t0;
    if (!chunk.ok()) Die(chunk.status(), "read since");
    points += chunk->points.size();
    cursor = chunk->cursor;
    read_cpu += dt;
    state.SetIterationTime(dt);
  }
  const double iters = static_cast<double>(state.iterations());
  state.counters["read_us"] = 1e6 * read_cpu / iters;
  state.counters["refresh_us"] = 1e6 * refresh_cpu / iters;
  state.counters["new_points"] = static_cast<double>(points) / iters;
  per_op[fmt::format("since/{}", n)] = read_cpu / iters;
}
BENCHMARK(BM_StreamPollSince)->Arg(100'000)->Arg(10'000'000)->Iterations(300)->UseManualTime()
    ->Unit(benchmark::kMicrosecond);

void BM_StreamPollReadFrom(benchmark::State& state) {
  const int64_t n = state.range(0);
  StreamStore& s = Shared();
  Run& run = s.StreamRun(n);
  double read_cpu = 0, refresh_cpu = 0;
  uint64_t points = 0;
  for (auto _ : state) {
    const int64_t from = s.next_step[n];  // the step about to be logged: the stream's last step + 1
    refresh_cpu += LogOneAndRefresh(s, run, n);
    const double t0 = ThreadCpuSeconds();
    auto series = s.catalog->ReadMetric(run.id(), "y", from);
    const double dt = ThreadCpuSeconds() - t0;
    if (!series.ok()) Die(series.status(), "read metric");
    points += series->points.size();
    read_cpu += dt;
    state.SetIterationTime(dt);
  }
  const double iters = static_cast<double>(state.iterations());
  state.counters["read_us"] = 1e6 * read_cpu / iters;
  state.counters["refresh_us"] = 1e6 * refresh_cpu / iters;
  state.counters["new_points"] = static_cast<double>(points) / iters;
  per_op[fmt::format("readfrom/{}", n)] = read_cpu / iters;
}
// The 10^7 baseline decodes the whole series on every poll, so a few polls suffice.
BENCHMARK(BM_StreamPollReadFrom)->Arg(100'000)->Iterations(50)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_StreamPollReadFrom)->Arg(10'000'000)->Iterations(4)->UseManualTime()->Unit(benchmark::kMicrosecond);

void BM_TableQueryMetrics(benchmark::State& state) {
  StreamStore& s = Shared();
  const std::string id = s.TableRun();
  MetricQuery q;
  q.metrics = {"m0", "m1", "m2", "m3", "m4"};
  (void)s.catalog->QueryMetrics(id, q);  // builds the pyramids outside the timing
  double cpu = 0;
  for (auto _ : state) {
    const double t0 = ThreadCpuSeconds();
    auto t = s.catalog->QueryMetrics(id, q);
    cpu += ThreadCpuSeconds() - t0;
    if (!t.ok() || t->rows.steps.size() != 10'000) Die(t.status(), "query metrics");
    benchmark::DoNotOptimize(t->rows.values.data());
  }
  per_op["table/new"] = cpu / static_cast<double>(state.iterations());
}
BENCHMARK(BM_TableQueryMetrics)->Unit(benchmark::kMicrosecond);

// What the server did before QueryMetrics (apps/runicorn/server/metric_table.cpp).
MetricRows OldTable(const Catalog& catalog, const std::string& id, const std::vector<std::string>& names,
                    std::vector<double>* wall_time, std::vector<std::string>* stage) {
  auto detail = catalog.GetRun(id);
  if (!detail.ok()) Die(detail.status(), "get run");
  DownsampleOptions o;
  o.method = DownsampleMethod::kNone;
  o.target_points = 1;
  std::vector<std::pair<std::string, DownsampleResult>> results;
  for (const std::string& name : names) {
    auto r = catalog.DownsampleMetric(id, name, o);
    if (!r.ok()) Die(r.status(), "downsample");
    results.emplace_back(name, std::move(*r));
  }
  MetricRows rows = BuildMetricRows(results);
  const size_t n = rows.steps.size();
  std::vector<char> filled(n, 0);
  wall_time->assign(n, 0.0);
  stage->assign(n, std::string());
  for (const auto& [name, result] : results) {
    size_t r = 0;
    for (const MetricPoint& p : result.points) {
      while (r < n && rows.steps[r] < p.step) ++r;
      if (r == n) break;
      if (rows.steps[r] == p.step && !filled[r]) {
        filled[r] = 1;
        (*wall_time)[r] = p.wall_time;
        if (p.stage < detail->stages.size()) (*stage)[r] = detail->stages[p.stage];
      }
    }
  }
  return rows;
}

void BM_TableOldPath(benchmark::State& state) {
  StreamStore& s = Shared();
  const std::string id = s.TableRun();
  const std::vector<std::string> names = {"m0", "m1", "m2", "m3", "m4"};
  std::vector<double> wall_time;
  std::vector<std::string> stage;
  (void)OldTable(*s.catalog, id, names, &wall_time, &stage);
  double cpu = 0;
  for (auto _ : state) {
    const double t0 = ThreadCpuSeconds();
    MetricRows rows = OldTable(*s.catalog, id, names, &wall_time, &stage);
    cpu += ThreadCpuSeconds() - t0;
    if (rows.steps.size() != 10'000) Die(Status::Internal("wrong row count"), "old table");
    benchmark::DoNotOptimize(rows.values.data());
  }
  per_op["table/old"] = cpu / static_cast<double>(state.iterations());
}
BENCHMARK(BM_TableOldPath)->Unit(benchmark::kMicrosecond);

void PrintSummary() {
  auto get = [](const std::string& key) {
    auto it = per_op.find(key);
    return it == per_op.end() ? 0.0 : it->second;
  };
  auto ratio = [](double a, double b) { return b > 0 ? a / b : 0.0; };
  const double s5 = get("since/100000"), s7 = get("since/10000000");
  const double r5 = get("readfrom/100000"), r7 = get("readfrom/10000000");
  std::printf("\nSummary (thread CPU per operation, measured in this run)\n");
  std::printf("  ReadMetricSince per poll: 10^5 %.1f us, 10^7 %.1f us, ratio 10^7/10^5 = %.2f\n", s5 * 1e6,
              s7 * 1e6, ratio(s7, s5));
  std::printf("  ReadMetric(from_step) per poll (old): 10^5 %.1f us, 10^7 %.1f us, ratio = %.1f\n", r5 * 1e6,
              r7 * 1e6, ratio(r7, r5));
  std::printf("  old / new per poll: 10^5 x%.1f, 10^7 x%.1f\n", ratio(r5, s5), ratio(r7, s7));
  const double tn = get("table/new"), to = get("table/old");
  std::printf("  10,000 rows x 5 metrics: QueryMetrics %.0f us, old path %.0f us, old/new = %.2f\n", tn * 1e6,
              to * 1e6, ratio(to, tn));
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  PrintSummary();
  delete shared_store;
  benchmark::Shutdown();
  return 0;
}
