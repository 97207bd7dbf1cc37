// What journal shipping costs the training loop (docs/REMOTE.md, docs/PERFORMANCE.md "Journal
// shipping"): Run::Log in a tight loop with shipping off (the baseline) and on, in the deployment
// shape: the viewer is a separate process (the real `runicorn viewer`, started here on loopback,
// stopped by PID), never threads of the benchmark.
//
// Honesty rules: off and on repetitions alternate within one run (ABBA order), so the load that
// other processes put on the machine hits both alike, and the figure is the median of the per-pair
// ratios (`--pairs`, default 8); each repetition logs for `--seconds` (default 1.5 s), so the
// shipper's rounds (once a second) and the viewer's work on what it receives fall inside the timed
// window. The loop writes more journal than the shipper sends per round, so the shipper and the
// viewer are busy the whole time: the worst case. Between repetitions the benchmark waits until
// the viewer is idle, so one repetition's leftover work does not land in the next. Each shipping
// repetition's Finish() does not wait for the backlog (finish_timeout 0), so it prints one
// "journal not fully shipped" line on stderr.
//
// Paced mode (BM_PacedShippingOffVsOn/<points per second>): the tight loop writes ~300 MB/s of
// journal, far more than any training loop. The paced loop models one: each step is a busy-spin
// of fixed work (the "compute"; the same instructions on and off, so a slower machine shows as
// longer steps, not fewer Log calls) and then one Log call of 10 metrics, with the work chosen at
// start so that, with shipping off, the loop logs the given points per second (10^4 and 10^5).
// Reported per Log call (10 points): wall and the logging thread's CPU, measured around each call
// with the cost of the two clock reads subtracted, the median call of the repetition; and per
// step: the loop's wall time (what training feels).
//
// Also: the zstd level of an ingest body (1, what the shipper uses, against 3, zstd's default) on
// real journal bytes, as Google Benchmark cases.
#include <benchmark/benchmark.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <arpa/inet.h>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <netinet/in.h>
#include <span>
#include <sstream>
#include <string>
#include <sys/socket.h>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "runtrack/remote.h"
#include "runtrack/store.h"

extern char** environ;

