// Task-runner benchmarks (Pyruns launcher). Each figure comes with a baseline measured in the
// same run, printed as counters:
//   expand       ExpandBatchTemplate of 10,000 configs   vs  emitting the un-expanded template
//                                                            10,000 times (YAML output alone)
//                target: ≤ 200 ms
//   list         a page of 50 with status counts over a   vs  readdir() of the same tasks/ folder
//                10,000-task workspace, warm                  (what any fresh listing must beat)
//                target: ≤ 10 ms
//   scheduler    1,000 no-op shell tasks, 8 workers       vs  8 threads fork/exec'ing the same
//                (claim, run, log, final status on disk)      `/bin/sh config.sh` 1,000 times
//                target: (runner − baseline) / 1,000 ≤ 2 ms per task, in wall time and in this
//                process's CPU time (the latter is what the scheduler itself costs, whatever
//                else the machine is doing)
//
//   ./build/tests/bench_tasks --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>
#include <dirent.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "runtrack/tasks.h"
#include "tasks/batch_expansion.h"
#include "tasks/config_value.h"

namespace fs = std::filesystem;
using namespace runtrack;
using Clock = std::chrono::steady_clock;

extern char** environ;

namespace {

constexpr const char* kTemplate =
    "model:\n  name: resnet\n  depth: 50\n  dropout: 0.1\n"
    "optim:\n  lr: 0:100\n  momentum: 0.9\n  nesterov: true\n"
    "data:\n  path: /data/imagenet\n  batch_size: 256\n"
    "seed: 0:100\nnotes: baseline sweep\n";

fs::path ScratchRoot(const char* name) {
  fs::path p = fs::temp_directory_path() / fmt::format("runtrack-bench-{}-{}", name, ::getpid());
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// CPU time of this process (all threads, not its children), in ms: the scheduler's own cost,
// which unlike wall time does not depend on how busy the shared machine is.
double ProcessCpuMs() {
  struct rusage ru {};
  ::getrusage(RUSAGE_SELF, &ru);
  auto ms = [](const timeval& tv) { return tv.tv_sec * 1e3 + tv.tv_usec / 1e3; };
  return ms(ru.ru_utime) + ms(ru.ru_stime);
}

void BM_ExpandTenThousandConfigs(benchmark::State& state) {
  auto root = tasks::ParseTemplate(kTemplate);
  double subject = 0, baseline = 0;
  size_t n = 0;
  for (auto _ : state) {
    auto t0 = Clock::now();
    auto configs = ExpandBatchTemplate(kTemplate);
    auto t1 = Clock::now();
    if (!configs.ok()) { state.SkipWithError(configs.status().ToString().c_str()); return; }
    n = configs->size();
    std::vector<std::string> plain;
    plain.reserve(n);
    auto t2 = Clock::now();
    for (size_t k = 0; k < n; ++k) plain.push_back(tasks::EmitYamlConfig(*root));
    auto t3 = Clock::now();
    subject += Ms(t1 - t0);
    baseline += Ms(t3 - t2);
    benchmark::DoNotOptimize(plain.data());
  }
  double iters = static_cast<double>(state.iterations());
  state.counters["configs"] = static_cast<double>(n);
  state.counters["expand_ms"] = subject / iters;
  state.counters["baseline_emit_ms"] = baseline / iters;
  state.counters["ratio"] = subject / baseline;
  state.counters["target_ms"] = 200;
}
BENCHMARK(BM_ExpandTenThousandConfigs)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(5);

struct ListingFixture {
  fs::path root;
  std::unique_ptr<Workspace> ws;
  ListingFixture() {
    root = ScratchRoot("tasks-list");
    ws = std::move(Workspace::OpenShell(root)).value();
    CreateTasksOptions o;
    o.append_timestamp = false;
    o.shell_text = "true\n";
    for (int k = 0; k < 10000; ++k) {
      o.name_prefix = fmt::format("task-{:05}", k);
      (void)ws->CreateTasks(o);
    }
  }
  ~ListingFixture() { fs::remove_all(root); }
};

ListingFixture& Listing() {
  static ListingFixture fixture;
  return fixture;
}

void BM_ListPageOf50Warm(benchmark::State& state) {
  ListingFixture& f = Listing();
  TaskListQuery q;
  q.limit = 50;
  auto first = f.ws->ListTasks(q);  // cold: loads every task once
  if (!first.ok() || first->total != 10000) { state.SkipWithError("workspace not built"); return; }
  double subject = 0, baseline = 0;
  for (auto _ : state) {
    auto t0 = Clock::now();
    auto page = f.ws->ListTasks(q);
    auto t1 = Clock::now();
    benchmark::DoNotOptimize(page->items.data());
    size_t entries = 0;
    DIR* d = ::opendir((f.ws->dir() / "tasks").c_str());
    while (::readdir(d)) ++entries;
    ::closedir(d);
    auto t2 = Clock::now();
    benchmark::DoNotOptimize(entries);
    subject += Ms(t1 - t0);
    baseline += Ms(t2 - t1);
  }
  double iters = static_cast<double>(state.iterations());
  state.counters["tasks"] = 10000;
  state.counters["list_ms"] = subject / iters;
  state.counters["baseline_readdir_ms"] = baseline / iters;
  state.counters["ratio"] = subject / baseline;
  state.counters["target_ms"] = 10;
}
BENCHMARK(BM_ListPageOf50Warm)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(200);

// 8 threads, each fork/exec'ing `argv` and waiting, until `total` children have run.
double RawSpawnMs(const std::vector<std::string>& argv, int threads, int total) {
  std::atomic<int> next{0};
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  auto t0 = Clock::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&] {
      while (next.fetch_add(1) < total) {
        pid_t pid = ::fork();
        if (pid == 0) {
          ::setpgid(0, 0);
          ::execve(args[0], args.data(), environ);
          ::_exit(127);
        }
        int status = 0;
        ::waitpid(pid, &status, 0);
      }
    });
  for (auto& t : pool) t.join();
  return Ms(Clock::now() - t0);
}

