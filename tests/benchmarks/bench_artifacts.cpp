// Artifact throughput: FastCDC chunking + SHA-256 in memory, Log() of a 1 GiB file the first
// time and a second identical time (every chunk already stored), and Download(), each compared
// with a plain whole-file SHA-256 measured in the same run (counter "x_sha256" = throughput /
// SHA-256 throughput).
//
//   cmake --build build-art --target bench_artifacts && build-art/tests/bench_artifacts
//
// Scratch files go to $TMPDIR (default /tmp), about 3 GiB at peak.
#include <benchmark/benchmark.h>

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "artifacts/fastcdc.h"
#include "artifacts/sha256.h"
#include "runtrack/artifacts.h"

namespace fs = std::filesystem;
using namespace runtrack;

namespace {

constexpr size_t kMemBytes = 256u << 20;
constexpr size_t kFileBytes = 1u << 30;

std::string RandomBytes(size_t n, uint64_t seed) {
  std::string out(n, '\0');
  uint64_t x = seed * 0x9e3779b97f4a7c15ULL + 1;
  for (size_t i = 0; i + 8 <= n; i += 8) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    std::memcpy(&out[i], &x, 8);
  }
  return out;
}

const std::string& MemData() {
  static const std::string data = RandomBytes(kMemBytes, 1);
  return data;
}

fs::path ScratchRoot() {
  static const fs::path root = [] {
    const char* base = std::getenv("TMPDIR");
    std::string templ = std::string(base ? base : "/tmp") + "/runtrack-bench-XXXXXX";
    return fs::path(::mkdtemp(templ.data()));
  }();
  return root;
}

const fs::path& BigFile() {
  static const fs::path path = [] {
    fs::path p = ScratchRoot() / "big.bin";
    std::ofstream f(p, std::ios::binary);
    for (size_t i = 0; i < kFileBytes / (64u << 20); ++i) {
      std::string block = RandomBytes(64u << 20, 100 + i);
      f.write(block.data(), static_cast<std::streamsize>(block.size()));
    }
    return p;
  }();
  return path;
}

// Whole-file SHA-256 throughput in bytes/s, measured once per run: the baseline.
double Sha256BytesPerSecond() {
  static const double rate = [] {
    const std::string& d = MemData();
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < 4; ++i) benchmark::DoNotOptimize(artifacts::Sha256Of(d.data(), d.size()));
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return 4.0 * static_cast<double>(d.size()) / s;
  }();
  return rate;
}

void Report(benchmark::State& state, size_t bytes_per_iter, double seconds) {
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes_per_iter));
  double rate = static_cast<double>(state.iterations() * bytes_per_iter) / seconds;
  state.counters["MB_per_s"] = rate / 1e6;
  state.counters["x_sha256"] = rate / Sha256BytesPerSecond();
}

