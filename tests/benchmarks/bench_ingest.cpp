// Journal shipping (docs/REMOTE.md), measured against a real in-process viewer on loopback:
// ingest throughput: 32 writers' journals (offline runs) shipped at once with ShipRun, each over
// its own keep-alive connection: points acknowledged (durable, fsynced) per second. What shipping
// costs Run::Log is measured against a separate viewer process: bench_ship_cost.cpp.
// Prints a summary; figures in docs/PERFORMANCE.md ("Journal shipping").
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include <fmt/format.h>

#include "runtrack/remote.h"
#include "runtrack/store.h"
#include "server/api.h"
#include "server/app_context.h"
#include "server/http_server.h"
#include "server/indexer.h"

namespace {
using namespace runtrack;
namespace fs = std::filesystem;

fs::path TempRoot(const std::string& name) {
  fs::path p = fs::temp_directory_path() / fmt::format("bench-ingest-{}-{}", ::getpid(), name);
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

// A viewer as `runicorn viewer` runs it: indexer, API, HTTP server (2 threads on 2 cores).
struct Viewer {
  explicit Viewer(const fs::path& root) {
    (void)Store::Open(root);
    auto opened = runicorn::server::AppContext::Open(root, root / "config.json");
    ctx = std::move(*opened);
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
};

constexpr int kWriters = 32;
double g_ingest_points_per_s = 0, g_ingest_mib_per_s = 0;

// 32 offline runs of `points` points each (8 metrics, as a training loop logs them), then all of
// them shipped at once into one viewer.
void BM_Ingest32Writers(benchmark::State& state) {
  const int points = static_cast<int>(state.range(0));
  const fs::path node_root = TempRoot("nodes");
  struct Writer {
    std::unique_ptr<Store> store;
    std::string id;
  };
  std::vector<Writer> writers;
  uint64_t bytes = 0;
  for (int w = 0; w < kWriters; ++w) {
    auto store = Store::Open(node_root / fmt::format("n{}", w));
    auto run = (*store)->CreateRun({});
    const char* names[] = {"loss", "acc", "lr", "grad_norm", "val_loss", "val_acc", "tput", "mem"};
    for (int s = 0; s < points / 8; ++s)
      for (const char* n : names) (void)(*run)->Log(s, n, 1.0 / (s + 1) + w);
    std::string id = (*run)->id();
    (void)(*run)->Finish();
    bytes += fs::file_size((*store)->layout().journal_path(id));
    writers.push_back({std::move(*store), id});
  }
  for (auto _ : state) {
    state.PauseTiming();
    const fs::path central = TempRoot("central");
    for (auto& w : writers) fs::remove(w.store->layout().shipped_path(w.id));
    {
      Viewer viewer(central);
      ShipperOptions o{.server = viewer.url()};
      state.ResumeTiming();
      auto t0 = std::chrono::steady_clock::now();
      std::vector<std::thread> threads;
      for (auto& w : writers)
        threads.emplace_back([&] {
          auto r = ShipRun(w.store->layout(), w.id, o, 20);
          if (!r.ok()) std::fprintf(stderr, "ship: %s\n", r.status().ToString().c_str());
        });
      for (auto& t : threads) t.join();
      double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      state.PauseTiming();
      g_ingest_points_per_s = static_cast<double>(points) * kWriters / secs;
      g_ingest_mib_per_s = static_cast<double>(bytes) / secs / (1 << 20);
    }
    fs::remove_all(central);
    state.ResumeTiming();
  }
  state.counters["points_per_s"] = g_ingest_points_per_s;
  state.counters["journal_MiB_per_s"] = g_ingest_mib_per_s;
  fs::remove_all(node_root);
}
BENCHMARK(BM_Ingest32Writers)->Arg(100000)->Iterations(2)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  // ShipRun is given the in-process viewer's URL; RUNICORN_SERVER must not matter.
  ::unsetenv("RUNICORN_SERVER");
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  std::printf("\njournal shipping summary\n");
  std::printf("  ingest, %d writers -> 1 viewer (loopback): %.0f points/s acknowledged (%.1f MiB/s of journal)\n",
              kWriters, g_ingest_points_per_s, g_ingest_mib_per_s);
  benchmark::Shutdown();
  return 0;
}
