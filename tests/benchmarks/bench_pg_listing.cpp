// The PostgreSQL run catalog at 1,000,000 runs (docs/PERFORMANCE.md, "PostgreSQL catalog").
//
//   filtered   a page of 50: one project (of 100), status finished or failed, tag "gpu",
//              sorted by best_metric_value descending, with the filtered total     target ≤ 50 ms warm
//   unfiltered the default page of 50: live runs by created_at descending, total   (same-run baseline)
//   search     a page of 50 matching a free-text substring (trigram index), total   (for reference)
//
// Set-up (not timed by the benchmarks, printed): a private PostgreSQL 15 on a Unix socket, the
// schema migration, 1,000,000 runs loaded with COPY, then VACUUM ANALYZE (what autovacuum does
// after a bulk load). Each benchmark runs its query once before timing (warm).
//
//   ./build/tests/bench_pg_listing --benchmark_counters_tabular=true
//   BENCH_PG_RUNS=100000 ./build/tests/bench_pg_listing    (a smaller store)
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>

#include <fmt/format.h>

#ifdef RUNICORN_HAVE_PG
#include "../pg/pg_test_server.h"
#include "service/pg/pg_connection.h"
#include "service/pg/pg_run_catalog.h"

namespace {
using runicorn::service::pg::PgRunCatalog;
using runtrack::RunQuery;
using runtrack::RunStatus;

struct Loaded {
  std::unique_ptr<runicorn::testing::PgTestServer> server;
  std::unique_ptr<PgRunCatalog> catalog;
  std::string error;
};

std::string RunId(int i) { return fmt::format("2025{:02d}{:02d}_{:06d}_{:06x}", 1 + i % 12, 1 + i % 28, i % 1000000, i); }

// Synthetic but listing-shaped: 100 projects, 20 names, a status mix, 0-3 of 8 tags, a best value
// for 90%, 2% soft-deleted.
std::vector<runtrack::RunSummary> MakeRuns(int n) {
  static const char* kTags[] = {"gpu", "baseline", "big", "ablation", "sweep", "fp16", "ddp", "debug"};
  std::mt19937_64 rng(42);
  std::vector<runtrack::RunSummary> runs;
  runs.reserve(n);
  for (int i = 0; i < n; ++i) {
    runtrack::RunSummary r;
    r.id = RunId(i);
    r.project = fmt::format("project-{}", rng() % 100);
    r.name = fmt::format("model-{}", rng() % 20);
    int s = static_cast<int>(rng() % 100);
    r.status = s < 70 ? RunStatus::kFinished : s < 85 ? RunStatus::kFailed : s < 95 ? RunStatus::kInterrupted
                                                                                   : RunStatus::kRunning;
    r.created_at = 1.7e9 + i * 30.0 + static_cast<double>(rng() % 1000) / 1000;
    r.updated_at = r.created_at + static_cast<double>(rng() % 36000);
    if (r.status != RunStatus::kRunning) r.ended_at = r.updated_at;
    if (rng() % 50 == 0) r.deleted_at = r.updated_at + 1;
    r.pid = 1000 + i % 30000;
    r.hostname = fmt::format("node{:02d}", rng() % 32);
    for (int t = static_cast<int>(rng() % 4); t > 0; --t) {
      std::string tag = kTags[rng() % 8];
      if (std::find(r.tags.begin(), r.tags.end(), tag) == r.tags.end()) r.tags.push_back(tag);
    }
    if (rng() % 10) {
      r.best_metric_name = "val/acc";
      r.best_metric_mode = "max";
      r.best_metric_value = static_cast<double>(rng() % 1000000) / 1e6;
      r.best_metric_step = static_cast<int64_t>(rng() % 10000);
    }
    runs.push_back(std::move(r));
  }
  return runs;
}

double Seconds(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

Loaded& Store() {
  static Loaded loaded = [] {
    Loaded l;
    const char* env = std::getenv("BENCH_PG_RUNS");
    const int n = env ? std::atoi(env) : 1000000;
    auto t0 = std::chrono::steady_clock::now();
    // BENCH_PG_CONNINFO: an existing database instead of a private server; a runs table that is
    // already loaded is reused as it is (to study plans between runs).
    const char* given = std::getenv("BENCH_PG_CONNINFO");
    std::string db = given ? given : "";
    if (db.empty()) {
      l.server = std::make_unique<runicorn::testing::PgTestServer>("-c shared_buffers=512MB -c max_wal_size=4GB");
      if (!l.server->available()) {
        l.error = l.server->unavailable_reason();
        return l;
      }
      db = l.server->NewDatabase();
    }
    auto catalog = PgRunCatalog::Open(db);
    if (!catalog.ok()) {
      l.error = catalog.status().ToString();
      return l;
    }
    l.catalog = std::move(catalog).value();
    std::fprintf(stderr, "postgresql %s up and migrated in %.1f s\n", l.catalog->ServerVersion()->c_str(), Seconds(t0));
    if (auto existing = l.catalog->ListRuns({.include_deleted = true, .limit = 1}); existing.ok() && existing->total > 0) {
      std::fprintf(stderr, "reusing %llu runs\n", static_cast<unsigned long long>(existing->total));
      return l;
    }
    auto runs = MakeRuns(n);
    t0 = std::chrono::steady_clock::now();
    for (size_t begin = 0; begin < runs.size(); begin += 100000) {
      std::vector<runtrack::RunSummary> batch(runs.begin() + begin,
                                              runs.begin() + std::min(runs.size(), begin + 100000));
      if (auto s = l.catalog->CopyRuns(batch); !s.ok()) {
        l.error = s.ToString();
        return l;
      }
    }
    std::fprintf(stderr, "COPY of %d runs (indexes maintained): %.1f s\n", n, Seconds(t0));
    t0 = std::chrono::steady_clock::now();
    auto conn = runicorn::service::pg::PgConnection::Connect(db);
    if (!conn.ok() || !(*conn)->ExecScript("VACUUM ANALYZE runs").ok()) {
      l.error = "VACUUM ANALYZE failed";
      return l;
    }
    std::fprintf(stderr, "VACUUM ANALYZE: %.1f s\n", Seconds(t0));
    return l;
  }();
  return loaded;
}

void Page(benchmark::State& state, const RunQuery& q) {
  Loaded& l = Store();
  if (!l.catalog) {
    state.SkipWithError(l.error.c_str());
    return;
  }
  auto warm = l.catalog->ListRuns(q);
  if (!warm.ok()) {
    state.SkipWithError(warm.status().ToString().c_str());
    return;
  }
  for (auto _ : state) {
    auto page = l.catalog->ListRuns(q);
    benchmark::DoNotOptimize(page);
  }
  state.counters["total"] = static_cast<double>(warm->total);
  state.counters["rows"] = static_cast<double>(warm->runs.size());
}

void BM_PgListUnfiltered(benchmark::State& state) {
  RunQuery q;
  q.limit = 50;
  Page(state, q);
}

void BM_PgListFiltered(benchmark::State& state) {
  RunQuery q;
  q.project = "project-7";
  q.statuses = {RunStatus::kFinished, RunStatus::kFailed};
  q.tags = {"gpu"};
  q.sort_by = "best_metric_value";
  q.descending = true;
  q.limit = 50;
  Page(state, q);
}

void BM_PgListSearch(benchmark::State& state) {
  RunQuery q;
  q.search = "_0042";  // part of run ids
  q.limit = 50;
  Page(state, q);
}

}  // namespace

BENCHMARK(BM_PgListUnfiltered)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(3);
BENCHMARK(BM_PgListFiltered)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(3);
BENCHMARK(BM_PgListSearch)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(3);
#else
static void BM_PgNotBuilt(benchmark::State& state) {
  state.SkipWithError("runicorn_pg was not built: install libpq-dev (scripts/setup-deps.sh)");
  for (auto _ : state) {}
}
BENCHMARK(BM_PgNotBuilt);
#endif

BENCHMARK_MAIN();
