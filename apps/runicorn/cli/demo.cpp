// `runicorn demo [DIR]`: a small store that shows every feature (projects, finished / failed /
// interrupted runs with stages, logs, a 1,000,000-point series, artifacts with lineage and an
// alias). With --runs N it is instead the benchmark generator: N runs of --steps S points of two
// metrics spread over --projects P projects, plus one --big-steps M run.
//
// `runicorn simulate`: one live training run, for demos, tests and load generation.
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>
#include <thread>

#include <fmt/format.h>

#include "cli/cli.h"
#include "runtrack/artifacts.h"
#include "runtrack/catalog.h"
#include "runtrack/store.h"

namespace runicorn::cli {
namespace {

struct Curve {
  int64_t steps;
  double decay;     // loss time constant in steps
  double final_acc;
  uint32_t seed;
};

runtrack::Status TrainRun(runtrack::Store& store, const std::string& project, const std::string& name,
                          const std::vector<std::string>& tags, const Curve& c, runtrack::RunStatus end,
                          std::string* run_id, std::unique_ptr<runtrack::Run>* keep = nullptr) {
  runtrack::RunOptions o;
  o.project = project;
  o.name = name;
  o.tags = tags;
  o.config = {{"lr", 0.001 * (1 + c.seed % 3)}, {"batch_size", 128}, {"epochs", c.steps / 500}, {"seed", c.seed}};
  RUNTRACK_ASSIGN_OR_RETURN(auto run, store.CreateRun(o));
  *run_id = run->id();
  RUNTRACK_RETURN_IF_ERROR(run->SetPrimaryMetric("accuracy", runtrack::MetricMode::kMax));
  std::mt19937 rng(c.seed);
  std::normal_distribution<double> noise(0, 0.02);
  RUNTRACK_RETURN_IF_ERROR(run->LogText(fmt::format("starting {} / {} (seed {})", project, name, c.seed)));
  double acc = 0;
  for (int64_t s = 1; s <= c.steps; ++s) {
    // A model computes its loss and accuracy in float32 tensors and `loss.item()` hands the logger
    // that float32 widened to a double, so the demo logs float32 values like a training loop does.
    // The learning rate is a Python-side float64 schedule (halved every 1000 steps).
    const double loss = static_cast<float>(2.3 * std::exp(-s / c.decay) + 0.05 + noise(rng) * 0.5);
    acc = static_cast<float>(c.final_acc * (1 - std::exp(-s / c.decay)) + noise(rng) * 0.2);
    const char* stage = s <= c.steps / 10 ? "warmup" : "train";
    RUNTRACK_RETURN_IF_ERROR(run->Log({{"loss", loss}, {"accuracy", acc}, {"lr", 0.001 * std::pow(0.5, s / 1000)}}, s, stage));
    if (s % 500 == 0) {
      RUNTRACK_RETURN_IF_ERROR(run->Log({{"val_loss", loss * 1.1}, {"val_accuracy", acc * 0.97}}, s, "eval"));
      RUNTRACK_RETURN_IF_ERROR(run->LogText(fmt::format("epoch {} | loss={:.4f} acc={:.4f}", s / 500, loss, acc)));
    }
  }
  RUNTRACK_RETURN_IF_ERROR(run->Summary({{"final_accuracy", acc}, {"steps", c.steps}}));
  if (keep != nullptr) {
    *keep = std::move(run);
    return runtrack::Status::Ok();
  }
  if (end == runtrack::RunStatus::kFailed) RUNTRACK_RETURN_IF_ERROR(run->LogText("RuntimeError: CUDA out of memory"));
  return run->Finish(end);
}

// Writes `size` pseudo-random bytes; the first `shared` bytes depend only on `shared_seed`, so two
// "checkpoints" share that prefix (and the artifact store's chunks for it).
runtrack::Status WriteBlob(const std::filesystem::path& path, size_t size, size_t shared, uint32_t shared_seed,
                           uint32_t seed) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  std::mt19937 a(shared_seed), b(seed);
  std::string buf(size, '\0');
  for (size_t i = 0; i < size; ++i) buf[i] = static_cast<char>(i < shared ? a() : b());
  out.write(buf.data(), static_cast<std::streamsize>(buf.size()));
  return out ? runtrack::Status::Ok() : runtrack::Status::IOError("cannot write " + path.string());
}

runtrack::Status CuratedDemo(runtrack::Store& store) {
  std::string id;
  auto tmp = store.root() / ".demo-files";
  std::filesystem::create_directories(tmp);

  // A data-prep run produces the dataset; two training runs use it and produce model versions.
  runtrack::RunOptions prep_opts;
  prep_opts.project = "vision";
  prep_opts.name = "data_prep";
  prep_opts.tags = {"data"};
  RUNTRACK_ASSIGN_OR_RETURN(auto prep, store.CreateRun(prep_opts));
  RUNTRACK_RETURN_IF_ERROR(prep->LogText("downloading cifar10 ..."));
  RUNTRACK_RETURN_IF_ERROR(WriteBlob(tmp / "train.bin", 3 << 20, 0, 1, 11));
  RUNTRACK_ASSIGN_OR_RETURN(auto dataset, runtrack::Artifact::Create("cifar10-dataset", runtrack::ArtifactType::kDataset));
  RUNTRACK_RETURN_IF_ERROR(dataset.AddFile(tmp / "train.bin"));
  dataset.SetDescription("CIFAR-10 training split (demo bytes)");
  dataset.AddMetadata({{"num_examples", 50000}});
  RUNTRACK_RETURN_IF_ERROR(prep->LogArtifact(dataset).status());
  RUNTRACK_RETURN_IF_ERROR(prep->Finish());

  for (int i = 0; i < 2; ++i) {
    runtrack::RunOptions o;
    o.project = "vision";
    o.name = "resnet_baseline";
    o.tags = {"baseline", i == 0 ? "v1" : "v2"};
    RUNTRACK_ASSIGN_OR_RETURN(auto run, store.CreateRun(o));
    RUNTRACK_RETURN_IF_ERROR(run->SetPrimaryMetric("accuracy", runtrack::MetricMode::kMax));
    RUNTRACK_RETURN_IF_ERROR(run->UseArtifact("cifar10-dataset:latest").status());
    for (int64_t s = 1; s <= 3000; ++s)
      RUNTRACK_RETURN_IF_ERROR(run->Log({{"loss", 2.0 * std::exp(-s / (800.0 + 300 * i))},
                                         {"accuracy", (0.9 + 0.03 * i) * (1 - std::exp(-s / 700.0))}},
                                        s, s <= 300 ? "warmup" : "train"));
    RUNTRACK_RETURN_IF_ERROR(run->LogText("training done, saving checkpoint"));
    // 80% of the checkpoint is shared between the two versions.
    RUNTRACK_RETURN_IF_ERROR(WriteBlob(tmp / "model.pth", 4 << 20, (4 << 20) * 8 / 10, 7, 100 + i));
    RUNTRACK_ASSIGN_OR_RETURN(auto model, runtrack::Artifact::Create("resnet50-model", runtrack::ArtifactType::kModel));
    RUNTRACK_RETURN_IF_ERROR(model.AddFile(tmp / "model.pth"));
    model.AddMetadata({{"architecture", "ResNet50"}, {"val_accuracy", 0.9 + 0.03 * i}});
    RUNTRACK_RETURN_IF_ERROR(model.AddTag("baseline"));
    RUNTRACK_RETURN_IF_ERROR(run->LogArtifact(model).status());
    RUNTRACK_RETURN_IF_ERROR(run->Finish());
  }
  RUNTRACK_ASSIGN_OR_RETURN(auto artifacts, runtrack::ArtifactStore::Open(store.root()));
  RUNTRACK_RETURN_IF_ERROR(artifacts.SetAlias("resnet50-model", "production", 1));

  RUNTRACK_RETURN_IF_ERROR(TrainRun(store, "vision", "vit_small", {"transformer"}, {4000, 1200, 0.95, 3},
                                    runtrack::RunStatus::kFinished, &id));
  RUNTRACK_RETURN_IF_ERROR(TrainRun(store, "vision", "vit_small", {"transformer", "lr-sweep"}, {2000, 900, 0.91, 4},
                                    runtrack::RunStatus::kFailed, &id));
  RUNTRACK_RETURN_IF_ERROR(TrainRun(store, "nlp", "bert_finetune", {"baseline"}, {5000, 1500, 0.88, 5},
                                    runtrack::RunStatus::kFinished, &id));
  RUNTRACK_RETURN_IF_ERROR(TrainRun(store, "nlp", "bert_finetune", {}, {1500, 1500, 0.80, 6},
                                    runtrack::RunStatus::kInterrupted, &id));

  // One long run: 1,000,000 steps of a noisy reward with rare spikes, to show downsampling.
  runtrack::RunOptions rl;
  rl.project = "rl";
  rl.name = "ppo_long";
  rl.tags = {"long"};
  RUNTRACK_ASSIGN_OR_RETURN(auto run, store.CreateRun(rl));
  RUNTRACK_RETURN_IF_ERROR(run->SetPrimaryMetric("reward", runtrack::MetricMode::kMax));
  std::mt19937 rng(42);
  std::normal_distribution<double> noise(0, 5);
  for (int64_t s = 1; s <= 1000000; ++s) {
    double reward = 200 * (1 - std::exp(-s / 250000.0)) + noise(rng) + (s % 99991 == 0 ? 150 : 0);
    RUNTRACK_RETURN_IF_ERROR(run->Log(s, "reward", reward));
    if (s % 100000 == 0) RUNTRACK_RETURN_IF_ERROR(run->LogText(fmt::format("{} env steps, reward {:.1f}", s, reward)));
  }
  RUNTRACK_RETURN_IF_ERROR(run->Finish());
  std::filesystem::remove_all(tmp);
  return runtrack::Status::Ok();
}

runtrack::Status BenchStore(runtrack::Store& store, int64_t runs, int64_t steps, int64_t projects, int64_t big_steps) {
  std::atomic<int64_t> next{0};
  std::atomic<bool> failed{false};
  runtrack::Status first_error;
  std::mutex error_mu;
  auto worker = [&] {
    for (int64_t i; (i = next.fetch_add(1)) < runs && !failed;) {
      runtrack::RunOptions o;
      o.project = fmt::format("project_{:02}", i % projects);
      o.name = fmt::format("exp_{:03}", (i / projects) % 100);
      o.tags = {i % 2 ? "odd" : "even"};
      runtrack::Status s;
      auto run = store.CreateRun(o);
      if (!run.ok()) s = run.status();
      if (s.ok()) s = (*run)->SetPrimaryMetric("accuracy", runtrack::MetricMode::kMax);
      for (int64_t k = 1; s.ok() && k <= steps; ++k)
        s = (*run)->Log({{"loss", 1.0 / (k + i % 7)}, {"accuracy", 1 - 1.0 / (k + i % 13)}}, k);
      if (s.ok()) s = (*run)->Finish();
      if (!s.ok()) {
        std::lock_guard lock(error_mu);
        if (!failed.exchange(true)) first_error = s;
      }
      if ((i + 1) % 1000 == 0) std::fprintf(stderr, "  %lld / %lld runs\n", static_cast<long long>(i + 1), static_cast<long long>(runs));
    }
  };
  std::thread t1(worker), t2(worker);
  t1.join();
  t2.join();
  if (failed) return first_error;
  if (big_steps > 0) {
    runtrack::RunOptions o;
    o.project = "bench_big";
    o.name = "long_series";
    RUNTRACK_ASSIGN_OR_RETURN(auto run, store.CreateRun(o));
    for (int64_t s = 1; s <= big_steps; ++s) RUNTRACK_RETURN_IF_ERROR(run->Log(s, "loss", 1.0 / s + 0.001 * std::sin(s * 0.01)));
    RUNTRACK_RETURN_IF_ERROR(run->Finish());
    std::printf("big run: %s\n", run->id().c_str());
  }
  return runtrack::Status::Ok();
}

}  // namespace