void BM_Sha256WholeFile(benchmark::State& state) {
  const std::string& d = MemData();
  auto t0 = std::chrono::steady_clock::now();
  for (auto _ : state) benchmark::DoNotOptimize(artifacts::Sha256Of(d.data(), d.size()));
  Report(state, d.size(), std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
}

void BM_FastCdcCutOnly(benchmark::State& state) {
  const std::string& d = MemData();
  artifacts::FastCdc cdc({static_cast<uint32_t>(state.range(0)) / 4, static_cast<uint32_t>(state.range(0)),
                          static_cast<uint32_t>(state.range(0)) * 8});
  auto t0 = std::chrono::steady_clock::now();
  for (auto _ : state) {
    const auto* p = reinterpret_cast<const uint8_t*>(d.data());
    size_t pos = 0, chunks = 0;
    while (pos < d.size()) {
      pos += cdc.FindCut(p + pos, d.size() - pos);
      ++chunks;
    }
    benchmark::DoNotOptimize(chunks);
  }
  Report(state, d.size(), std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
}

// What Log() computes per byte, in memory: cut, SHA-256 per chunk, plus the whole-file SHA-256
// (here on the same thread, so this is the single-core cost).
void BM_ChunkAndHashInMemory(benchmark::State& state) {
  const std::string& d = MemData();
  artifacts::FastCdc cdc({static_cast<uint32_t>(state.range(0)) / 4, static_cast<uint32_t>(state.range(0)),
                          static_cast<uint32_t>(state.range(0)) * 8});
  auto t0 = std::chrono::steady_clock::now();
  for (auto _ : state) {
    const auto* p = reinterpret_cast<const uint8_t*>(d.data());
    artifacts::Sha256 whole;
    size_t pos = 0;
    while (pos < d.size()) {
      size_t n = cdc.FindCut(p + pos, d.size() - pos);
      benchmark::DoNotOptimize(artifacts::Sha256Of(p + pos, n));
      whole.Update(p + pos, n);
      pos += n;
    }
    benchmark::DoNotOptimize(whole.Final());
  }
  Report(state, d.size(), std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
}

// Log() of the 1 GiB file into an empty store (range(0) = 1: fdatasync every chunk).
void BM_LogFirstTime(benchmark::State& state) {
  const fs::path& src = BigFile();
  double seconds = 0;
  for (auto _ : state) {
    state.PauseTiming();
    fs::path root = ScratchRoot() / "store-first";
    fs::remove_all(root);
    ArtifactStoreOptions o;
    o.sync = state.range(0) != 0;
    auto store = ArtifactStore::Open(root, o);
    auto a = Artifact::Create("big", ArtifactType::kModel);
    (void)a->AddFile(src);
    state.ResumeTiming();
    auto t0 = std::chrono::steady_clock::now();
    auto v = store->Log(*a, "");
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!v.ok()) state.SkipWithError(v.status().ToString().c_str());
  }
  Report(state, kFileBytes, seconds);
}

// Log() of the same 1 GiB again: every chunk exists, so only reading, cutting and hashing remain.
void BM_LogSecondIdentical(benchmark::State& state) {
  const fs::path& src = BigFile();
  fs::path root = ScratchRoot() / "store-second";
  fs::remove_all(root);
  auto store = ArtifactStore::Open(root, {});
  auto a = Artifact::Create("big", ArtifactType::kModel);
  (void)a->AddFile(src);
  (void)store->Log(*a, "");
  double seconds = 0;
  for (auto _ : state) {
    auto t0 = std::chrono::steady_clock::now();
    auto v = store->Log(*a, "");
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!v.ok()) state.SkipWithError(v.status().ToString().c_str());
  }
  Report(state, kFileBytes, seconds);
}

void BM_Download(benchmark::State& state) {
  const fs::path& src = BigFile();
  fs::path root = ScratchRoot() / "store-download";
  fs::remove_all(root);
  auto store = ArtifactStore::Open(root, {});
  auto a = Artifact::Create("big", ArtifactType::kModel);
  (void)a->AddFile(src);
  (void)store->Log(*a, "");
  auto h = store->Use("big", "");
  double seconds = 0;
  for (auto _ : state) {
    auto t0 = std::chrono::steady_clock::now();
    Status s = h->Download(ScratchRoot() / "download");
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!s.ok()) state.SkipWithError(s.ToString().c_str());
  }
  fs::remove_all(ScratchRoot() / "download");
  Report(state, kFileBytes, seconds);
}

}  // namespace

BENCHMARK(BM_Sha256WholeFile)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_FastCdcCutOnly)->Arg(256 << 10)->Arg(1 << 20)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ChunkAndHashInMemory)->Arg(256 << 10)->Arg(1 << 20)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_LogFirstTime)->Arg(0)->Arg(1)->Iterations(3)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_LogSecondIdentical)->Iterations(3)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Download)->Iterations(3)->Unit(benchmark::kMillisecond)->UseRealTime();

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  std::error_code ec;
  fs::remove_all(ScratchRoot(), ec);
  return 0;
}
