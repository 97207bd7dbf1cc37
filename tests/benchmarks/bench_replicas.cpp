// Ingest through viewer replicas (docs/SCALE-OUT.md "Replicas", issue 20 "Must show": >= 500,000
// points/s through 2 replicas with PostgreSQL on the same machine). The 32-writer shipping load of
// bench_ingest.cpp, in the same run against:
//   1 viewer                 the baseline (no ownership, no PostgreSQL)
//   2 replicas, direct       each writer ships to its run's preferred replica (rendezvous hashing,
//                            pg_run_ownership.h), which takes the run: nothing is forwarded
//   2 replicas, forwarded    every writer ships to replica A; the runs B is preferred for (about
//                            half) are forwarded A -> B
// Each replica is an in-process viewer as `runicorn viewer --catalog … --replica-url …` runs it:
// indexer, run index mirrored into PostgreSQL after every pass, API, HTTP server (2 threads), run
// ownership on a private PostgreSQL 15 (tests/pg/pg_test_server.h). Prints a summary with ratios.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include <fmt/format.h>

#ifdef RUNICORN_HAVE_PG
#include "../pg/pg_test_server.h"
#include "runtrack/remote.h"
#include "runtrack/store.h"
#include "server/api.h"
#include "server/app_context.h"
#include "server/http_server.h"
#include "server/indexer.h"
#include "server/ingest_forwarding.h"
#include "service/pg/pg_run_ownership.h"
#include "service/pg/pg_viewer_catalog.h"

