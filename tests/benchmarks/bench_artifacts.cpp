// Artifact throughput: FastCDC chunking + SHA-256 in memory, Log() of a 1 GiB file the first
// time and a second identical time (every chunk already stored), and Download(), each compared
// with a plain whole-file SHA-256 measured in the same run (counter "x_sha256" = throughput /
// SHA-256 throughput) and, for the file benchmarks, with a plain file copy ("x_copy").
//
//   cmake --build build-art --target bench_artifacts && build-art/tests/bench_artifacts
//
// Scratch files go to $TMPDIR (default /tmp), about 12 GiB at peak: only BM_Download deletes
// anything before the program ends (see BM_LogFirstTime and ForgetPages).
#include <benchmark/benchmark.h>

#include <fcntl.h>
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

// A path under the scratch root that no earlier iteration used. (Not state.iterations(): inside
// the loop of a fixed-iteration benchmark it stays 0, and every iteration would overwrite the
// first one's output, freeing gigabytes inside the timed section.)
fs::path NewScratchPath(const std::string& prefix) {
  static int counter = 0;
  return ScratchRoot() / (prefix + "-" + std::to_string(counter++));
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

// Writes back every dirty page before a timed section, so each benchmark pays for its own
// writes and not for the gigabytes the previous one left in the page cache.
void StartClean() { ::sync(); }

// Writes back and drops from the page cache every file under `path` (untimed, after a timed
// write). On this VM (nested, with free-page reporting) writing into memory the page cache never
// used before costs 2-3x more than reusing freed pages, for Log, Download and cp alike; so each
// benchmark leaves its pages free for the next, and the figures measure the code rather than
// how much memory earlier benchmarks consumed. Files stay: deleting them would hit the ext4
// slowdown described at BM_LogFirstTime.
void ForgetPages(const fs::path& path) {
  ::sync();
  auto forget = [](const fs::path& file) {
    int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    ::close(fd);
  };
  if (fs::is_regular_file(path)) return forget(path);
  for (const auto& e : fs::recursive_directory_iterator(path)) {
    if (e.is_regular_file()) forget(e.path());
  }
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

// Plain read() + write() copy of the big file into a new file, bytes/s: the file-system baseline
// (set by BM_CopyFileBaseline, which runs before the Log and Download benchmarks).
double copy_bytes_per_second = 0;

void Report(benchmark::State& state, size_t bytes_per_iter, double seconds) {
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes_per_iter));
  double rate = static_cast<double>(state.iterations() * bytes_per_iter) / seconds;
  state.counters["MB_per_s"] = rate / 1e6;
  state.counters["x_sha256"] = rate / Sha256BytesPerSecond();
  if (copy_bytes_per_second > 0) state.counters["x_copy"] = rate / copy_bytes_per_second;
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

// Seconds for a plain copy of `src` into the new file `dst`: 1 MiB read()s and write()s, what
// `cp` costs on this file system. Negative if the copy failed.
double TimedCopy(const fs::path& src, const fs::path& dst) {
  static std::string buf(1u << 20, '\0');
  StartClean();
  auto t0 = std::chrono::steady_clock::now();
  std::ifstream in(src, std::ios::binary);
  std::ofstream out(dst, std::ios::binary);
  while (in.read(buf.data(), static_cast<std::streamsize>(buf.size())) || in.gcount() > 0) {
    out.write(buf.data(), in.gcount());
  }
  out.close();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return out ? seconds : -1;
}

// The copy baseline for the Log benchmarks.
void BM_CopyFileBaseline(benchmark::State& state) {
  const fs::path& src = BigFile();
  double seconds = 0;
  for (auto _ : state) {
    fs::path dst = NewScratchPath("copy");
    double s = TimedCopy(src, dst);
    if (s < 0) state.SkipWithError("copy failed");
    seconds += s;
    ForgetPages(dst);
  }
  Report(state, kFileBytes, seconds);
  copy_bytes_per_second = static_cast<double>(state.iterations() * kFileBytes) / seconds;
}

// Log() of the 1 GiB file into an empty store (range(0) = 1: fdatasync every chunk).
void BM_LogFirstTime(benchmark::State& state) {
  const fs::path& src = BigFile();
  double seconds = 0;
  for (auto _ : state) {
    state.PauseTiming();
    // A fresh root per iteration, and nothing deleted until the program ends: on ext4 without a
    // journal (this VM), creating a file right after thousands were deleted costs ~1 ms of CPU
    // (the allocator skips inodes freed in the last minute), which would be measured instead.
    fs::path root = NewScratchPath("store-first-" + std::to_string(state.range(0)));
    ArtifactStoreOptions o;
    o.sync = state.range(0) != 0;
    auto store = ArtifactStore::Open(root, o);
    auto a = Artifact::Create("big", ArtifactType::kModel);
    (void)a->AddFile(src);
    StartClean();
    state.ResumeTiming();
    auto t0 = std::chrono::steady_clock::now();
    auto v = store->Log(*a, "");
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!v.ok()) state.SkipWithError(v.status().ToString().c_str());
    state.PauseTiming();
    ForgetPages(root);
    state.ResumeTiming();
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
    StartClean();
    auto t0 = std::chrono::steady_clock::now();
    auto v = store->Log(*a, "");
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!v.ok()) state.SkipWithError(v.status().ToString().c_str());
  }
  Report(state, kFileBytes, seconds);
}

