// The metrics_step body of 10,000 rows x 5 metrics (about 1.4 MB), written by the API's string
// writer (encode::MetricsStep) against the encoder it replaces (a boost::json::object per row,
// then boost::json::serialize), measured in the same run on the same table.
//
//   bench_metrics_json --benchmark_counters_tabular=true
//
// - BM_EncodeWriter / BM_EncodeBoostJson: encoding only, from one MetricTable.
// - BM_RequestWriter / BM_RequestBoostJson: what a warm request costs besides HTTP: QueryMetrics on
//   an indexed store, then the encoding.
// At exit a summary prints the times and the old/new ratios.
#include <benchmark/benchmark.h>

#include <time.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "encode/api_json.h"
#include "runtrack/catalog.h"
#include "runtrack/json_codec.h"
#include "runtrack/store.h"

using namespace runtrack;
namespace bj = boost::json;
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

// The encoder before the string writer (apps/runicorn/encode/api_json.cpp, MetricsStep): one
// boost::json::object per row, metrics missing at a step left out, serialized by Boost.JSON.
std::string OldMetricsStep(const MetricQuery& q, const MetricTable& t) {
  bj::object o;
  bj::array columns;
  columns.emplace_back("global_step");
  for (size_t i = 1; i < t.rows.columns.size(); ++i) columns.emplace_back(t.rows.columns[i]);
  columns.emplace_back("stage");
  bj::array rows;
  rows.reserve(t.rows.steps.size());
  for (size_t r = 0; r < t.rows.steps.size(); ++r) {
    bj::object row;
    row.reserve(t.rows.columns.size() + 1);
    row["global_step"] = t.rows.steps[r];
    for (size_t m = 0; m < t.rows.values[r].size(); ++m)
      if (t.rows.values[r][m]) row[t.rows.columns[m + 1]] = json::Number(*t.rows.values[r][m]);
    if (!t.stage[r].empty()) row["stage"] = t.stage[r];
    rows.push_back(std::move(row));
  }
  o["columns"] = std::move(columns);
  o["rows"] = std::move(rows);
  o["total_points"] = t.points_in_range;
  o["sampled"] = t.downsampled;
  o["downsample"] = q.downsample ? bj::value(*q.downsample) : bj::value(nullptr);
  o["method"] = "none";
  o["missing_metrics"] = json::Strings(t.missing_metrics);
  return bj::serialize(o);
}

// A run with 5 metrics logged together at 10,000 steps (wall-clock times, two stages), indexed.
struct TableStore {
  fs::path root = fs::temp_directory_path() / fmt::format("runtrack-bench-metrics-json-{}", ::getpid());
  std::unique_ptr<Store> store;
  std::unique_ptr<Catalog> catalog;
  std::string id;
  MetricQuery query;
  MetricTable table;

  TableStore() {
    auto s = Store::Open(root);
    if (!s.ok()) Die(s.status(), "open store");
    store = std::move(s).value();
    auto run = store->CreateRun(RunOptions{});
    if (!run.ok()) Die(run.status(), "create run");
    for (int64_t i = 0; i < 10'000; ++i) {
      const double x = static_cast<double>(i);
      (void)(*run)->Log({{"m0", x * 0.001}, {"m1", std::exp(-x / 3000)}, {"m2", std::sin(x) * 0.37},
                         {"m3", 1 / (x + 3)}, {"m4", std::sqrt(x) * 1.7}},
                        i, i % 100 == 0 ? "eval" : "train");
    }
    id = (*run)->id();
    if (Status st = (*run)->Finish(); !st.ok()) Die(st, "finish");
    auto c = Catalog::Open(root);
    if (!c.ok()) Die(c.status(), "open catalog");
    catalog = std::move(c).value();
    if (auto r = catalog->Refresh(); !r.ok()) Die(r.status(), "refresh");
    query.metrics = {"m0", "m1", "m2", "m3", "m4"};
    auto t = catalog->QueryMetrics(id, query);  // also builds the pyramids before any timing
    if (!t.ok() || t->rows.steps.size() != 10'000) Die(t.status(), "query metrics");
    table = std::move(t).value();
  }
  ~TableStore() {
    catalog.reset();
    std::error_code ec;
    fs::remove_all(root, ec);
  }
};

TableStore* shared = nullptr;
TableStore& Shared() {
  if (!shared) shared = new TableStore();
  return *shared;
}

std::map<std::string, double> per_op;  // mean thread CPU seconds per operation
std::map<std::string, double> bytes;

template <typename Encode>
void Measure(benchmark::State& state, const char* key, bool with_query, Encode encode) {
  TableStore& s = Shared();
  double cpu = 0;
  size_t size = 0;
  for (auto _ : state) {
    const double t0 = ThreadCpuSeconds();
    std::string body;
    if (with_query) {
      auto t = s.catalog->QueryMetrics(s.id, s.query);
      if (!t.ok()) Die(t.status(), "query metrics");
      body = encode(s.query, *t);
    } else {
      body = encode(s.query, s.table);
    }
    cpu += ThreadCpuSeconds() - t0;
    size = body.size();
    benchmark::DoNotOptimize(body.data());
  }
  per_op[key] = cpu / static_cast<double>(state.iterations());
  bytes[key] = static_cast<double>(size);
  state.counters["bytes"] = static_cast<double>(size);
}

void BM_EncodeWriter(benchmark::State& state) {
  Measure(state, "encode/new", false, runicorn::encode::MetricsStep);
}
BENCHMARK(BM_EncodeWriter)->Unit(benchmark::kMillisecond);

void BM_EncodeBoostJson(benchmark::State& state) { Measure(state, "encode/old", false, OldMetricsStep); }
BENCHMARK(BM_EncodeBoostJson)->Unit(benchmark::kMillisecond);

void BM_RequestWriter(benchmark::State& state) {
  Measure(state, "request/new", true, runicorn::encode::MetricsStep);
}
BENCHMARK(BM_RequestWriter)->Unit(benchmark::kMillisecond);

void BM_RequestBoostJson(benchmark::State& state) { Measure(state, "request/old", true, OldMetricsStep); }
BENCHMARK(BM_RequestBoostJson)->Unit(benchmark::kMillisecond);

void PrintSummary() {
  auto get = [](const std::string& key) { return per_op.count(key) ? per_op[key] : 0.0; };
  auto ratio = [](double a, double b) { return b > 0 ? a / b : 0.0; };
  const double en = get("encode/new"), eo = get("encode/old"), rn = get("request/new"), ro = get("request/old");
  std::printf("\nSummary: metrics_step, 10,000 rows x 5 metrics (thread CPU per operation, this run)\n");
  std::printf("  encode only:   writer %.2f ms (%.2f MB), boost::json %.2f ms (%.2f MB), old/new = %.1f\n", en * 1e3,
              bytes["encode/new"] / 1e6, eo * 1e3, bytes["encode/old"] / 1e6, ratio(eo, en));
  std::printf("  query+encode:  writer %.2f ms, boost::json %.2f ms, old/new = %.1f\n", rn * 1e3, ro * 1e3,
              ratio(ro, rn));
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  PrintSummary();
  delete shared;
  benchmark::Shutdown();
  return 0;
}