namespace {
using namespace runtrack;
namespace fs = std::filesystem;

fs::path TempRoot(const std::string& name) {
  fs::path p = fs::temp_directory_path() / fmt::format("bench-replicas-{}-{}", ::getpid(), name);
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

runicorn::testing::PgTestServer& Pg() {
  static runicorn::testing::PgTestServer server;
  return server;
}

// `conninfo` empty: a plain viewer. Otherwise a replica on that database.
struct Viewer {
  Viewer(const fs::path& root, const std::string& conninfo, const std::string& name) {
    (void)Store::Open(root);
    auto opened = runicorn::server::AppContext::Open(root, root / "config.json");
    ctx = std::move(*opened);
    if (!conninfo.empty()) {
      auto catalog = runicorn::service::pg::PgViewerCatalog::Open(conninfo, *ctx->storage);
      if (!catalog.ok()) std::fprintf(stderr, "catalog: %s\n", catalog.status().ToString().c_str());
      auto* mirror = &(*catalog)->mirror();
      ctx->UseRunCatalog(std::move(*catalog), [mirror](bool changed) { return mirror->Pass(changed); });
    }
    indexer = std::make_unique<runicorn::server::Indexer>(*ctx, std::chrono::milliseconds(250));
    (void)indexer->Start();
    runicorn::server::ApiOptions a;
    a.rate_limits.enabled = false;
    api = std::make_unique<runicorn::server::Api>(*ctx, a);
    runicorn::server::ServerOptions s;
    s.port = 0;
    s.threads = 2;
    s.body_limit = 64u << 20;
    auto started = runicorn::server::HttpServer::Start(*api, s, false);
    server = std::move(*started);
    if (!conninfo.empty()) {
      auto o = runicorn::service::pg::PgRunOwnership::Open({conninfo, url(), name});
      if (!o.ok()) std::fprintf(stderr, "ownership: %s\n", o.status().ToString().c_str());
      ownership = std::move(*o);
      runicorn::server::IngestForwardingOptions f;
      f.max_in_flight = 1;  // threads - 1, as the viewer sets it
      ctx->ingest_forwarding = std::make_shared<runicorn::server::IngestForwarding>(ownership, f);
    }
  }
  ~Viewer() {
    server->Shutdown();
    server->Wait();
    indexer->Stop();
  }
  std::string url() const { return fmt::format("http://127.0.0.1:{}", server->port()); }
  std::unique_ptr<runicorn::server::AppContext> ctx;
  std::unique_ptr<runicorn::server::Indexer> indexer;
  std::unique_ptr<runicorn::server::Api> api;
  std::unique_ptr<runicorn::server::HttpServer> server;
  std::shared_ptr<runicorn::service::pg::PgRunOwnership> ownership;
};

constexpr int kWriters = 32;
double g_points_per_s[3] = {0, 0, 0};
int g_forwarded_runs = 0;  // of the forwarded mode's kWriters runs
const char* kModeNames[3] = {"1 viewer (baseline)", "2 replicas, each writer to its run's owner",
                             "2 replicas, all writers to A, B's runs forwarded"};

void BM_Ingest32Writers(benchmark::State& state) {
  const int mode = static_cast<int>(state.range(0));
  const int points = static_cast<int>(state.range(1));
  if (mode > 0 && !Pg().available()) {
    state.SkipWithError(Pg().unavailable_reason().c_str());
    return;
  }
  const fs::path node_root = TempRoot(fmt::format("nodes{}", mode));
  struct Writer {
    std::unique_ptr<Store> store;
    std::string id;
  };
  std::vector<Writer> writers;
  for (int w = 0; w < kWriters; ++w) {
    auto store = Store::Open(node_root / fmt::format("n{}", w));
    auto run = (*store)->CreateRun({});
    const char* names[] = {"loss", "acc", "lr", "grad_norm", "val_loss", "val_acc", "tput", "mem"};
    for (int s = 0; s < points / 8; ++s)
      for (const char* n : names) (void)(*run)->Log(s, n, 1.0 / (s + 1) + w);
    std::string id = (*run)->id();
    (void)(*run)->Finish();
    writers.push_back({std::move(*store), id});
  }
  for (auto _ : state) {
    state.PauseTiming();
    for (auto& w : writers) fs::remove(w.store->layout().shipped_path(w.id));
    const fs::path central = TempRoot(fmt::format("central{}", mode));
    {
      const std::string db = mode > 0 ? Pg().NewDatabase() : std::string();
      std::vector<std::unique_ptr<Viewer>> viewers;
      viewers.push_back(std::make_unique<Viewer>(central / "a", db, "replica-a"));
      if (mode > 0) viewers.push_back(std::make_unique<Viewer>(central / "b", db, "replica-b"));
      std::vector<std::string> target(kWriters);
      int forwarded = 0;
      for (int w = 0; w < kWriters; ++w) {
        target[w] = viewers[0]->url();
        if (mode == 0) continue;
        const std::vector<std::string> ids = {viewers[0]->ownership->replica_id(), viewers[1]->ownership->replica_id()};
        const bool b_preferred =
            runicorn::service::pg::PreferredReplica(runicorn::service::pg::RunBucket(writers[w].id), ids) == ids[1];
        if (mode == 1 && b_preferred) target[w] = viewers[1]->url();
        if (mode == 2 && b_preferred) ++forwarded;
      }
      if (mode == 2) g_forwarded_runs = forwarded;
      state.ResumeTiming();
      auto t0 = std::chrono::steady_clock::now();
      std::vector<std::thread> threads;
      for (int w = 0; w < kWriters; ++w)
        threads.emplace_back([&, w] {
          ShipperOptions o{.server = target[w]};
          o.backoff_min = std::chrono::milliseconds(5);
          o.backoff_max = std::chrono::milliseconds(100);
          auto r = ShipRun(writers[w].store->layout(), writers[w].id, o, 0);
          if (!r.ok()) std::fprintf(stderr, "ship: %s\n", r.status().ToString().c_str());
        });
      for (auto& t : threads) t.join();
      double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      state.PauseTiming();
      g_points_per_s[mode] = static_cast<double>(points) * kWriters / secs;
    }
    fs::remove_all(central);
    state.ResumeTiming();
  }
  state.counters["points_per_s"] = g_points_per_s[mode];
  fs::remove_all(node_root);
}
BENCHMARK(BM_Ingest32Writers)
    ->Args({0, 100000})
    ->Args({1, 100000})
    ->Args({2, 100000})
    ->Iterations(2)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  ::unsetenv("RUNICORN_SERVER");  // ShipRun is given the viewers' URLs
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  std::printf("\ningest through replicas, %d writers (loopback; PostgreSQL %s on this machine)\n", kWriters,
              Pg().available() ? "15" : "missing");
  std::printf("  (forwarded mode: %d of %d runs preferred by B)\n", g_forwarded_runs, kWriters);
  for (int m = 0; m < 3; ++m)
    std::printf("  %-68s %10.0f points/s  (x%.2f of 1 viewer)\n", kModeNames[m], g_points_per_s[m],
                g_points_per_s[0] > 0 ? g_points_per_s[m] / g_points_per_s[0] : 0.0);
  benchmark::Shutdown();
  return 0;
}
#else
int main() {
  std::printf("bench_replicas: built without libpq (libpq-dev): nothing to measure\n");
  return 0;
}
#endif