namespace {
using namespace runtrack;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

fs::path g_dir;  // everything this benchmark writes
int g_pairs = 8;
double g_seconds = 1.5;

uint16_t FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

bool Listening(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

// CPU seconds (user + system) a process has used, from /proc/<pid>/stat.
double ProcessCpuSeconds(pid_t pid) {
  std::ifstream in(fmt::format("/proc/{}/stat", pid));
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream fields(stat.substr(close + 2));
  std::string f;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && fields >> f; ++i) {
    if (i == 14) utime = std::stoull(f);
    if (i == 15) stime = std::stoull(f);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

double ThreadCpuSeconds(clockid_t clock) {
  timespec ts{};
  ::clock_gettime(clock, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// The real `runicorn viewer` on a free loopback port, its own store, no token, no rate limits
// (the benchmark's requests are not what they guard against); SIGTERM by PID at the end.
class ViewerProcess {
 public:
  ViewerProcess() {
    const fs::path root = g_dir / "central";
    fs::create_directories(root / "runs");
    fs::create_directories(g_dir / "home");
    std::ofstream(g_dir / "rate_limits.json") << R"({"enabled": false})";
    port_ = FreePort();
    const std::vector<std::string> argv = {RUNICORN_BINARY, "viewer", "--storage", root.string(), "--port",
                                           std::to_string(port_), "--rate-limits",
                                           (g_dir / "rate_limits.json").string()};
    std::vector<std::string> env;
    for (char** e = environ; *e != nullptr; ++e) {
      std::string kv = *e;
      const std::string name = kv.substr(0, kv.find('='));
      if (name != "HOME" && name != "XDG_CONFIG_HOME" && name.rfind("RUNICORN_", 0) != 0) env.push_back(kv);
    }
    env.push_back("HOME=" + (g_dir / "home").string());
    env.push_back("XDG_CONFIG_HOME=" + (g_dir / "home" / ".config").string());
    std::vector<char*> args, envp;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
    const std::string log = (g_dir / "viewer.log").string();
    pid_ = ::fork();
    if (pid_ == 0) {
      if (std::freopen(log.c_str(), "w", stdout) == nullptr || std::freopen(log.c_str(), "a", stderr) == nullptr)
        ::_exit(126);
      ::execve(args[0], args.data(), envp.data());
      ::_exit(127);
    }
    const auto deadline = Clock::now() + std::chrono::seconds(60);
    while (!Listening(port_) && Clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (!Listening(port_)) std::fprintf(stderr, "runicorn viewer did not start; see %s\n", log.c_str());
  }
  ~ViewerProcess() {
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
  std::string url() const { return fmt::format("http://127.0.0.1:{}", port_); }
  pid_t pid() const { return pid_; }
  // Until the viewer used less than 1% of a core over half a second (its indexer has caught up
  // with what it received), at most 60 s.
  void WaitIdle() const {
    const auto deadline = Clock::now() + std::chrono::seconds(60);
    double before = ProcessCpuSeconds(pid_);
    while (Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
      const double now = ProcessCpuSeconds(pid_);
      if (now - before <= 0.005) return;
      before = now;
    }
  }

 private:
  pid_t pid_ = -1;
  uint16_t port_ = 0;
};

struct Rep {
  double wall_ns = 0;         // per Log call
  double cpu_ns = 0;          // per Log call, the logging thread's CPU time
  double others_cpu_s = 0;    // the writer's other threads (flusher, shipper) during the window
  double viewer_cpu_s = 0;    // the viewer process during the window
  double window_s = 0;
  uint64_t calls = 0;
  uint64_t shipped_bytes = 0;  // acknowledged by the viewer at the end of the window
  double step_ns = 0;          // paced: wall per step (compute + Log)
};

// The shape of one repetition's loop: tight (one point per call, no compute) or paced.
struct Workload {
  bool paced = false;
  uint64_t spin = 0;  // paced: iterations of Spin() per step
};

constexpr int kMetricsPerStep = 10;
const MetricValue kStepNames[kMetricsPerStep] = {
    {"loss", 0}, {"acc", 0}, {"lr", 0}, {"grad_norm", 0}, {"val_loss", 0},
    {"val_acc", 0}, {"tput", 0}, {"mem", 0}, {"epoch", 0}, {"data_time", 0}};

// The training step's compute: fixed work the compiler cannot drop or shorten.
uint64_t Spin(uint64_t iterations, uint64_t seed) {
  uint64_t x = seed | 1;
  for (uint64_t i = 0; i < iterations; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
  }
  benchmark::DoNotOptimize(x);
  return x;
}

// The cost of the clock reads around one Log call (steady_clock + thread CPU clock, twice),
// subtracted from each paced measurement: the median of many empty measurements.
struct ClockCost {
  double wall_ns = 0, cpu_ns = 0;
};
ClockCost g_clock_cost;

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n == 0 ? 0 : n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// One repetition: a fresh store and run, Log in the workload's loop for g_seconds.
Rep LogFor(bool shipping, const ViewerProcess& viewer, int index, const Workload& work = {}) {
  const fs::path root = g_dir / fmt::format("node{}", index);
  StoreOptions o;
  if (shipping) {
    o.server = viewer.url();
    // The backlog of a loop far faster than the shipper is not waited for: it does not belong to
    // the timed window, and the next repetition starts from an idle machine.
    o.finish_timeout = std::chrono::milliseconds(0);
  }
  Rep rep;
  {
    auto store = Store::Open(root, o);
    if (!store.ok()) {
      std::fprintf(stderr, "open: %s\n", store.status().ToString().c_str());
      return rep;
    }
    auto run = (*store)->CreateRun({});
    if (!run.ok()) {
      std::fprintf(stderr, "create: %s\n", run.status().ToString().c_str());
      return rep;
    }
    int64_t step = 0;
    const double viewer0 = ProcessCpuSeconds(viewer.pid());
    const double thread0 = ThreadCpuSeconds(CLOCK_THREAD_CPUTIME_ID);
    const double process0 = ThreadCpuSeconds(CLOCK_PROCESS_CPUTIME_ID);
    const auto t0 = Clock::now();
    const auto until = t0 + std::chrono::duration<double>(g_seconds);
    // Paced: every call's wall and CPU; the repetition's figure is the median call, because on
    // a loaded machine the mean is set by the few calls during which the thread was preempted.
    std::vector<double> log_wall_ns, log_cpu_ns;
    if (!work.paced) {
      do {
        for (int i = 0; i < 1024; ++i) benchmark::DoNotOptimize((*run)->Log(step++, "loss", 0.5));
      } while (Clock::now() < until);
    } else {
      MetricValue values[kMetricsPerStep];
      std::copy(std::begin(kStepNames), std::end(kStepNames), values);
      do {
        const uint64_t x = Spin(work.spin, static_cast<uint64_t>(step));
        for (auto& v : values) v.second = static_cast<double>(x & 0xffff) * 1e-4;
        const auto w0 = Clock::now();
        const double c0 = ThreadCpuSeconds(CLOCK_THREAD_CPUTIME_ID);
        benchmark::DoNotOptimize((*run)->Log(std::span<const MetricValue>(values), step++));
        const double c1 = ThreadCpuSeconds(CLOCK_THREAD_CPUTIME_ID);
        const auto w1 = Clock::now();
        log_wall_ns.push_back(std::chrono::duration<double, std::nano>(w1 - w0).count() - g_clock_cost.wall_ns);
        log_cpu_ns.push_back((c1 - c0) * 1e9 - g_clock_cost.cpu_ns);
      } while (Clock::now() < until);
    }
    const auto t1 = Clock::now();
    const double thread1 = ThreadCpuSeconds(CLOCK_THREAD_CPUTIME_ID);
    const double process1 = ThreadCpuSeconds(CLOCK_PROCESS_CPUTIME_ID);
    rep.viewer_cpu_s = ProcessCpuSeconds(viewer.pid()) - viewer0;
    rep.window_s = std::chrono::duration<double>(t1 - t0).count();
    rep.calls = static_cast<uint64_t>(step);
    if (!work.paced) {
      rep.wall_ns = rep.window_s * 1e9 / static_cast<double>(step);
      rep.cpu_ns = (thread1 - thread0) * 1e9 / static_cast<double>(step);
    } else {
      rep.wall_ns = Median(std::move(log_wall_ns));
      rep.cpu_ns = Median(std::move(log_cpu_ns));
      rep.step_ns = rep.window_s * 1e9 / static_cast<double>(step);
    }
    rep.others_cpu_s = (process1 - process0) - (thread1 - thread0);
    if (shipping)
      if (auto shipped = ReadShippedOffset((*store)->layout(), (*run)->id()); shipped.ok()) rep.shipped_bytes = *shipped;
    (void)(*run)->Finish();
  }
  fs::remove_all(root);
  viewer.WaitIdle();
  return rep;
}


// Per workload (in the order run): its label and its (off, on) pairs.
std::vector<std::pair<std::string, std::vector<std::pair<Rep, Rep>>>> g_measured;

// `g_pairs` alternating (ABBA) pairs of repetitions of `work`, recorded under `label`.
void MeasurePairs(benchmark::State& state, const std::string& label, const ViewerProcess& viewer,
                  const Workload& work) {
  auto& pairs = g_measured.emplace_back(label, std::vector<std::pair<Rep, Rep>>{}).second;
  int index = 0;
  for (int p = 0; p < g_pairs; ++p) {
    Rep off, on;
    if (p % 2 == 0) {
      off = LogFor(false, viewer, index++, work);
      on = LogFor(true, viewer, index++, work);
    } else {
      on = LogFor(true, viewer, index++, work);
      off = LogFor(false, viewer, index++, work);
    }
    pairs.emplace_back(off, on);
    state.SetIterationTime(off.window_s + on.window_s);
  }
  std::vector<double> wall, cpu;
  for (const auto& [off, on] : pairs) {
    wall.push_back(on.wall_ns / off.wall_ns);
    cpu.push_back(on.cpu_ns / off.cpu_ns);
  }
  state.counters["median_wall_ratio"] = Median(wall);
  state.counters["median_cpu_ratio"] = Median(cpu);
}

void BM_LogShippingOffVsOn(benchmark::State& state) {
  for (auto _ : state) {
    ViewerProcess viewer;
    viewer.WaitIdle();
    MeasurePairs(state, "tight loop, 1 point per call (worst case)", viewer, {});
  }
}
BENCHMARK(BM_LogShippingOffVsOn)->Iterations(1)->UseManualTime()->Unit(benchmark::kSecond);

// Spin iterations per step so that, with shipping off, a step (compute + one Log of 10 points)
// takes 10 / points_per_second: measured on a shipping-off run before the pairs.
uint64_t CalibrateSpin(double points_per_second) {
  const double step_ns = 1e9 * kMetricsPerStep / points_per_second;
  const fs::path root = g_dir / "calibrate";
  uint64_t spin = 0;
  {
    auto store = Store::Open(root);
    auto run = (*store)->CreateRun({});
    // The Log call's own wall time at this shape (a short warm loop).
    MetricValue values[kMetricsPerStep];
    std::copy(std::begin(kStepNames), std::end(kStepNames), values);
    const auto l0 = Clock::now();
    for (int i = 0; i < 20000; ++i) benchmark::DoNotOptimize((*run)->Log(std::span<const MetricValue>(values), i));
    const double log_ns = std::chrono::duration<double, std::nano>(Clock::now() - l0).count() / 20000;
    // Spin's speed: the best of a few timed runs of 10^6 iterations.
    double best = 1e18;
    for (int i = 0; i < 5; ++i) {
      const auto s0 = Clock::now();
      Spin(1000000, static_cast<uint64_t>(i));
      best = std::min(best, std::chrono::duration<double, std::nano>(Clock::now() - s0).count());
    }
    spin = static_cast<uint64_t>(std::max(0.0, step_ns - log_ns) / (best / 1e6));
    (void)(*run)->Finish();
  }
  fs::remove_all(root);
  return spin;
}

void BM_PacedShippingOffVsOn(benchmark::State& state) {
  const double rate = static_cast<double>(state.range(0));
  for (auto _ : state) {
    ViewerProcess viewer;
    viewer.WaitIdle();
    Workload work;
    work.paced = true;
    work.spin = CalibrateSpin(rate);
    MeasurePairs(state,
                 fmt::format("paced, {:.0f} points/s: one Log of {} points per step, {} spin iterations of compute",
                             rate, kMetricsPerStep, work.spin),
                 viewer, work);
  }
}
BENCHMARK(BM_PacedShippingOffVsOn)->Arg(10000)->Arg(100000)->Iterations(1)->UseManualTime()->Unit(benchmark::kSecond);

ClockCost MeasureClockCost() {
  std::vector<double> wall, cpu;
  for (int i = 0; i < 20000; ++i) {
    const auto w0 = Clock::now();
    const double c0 = ThreadCpuSeconds(CLOCK_THREAD_CPUTIME_ID);
    const double c1 = ThreadCpuSeconds(CLOCK_THREAD_CPUTIME_ID);
    const auto w1 = Clock::now();
    wall.push_back(std::chrono::duration<double, std::nano>(w1 - w0).count());
    cpu.push_back((c1 - c0) * 1e9);
  }
  return {Median(wall), Median(cpu)};
}

// A real journal's bytes: one run's first 512 KiB (one ingest batch) of 8 metrics.
const std::string& JournalBatch() {
  static const std::string bytes = [] {
    const fs::path root = g_dir / "zstd-sample";
    std::string out;
    {
      auto store = Store::Open(root);
      auto run = (*store)->CreateRun({});
      const char* names[] = {"loss", "acc", "lr", "grad_norm", "val_loss", "val_acc", "tput", "mem"};
      for (int s = 0; s < 4096; ++s)
        for (int m = 0; m < 8; ++m) (void)(*run)->Log(s, names[m], 1.0 / (s + 1) + m * 0.01 * s);
      const std::string id = (*run)->id();
      (void)(*run)->Finish();
      std::ifstream in((*store)->layout().journal_path(id), std::ios::binary);
      out.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    fs::remove_all(root);
    out.resize(std::min<size_t>(out.size(), 512u << 10));
    return out;
  }();
  return bytes;
}

void BM_ZstdLevel(benchmark::State& state) {
  const std::string& raw = JournalBatch();
  std::string out(ZSTD_compressBound(raw.size()), '\0');
  ZSTD_CCtx* ctx = ZSTD_createCCtx();
  size_t n = 0;
  for (auto _ : state) {
    n = ZSTD_compressCCtx(ctx, out.data(), out.size(), raw.data(), raw.size(), static_cast<int>(state.range(0)));
    benchmark::DoNotOptimize(n);
  }
  ZSTD_freeCCtx(ctx);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * raw.size()));
  state.counters["ratio"] = static_cast<double>(raw.size()) / static_cast<double>(n);
}
BENCHMARK(BM_ZstdLevel)->Arg(1)->Arg(3)->Unit(benchmark::kMicrosecond);

}  // namespace

int main(int argc, char** argv) {
  // Our own flags first (Google Benchmark refuses unknown ones).
  std::vector<char*> rest;
  for (int i = 0; i < argc; ++i) {
    if (std::strcmp(argv[i], "--pairs") == 0 && i + 1 < argc) g_pairs = std::max(1, std::atoi(argv[++i]));
    else if (std::strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) g_seconds = std::max(0.2, std::atof(argv[++i]));
    else rest.push_back(argv[i]);
  }
  int rest_argc = static_cast<int>(rest.size());
  // RUNICORN_SERVER / RUNICORN_TOKEN must not turn shipping on for the baseline.
  ::unsetenv("RUNICORN_SERVER");
  ::unsetenv("RUNICORN_TOKEN");
  ::unsetenv("RUNICORN_STREAM");
  g_dir = fs::temp_directory_path() / fmt::format("bench-ship-cost-{}", ::getpid());
  fs::remove_all(g_dir);
  fs::create_directories(g_dir);
  g_clock_cost = MeasureClockCost();
  benchmark::Initialize(&rest_argc, rest.data());
  benchmark::RunSpecifiedBenchmarks();

  std::printf("\nclock reads around a paced Log call (subtracted): %.1f ns wall, %.1f ns CPU\n",
              g_clock_cost.wall_ns, g_clock_cost.cpu_ns);
  for (const auto& [label, pairs] : g_measured) {
    std::printf("\nRun::Log, shipping off vs on, %s (viewer: a separate `runicorn viewer` process on loopback)\n",
                label.c_str());
    std::printf("%-5s %10s %10s %10s %10s %8s %8s %8s %12s %12s %12s %10s %10s\n", "pair", "off ns", "on ns",
                "off cpu", "on cpu", "wall x", "cpu x", "step x", "off others s", "on others s", "viewer cpu s",
                "shipped MB", "on pts/s");
    std::vector<double> wall, cpu, step;
    int p = 0;
    for (const auto& [off, on] : pairs) {
      wall.push_back(on.wall_ns / off.wall_ns);
      cpu.push_back(on.cpu_ns / off.cpu_ns);
      step.push_back(off.step_ns > 0 ? on.step_ns / off.step_ns : 0);
      const double points = static_cast<double>(on.calls) * (on.step_ns > 0 ? kMetricsPerStep : 1);
      std::printf("%-5d %10.1f %10.1f %10.1f %10.1f %8.3f %8.3f %8.3f %12.2f %12.2f %12.2f %10.1f %10.0f\n", p++,
                  off.wall_ns, on.wall_ns, off.cpu_ns, on.cpu_ns, wall.back(), cpu.back(), step.back(),
                  off.others_cpu_s, on.others_cpu_s, on.viewer_cpu_s, static_cast<double>(on.shipped_bytes) / 1e6,
                  points / on.window_s);
    }
    std::printf("median ratio (on / off): Log wall %.3f, Log CPU %.3f, step wall %.3f over %zu pairs of %.1f s each\n",
                Median(wall), Median(cpu), Median(step), pairs.size(), g_seconds);
  }
  benchmark::Shutdown();
  fs::remove_all(g_dir);
  return 0;
}
