// Ingest throughput with sealing and journal compaction on vs off (docs/PERFORMANCE.md "Sealed
// segments in the catalog (issue 16)"), both measured in the same run:
//
//   bench_ingest_sealing [--benchmark_filter=...]
//
// Each iteration writes kRuns finished runs of kSteps steps x 5 metrics through Run::Log (the real
// writer: journal, flush thread), one after another, and after each run calls Refresh() on a
// catalog that stays open (a viewer indexing runs as they finish). `off`: points stay in RocksDB.
// `seal`: the catalog's background thread seals every finished run while the next one is written;
// `seal_compact`: it also compacts each journal (journal_compaction_delay 0).
// Two clocks per variant: `indexed` stops after the last Refresh() (every point written and
// queryable: ingest throughput, with the background thread competing for the CPU), `done` once
// the background thread is idle too (every run sealed and compacted). Counters in M points/s of
// wall time (thread CPU time would hide the background thread), on a shared machine: each
// iteration runs every variant in turn so load changes hit all, and the summary compares the best.
#include <benchmark/benchmark.h>

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <tuple>

#include <fmt/format.h>

#include "runtrack/catalog.h"
#include "runtrack/store.h"

using namespace runtrack;
namespace fs = std::filesystem;

namespace {

constexpr int kRuns = 8;
constexpr int kSteps = 50'000;
constexpr int kMetrics = 5;

std::map<std::string, double> g_best_mpts;

struct Rates {
  double indexed = 0, done = 0;  // M points/s
};

Rates IngestOnce(bool seal, bool compact, const std::string& name) {
  const fs::path root = fs::temp_directory_path() / fmt::format("bench-ingest-seal-{}-{}", ::getpid(), name);
  fs::remove_all(root);
  fs::create_directories(root);
  auto store = Store::Open(root);
  if (!store.ok()) std::abort();
  CatalogOptions o;
  o.seal_finished_runs = seal;
  o.compact_journals = compact;
  o.journal_compaction_delay = std::chrono::seconds(0);
  auto catalog = Catalog::Open(root, o);
  if (!catalog.ok()) std::abort();
  std::mt19937_64 rng(1);
  std::normal_distribution<double> noise(0, 1);
  const auto t0 = std::chrono::steady_clock::now();
  uint64_t points = 0;
  for (int r = 0; r < kRuns; ++r) {
    auto run = (*store)->CreateRun({});
    if (!run.ok()) std::abort();
    for (int s = 1; s <= kSteps; ++s) {
      const float loss = static_cast<float>(2.0 * std::exp(-s / 3000.0) + 0.05 * noise(rng));
      (void)(*run)->Log({{"loss", loss},
                         {"acc", static_cast<float>(0.9 - 0.8 * std::exp(-s / 3000.0))},
                         {"lr", 0.001 * std::pow(0.5, s / 1000.0)},
                         {"grad_norm", std::abs(noise(rng))},
                         {"noise", noise(rng)}},
                        s);
    }
    if (!(*run)->Finish().ok()) std::abort();
    auto report = (*catalog)->Refresh();
    if (!report.ok()) std::abort();
    points += uint64_t{kSteps} * kMetrics;
  }
  const auto t1 = std::chrono::steady_clock::now();
  (*catalog)->WaitForSealing();
  const auto t2 = std::chrono::steady_clock::now();
  if (seal) {  // everything sealed (and compacted): the next pass finds nothing
    auto report = (*catalog)->SealFinishedRuns();
    if (!report.ok() || report->runs_sealed != 0 || report->journals_compacted != 0) std::abort();
  }
  catalog->reset();
  fs::remove_all(root);
  auto rate = [&](auto end) {
    return static_cast<double>(points) / std::chrono::duration<double>(end - t0).count() / 1e6;
  };
  return {rate(t1), rate(t2)};
}

void BM_IngestSealing(benchmark::State& state) {
  for (auto _ : state) {
    for (auto [name, seal, compact] : {std::tuple{"off", false, false}, std::tuple{"seal", true, false},
                                       std::tuple{"seal_compact", true, true}}) {
      const Rates r = IngestOnce(seal, compact, name);
      state.counters[std::string(name) + "_indexed"] = r.indexed;
      state.counters[std::string(name) + "_done"] = r.done;
      g_best_mpts[std::string(name) + "_indexed"] = std::max(g_best_mpts[std::string(name) + "_indexed"], r.indexed);
      g_best_mpts[std::string(name) + "_done"] = std::max(g_best_mpts[std::string(name) + "_done"], r.done);
    }
  }
}

}  // namespace

BENCHMARK(BM_IngestSealing)->Iterations(8)->Unit(benchmark::kSecond);

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  const double base = g_best_mpts["off_indexed"];
  if (base > 0) {
    fmt::print("\nbest of iterations, M points/s (ratio to off):\n");
    for (const char* v : {"off", "seal", "seal_compact"})
      fmt::print("  {:13} indexed {:.2f} ({:.2f}x)   all sealed/compacted {:.2f} ({:.2f}x)\n", v,
                 g_best_mpts[std::string(v) + "_indexed"], g_best_mpts[std::string(v) + "_indexed"] / base,
                 g_best_mpts[std::string(v) + "_done"], g_best_mpts[std::string(v) + "_done"] / base);
    fmt::print("  target: seal_compact indexed >= 0.8x off\n");
  }
  benchmark::Shutdown();
  return 0;
}