void BM_SchedulerOverhead(benchmark::State& state) {
  constexpr int kTasks = 1000, kWorkers = 8;
  for (auto _ : state) {
    state.PauseTiming();
    fs::path root = ScratchRoot("tasks-sched");
    auto ws = std::move(Workspace::OpenShell(root)).value();
    CreateTasksOptions o;
    o.append_timestamp = false;
    o.shell_text = ":\n";
    std::vector<std::string> names;
    for (int k = 0; k < kTasks; ++k) {
      o.name_prefix = fmt::format("noop-{:04}", k);
      names.push_back(ws->CreateTasks(o)->front());
    }
    fs::path payload = ws->dir() / "tasks" / names[0] / "config.sh";
    double cpu0 = ProcessCpuMs();
    double baseline_sh = RawSpawnMs({"/bin/sh", payload.string()}, kWorkers, kTasks);
    double baseline_cpu = ProcessCpuMs() - cpu0;
    double baseline_true = RawSpawnMs({"/bin/true"}, kWorkers, kTasks);
    TaskRunnerOptions options;
    options.workers = kWorkers;
    auto runner = std::move(TaskRunner::Start(*ws, options)).value();
    state.ResumeTiming();
    double cpu1 = ProcessCpuMs();
    auto t0 = Clock::now();
    auto report = runner->Submit(names);
    double submit_ms = Ms(Clock::now() - t0);
    Status idle = runner->WaitIdle(std::chrono::minutes(10));
    double subject = Ms(Clock::now() - t0);
    double runner_cpu = ProcessCpuMs() - cpu1;
    state.PauseTiming();
    TaskListQuery q;
    q.status = TaskStatus::kCompleted;
    size_t completed = ws->ListTasks(q)->total;
    runner.reset();
    ws.reset();
    fs::remove_all(root);
    state.ResumeTiming();
    if (!idle.ok() || completed != kTasks) {
      state.SkipWithError(fmt::format("only {} of {} tasks completed", completed, kTasks).c_str());
      return;
    }
    state.counters["tasks"] = kTasks;
    state.counters["workers"] = kWorkers;
    state.counters["runner_ms"] = subject;
    state.counters["submit_ms"] = submit_ms;
    state.counters["baseline_sh_ms"] = baseline_sh;
    state.counters["baseline_true_ms"] = baseline_true;
    state.counters["ratio"] = subject / baseline_sh;
    state.counters["overhead_ms_per_task"] = (subject - baseline_sh) / kTasks;
    state.counters["target_ms_per_task"] = 2;
    state.counters["cpu_overhead_ms_per_task"] = (runner_cpu - baseline_cpu) / kTasks;
  }
}
BENCHMARK(BM_SchedulerOverhead)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(1);

}  // namespace

BENCHMARK_MAIN();