int RunDemo(const std::vector<std::string>& argv) {
  constexpr const char* kUsage =
      "usage: runicorn demo [DIR] [--runs N --steps S --projects P --big-steps M]\n"
      "  DIR defaults to the resolved storage (--storage, RUNICORN_DIR, user config, ./.runicorn)\n";
  auto args = Args::Parse(argv, {});
  if (!args.ok() || args->positional().size() > 1 ||
      !args->Unknown({"storage", "runs", "steps", "projects", "big-steps"}).empty()) {
    std::fputs(kUsage, stderr);
    return kExitUsage;
  }
  std::filesystem::path root = args->positional().empty() ? ResolveStorage(*args) : std::filesystem::path(args->positional()[0]);
  auto store = runtrack::Store::Open(root);
  if (!store.ok()) {
    std::fprintf(stderr, "runicorn demo: %s\n", store.status().ToString().c_str());
    return ExitCodeFor(store.status());
  }
  auto get = [&](const char* name, int64_t def) -> int64_t {
    auto v = args->Get(name);
    if (!v) return def;
    auto n = ParseInt64(*v);
    return n.ok() && *n >= 0 ? *n : -1;
  };
  int64_t runs = get("runs", 0), steps = get("steps", 1000), projects = get("projects", 10), big = get("big-steps", 0);
  if (runs < 0 || steps < 0 || projects <= 0 || big < 0) {
    std::fputs(kUsage, stderr);
    return kExitUsage;
  }
  auto t0 = std::chrono::steady_clock::now();
  runtrack::Status s = runs > 0 ? BenchStore(**store, runs, steps, projects, big) : CuratedDemo(**store);
  if (!s.ok()) {
    std::fprintf(stderr, "runicorn demo: %s\n", s.ToString().c_str());
    return ExitCodeFor(s);
  }
  // Index now, so the first `runicorn viewer` starts on a ready catalog. Skipped (not an error)
  // when a viewer already holds the catalog: it indexes the new runs itself.
  if (auto catalog = runtrack::Catalog::Open((*store)->root()); catalog.ok()) {
    auto report = (*catalog)->Refresh();
    if (!report.ok()) std::fprintf(stderr, "runicorn demo: indexing: %s\n", report.status().ToString().c_str());
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("demo store ready: %s (%.1f s)\n", (*store)->root().string().c_str(), secs);
  return kExitOk;
}

int RunSimulate(const std::vector<std::string>& argv) {
  constexpr const char* kUsage =
      "usage: runicorn simulate [--storage DIR] [--project P] [--name N] [--run-id ID] [--steps N]\n"
      "                         [--interval-ms MS] [--log-every K] [--wait-file PATH]\n"
      "  Logs loss/accuracy every step and a text line every K steps, like a training loop.\n"
      "  --wait-file: create the run, log one line, then wait until PATH exists before training.\n";
  auto args = Args::Parse(argv, {});
  if (!args.ok() || !args->positional().empty() ||
      !args->Unknown({"storage", "project", "name", "run-id", "steps", "interval-ms", "log-every", "wait-file"}).empty()) {
    std::fputs(kUsage, stderr);
    return kExitUsage;
  }
  auto num = [&](const char* name, int64_t def) {
    auto v = args->Get(name);
    if (!v) return def;
    auto n = ParseInt64(*v);
    return n.ok() && *n >= 0 ? *n : int64_t{-1};
  };
  int64_t steps = num("steps", 1000), interval = num("interval-ms", 10), every = num("log-every", 10);
  if (steps < 0 || interval < 0 || every <= 0) {
    std::fputs(kUsage, stderr);
    return kExitUsage;
  }
  auto store = runtrack::Store::Open(ResolveStorage(*args));
  if (!store.ok()) {
    std::fprintf(stderr, "runicorn simulate: %s\n", store.status().ToString().c_str());
    return ExitCodeFor(store.status());
  }
  runtrack::RunOptions o;
  o.project = args->Get("project").value_or("simulated");
  o.name = args->Get("name").value_or("live");
  o.run_id = args->Get("run-id").value_or("");
  o.flush.flush_interval = std::chrono::milliseconds(50);
  auto run = (*store)->CreateRun(o);
  if (!run.ok()) {
    std::fprintf(stderr, "runicorn simulate: %s\n", run.status().ToString().c_str());
    return ExitCodeFor(run.status());
  }
  runtrack::Run& r = **run;
  std::printf("%s\n", r.id().c_str());
  std::fflush(stdout);
  auto check = [](const runtrack::Status& s) {
    if (!s.ok()) {
      std::fprintf(stderr, "runicorn simulate: %s\n", s.ToString().c_str());
      std::exit(kExitError);
    }
  };
  check(r.LogText("simulated run created"));
  check(r.Flush());
  if (auto wait = args->Get("wait-file")) {
    while (!std::filesystem::exists(*wait)) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  for (int64_t s = 1; s <= steps; ++s) {
    check(r.Log({{"loss", 1.0 / s}, {"accuracy", 1.0 - 1.0 / (s + 1)}}, s));
    if (s % every == 0) check(r.LogText(fmt::format("step {} loss={:.6f}", s, 1.0 / s)));
    if (interval > 0) std::this_thread::sleep_for(std::chrono::milliseconds(interval));
  }
  check(r.LogText("simulated run finished"));
  check(r.Finish());
  return kExitOk;
}

}  // namespace runicorn::cli
