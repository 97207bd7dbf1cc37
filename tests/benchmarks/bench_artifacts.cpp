// Artifact throughput: FastCDC chunking + SHA-256 in memory, Log() of a 1 GiB file the first
// time and a second identical time (every chunk already stored), and Download(), each compared
// with a plain whole-file SHA-256 measured in the same run (counter "x_sha256" = throughput /
// SHA-256 throughput) and, for the file benchmarks, with a plain file copy ("x_copy").
//
//   cmake --build build-art --target bench_artifacts && build-art/tests/bench_artifacts
//
// Every timed section also reports the CPU time of all threads ("cpu_s_per_GiB") and how many
// cores that kept busy ("cores_busy": 2 on this 2-core VM means CPU-bound).
//
// Scratch files go to $TMPDIR (default /tmp), about 12 GiB at peak. Before the program ends only
// single copies are deleted (see WaitUntilFileCreationIsFast and ForgetPages).
#include <benchmark/benchmark.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "artifacts/fastcdc.h"
#include "artifacts/sha256.h"
#include "runtrack/artifacts.h"

namespace fs = std::filesystem;
using namespace runtrack;

namespace {

constexpr size_t kMemBytes = 256u << 20;
constexpr size_t kFileBytes = 1u << 30;
// Memory touched and freed before each timed section (see PrepareTimedSection).
constexpr size_t kWarmBytes = size_t{3} << 30;

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

// Runs right before every timed section (untimed). Writes back every dirty page, so each
// benchmark pays for its own writes and not for what the previous one left in the page cache;
// then touches and frees kWarmBytes of memory. This VM (nested, with free-page reporting) hands
// memory the guest frees back to the host after about two seconds, and the next write into it
// costs 2-3x more: a first Log used 5.5 CPU-s/GiB right after the page cache was dropped, 3.0
// after this. A machine with its own RAM never pays that, so this makes the figures measure the
// code rather than the VM's memory. Copies, Logs and Downloads all get it.
void PrepareTimedSection() {
  ::sync();
  void* p = ::mmap(nullptr, kWarmBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return;
  std::memset(p, 1, kWarmBytes);
  ::munmap(p, kWarmBytes);
}

// Writes back and drops from the page cache every file under `path` (untimed, after a timed
// write), so the gigabytes earlier benchmarks wrote do not fill memory and make later ones
// reclaim pages inside their timed sections. Files stay: deleting thousands of them would make
// creating files slow for a minute or more (see WaitUntilFileCreationIsFast).
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

// Microseconds per file to create 1000 empty files in a new scratch directory. The files stay
// until the program ends: deleting them would feed the slowdown below.
double MicrosecondsPerCreate() {
  fs::path dir = NewScratchPath("create-probe");
  fs::create_directories(dir);
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 1000; ++i) {
    int fd = ::open((dir / std::to_string(i)).c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd >= 0) ::close(fd);
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() * 1e6 / 1000;
}

// ext4 without a journal (this VM's disk) will not reuse an inode freed in the last minute, or
// six while its inode-table block is dirty, and checks each such free inode it passes when it
// allocates one. After thousands of deletes (an earlier run's cleanup, a gc) creating a file
// costs up to ~1 ms of CPU instead of ~20 us, and a first Log, which creates ~4000 chunk files
// per GiB, runs at half speed or less (measured: still slow 100 s after a run deleted 25,000
// files). Dropping the page cache only helps until the inode-table blocks are read back.
// Journaled ext4, XFS and tmpfs do not do this. So, before any benchmark: wait until creating
// files is fast again, for up to six minutes.
void WaitUntilFileCreationIsFast() {
  constexpr double kHealthyMicroseconds = 100;
  constexpr int kPollSeconds = 15, kMaxWaitSeconds = 360;
  double us = MicrosecondsPerCreate();
  for (int waited = 0; us > kHealthyMicroseconds && waited < kMaxWaitSeconds; waited += kPollSeconds) {
    std::fprintf(stderr, "creating a file takes %.0f us (healthy: ~20): ext4 still skips recently deleted inodes; "
                 "waiting\n", us);
    std::this_thread::sleep_for(std::chrono::seconds(kPollSeconds));
    us = MicrosecondsPerCreate();
  }
  if (us > kHealthyMicroseconds) {
    std::fprintf(stderr, "WARNING: creating a file still takes %.0f us; the first-Log figures will be low\n", us);
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

// CPU seconds used so far by every thread of this process.
double ProcessCpuSeconds() {
  timespec ts{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// Wall and process CPU time of the timed sections, summed over iterations. The ratio tells
// whether a benchmark is limited by the CPU (both cores busy: ~2) or waits for something else.
struct Timer {
  double wall = 0, cpu = 0;
  template <typename F>
  auto Time(F&& f) {
    auto t0 = std::chrono::steady_clock::now();
    double c0 = ProcessCpuSeconds();
    auto result = f();
    cpu += ProcessCpuSeconds() - c0;
    wall += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return result;
  }
};

void Report(benchmark::State& state, size_t bytes_per_iter, double seconds) {
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes_per_iter));
  double rate = static_cast<double>(state.iterations() * bytes_per_iter) / seconds;
  state.counters["MB_per_s"] = rate / 1e6;
  state.counters["x_sha256"] = rate / Sha256BytesPerSecond();
  if (copy_bytes_per_second > 0) state.counters["x_copy"] = rate / copy_bytes_per_second;
}

void Report(benchmark::State& state, size_t bytes_per_iter, const Timer& timer) {
  Report(state, bytes_per_iter, timer.wall);
  state.counters["cpu_s_per_GiB"] = timer.cpu / (static_cast<double>(state.iterations() * bytes_per_iter) / (1u << 30));
  state.counters["cores_busy"] = timer.cpu / timer.wall;
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
// `cp` costs on this file system; with `durable`, plus one fdatasync, what a durable copy costs
// (the baseline for a Log that syncs). Negative if the copy failed.
double TimedCopy(const fs::path& src, const fs::path& dst, bool durable = false) {
  static std::string buf(1u << 20, '\0');
  PrepareTimedSection();
  auto t0 = std::chrono::steady_clock::now();
  int in = ::open(src.c_str(), O_RDONLY | O_CLOEXEC);
  int out = ::open(dst.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  bool ok = in >= 0 && out >= 0;
  for (ssize_t n; ok && (n = ::read(in, buf.data(), buf.size())) != 0;) {
    ok = n > 0 && ::write(out, buf.data(), static_cast<size_t>(n)) == n;
  }
  if (ok && durable) ok = ::fdatasync(out) == 0;
  if (in >= 0) ::close(in);
  if (out >= 0 && ::close(out) != 0) ok = false;
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return ok ? seconds : -1;
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

// Log() of the 1 GiB file into an empty store (range(0) = 1: fdatasync every chunk), each time
// right after a copy of it made in the same state ("x_copy" compares with those copies; with
// sync they are durable copies, one fdatasync at the end).
void BM_LogFirstTime(benchmark::State& state) {
  const fs::path& src = BigFile();
  const bool sync = state.range(0) != 0;
  Timer timer;
  double copy_seconds = 0;
  for (auto _ : state) {
    state.PauseTiming();
    // A fresh root per iteration, and nothing deleted until the program ends (one copy aside):
    // see WaitUntilFileCreationIsFast.
    fs::path root = NewScratchPath("store-first-" + std::to_string(state.range(0)));
    ArtifactStoreOptions o;
    o.sync = sync;
    auto store = ArtifactStore::Open(root, o);
    auto a = Artifact::Create("big", ArtifactType::kModel);
    (void)a->AddFile(src);
    fs::path copy = NewScratchPath("copy-before-log");
    double c = TimedCopy(src, copy, sync);
    if (c < 0) state.SkipWithError("copy failed");
    copy_seconds += c;
    fs::remove(copy);
    PrepareTimedSection();
    state.ResumeTiming();
    auto v = timer.Time([&] { return store->Log(*a, ""); });
    if (!v.ok()) state.SkipWithError(v.status().ToString().c_str());
    state.PauseTiming();
    ForgetPages(root);
    state.ResumeTiming();
  }
  Report(state, kFileBytes, timer);
  state.counters["copy_MB_per_s"] = static_cast<double>(state.iterations() * kFileBytes) / copy_seconds / 1e6;
  state.counters["x_copy"] = copy_seconds / timer.wall;
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
  Timer timer;
  for (auto _ : state) {
    state.PauseTiming();
    PrepareTimedSection();
    state.ResumeTiming();
    auto v = timer.Time([&] { return store->Log(*a, ""); });
    if (!v.ok()) state.SkipWithError(v.status().ToString().c_str());
  }
  Report(state, kFileBytes, timer);
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
  Timer timer;
  double copy_seconds = 0;
  for (auto _ : state) {
    state.PauseTiming();
    fs::path dir = NewScratchPath("download");
    fs::create_directories(dir);
    double c = TimedCopy(src, dir / "copy.bin");
    if (c < 0) state.SkipWithError("copy failed");
    copy_seconds += c;
    fs::remove(dir / "copy.bin");
    PrepareTimedSection();
    state.ResumeTiming();
    Status s = timer.Time([&] { return h->Download(dir); });
    if (!s.ok()) state.SkipWithError(s.ToString().c_str());
    state.PauseTiming();
    fs::remove_all(dir);
    state.ResumeTiming();
  }
  Report(state, kFileBytes, timer);
  state.counters["copy_MB_per_s"] = static_cast<double>(state.iterations() * kFileBytes) / copy_seconds / 1e6;
  state.counters["x_copy"] = copy_seconds / timer.wall;
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
  WaitUntilFileCreationIsFast();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  std::error_code ec;
  fs::remove_all(ScratchRoot(), ec);
  // Clean inode tables: ext4 then treats the inodes just freed as recent for one minute instead
  // of six, and a next run can start sooner (see WaitUntilFileCreationIsFast).
  ::sync();
  return 0;
}