// Download() of the 1 GiB file, each time right after a plain copy of it into the same directory
// ("x_copy" compares with those copies, made in the same state, not with BM_CopyFileBaseline).
// Both are deleted right after they are timed, so each writes into the pages the last one freed
// (see ForgetPages, which cannot free tmpfs pages); deleting one file does not hit the ext4
// slowdown described at BM_LogFirstTime.
void BM_Download(benchmark::State& state) {
  const fs::path& src = BigFile();
  fs::path root = ScratchRoot() / "store-download";
  fs::remove_all(root);
  auto store = ArtifactStore::Open(root, {});
  auto a = Artifact::Create("big", ArtifactType::kModel);
  (void)a->AddFile(src);
  (void)store->Log(*a, "");
  auto h = store->Use("big", "");
  double seconds = 0, copy_seconds = 0;
  for (auto _ : state) {
    state.PauseTiming();
    fs::path dir = NewScratchPath("download");
    fs::create_directories(dir);
    double c = TimedCopy(src, dir / "copy.bin");
    if (c < 0) state.SkipWithError("copy failed");
    copy_seconds += c;
    fs::remove(dir / "copy.bin");
    StartClean();
    state.ResumeTiming();
    auto t0 = std::chrono::steady_clock::now();
    Status s = h->Download(dir);
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!s.ok()) state.SkipWithError(s.ToString().c_str());
    state.PauseTiming();
    fs::remove_all(dir);
    state.ResumeTiming();
  }
  Report(state, kFileBytes, seconds);
  state.counters["copy_MB_per_s"] = static_cast<double>(state.iterations() * kFileBytes) / copy_seconds / 1e6;
  state.counters["x_copy"] = copy_seconds / seconds;
}

}  // namespace

BENCHMARK(BM_Sha256WholeFile)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_FastCdcCutOnly)->Arg(256 << 10)->Arg(1 << 20)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ChunkAndHashInMemory)->Arg(256 << 10)->Arg(1 << 20)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_CopyFileBaseline)->Iterations(3)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_LogFirstTime)->Arg(0)->Arg(1)->Iterations(3)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_LogSecondIdentical)->Iterations(3)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Download)->Iterations(5)->Unit(benchmark::kMillisecond)->UseRealTime();

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  std::error_code ec;
  fs::remove_all(ScratchRoot(), ec);
  return 0;
}
