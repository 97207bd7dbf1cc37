// Store generator and live writer for the web UI's end-to-end tests and its performance figure.
// Built by apps/runicorn/web/CMakeLists.txt as `runicorn_e2e_fixture` (tests/ folders without
// .cpp test files are not built by tests/CMakeLists.txt).
//
//   runicorn_e2e_fixture populate ROOT
//       Small runs in three projects (statuses, tags, config, summary, logs), a run with a
//       1,000,000-point "loss" holding one spike, and dataset -> training run -> model lineage.
//       Prints one JSON object naming what it made.
//   runicorn_e2e_fixture big ROOT [metrics=10] [points=1000000]
//       One finished run with `metrics` series of `points` points each. Prints {"run_id": ...}.
//   runicorn_e2e_fixture write ROOT [first=20] [second=20]
//       A live writer: logs steps 1..first of "loss" and "acc" plus log lines, flushes, prints
//       "READY <run_id>", then waits for a line on stdin, logs `second` more steps (flushing each,
//       ~20 ms apart), prints "DONE" and waits for stdin EOF before Finish().
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>

#include <boost/json/serialize.hpp>

#include "runtrack/artifacts.h"
#include "runtrack/store.h"

using namespace runtrack;

namespace {

[[noreturn]] void Die(const std::string& what, const Status& s) {
  std::fprintf(stderr, "fixture: %s: %s\n", what.c_str(), s.ToString().c_str());
  std::exit(1);
}

template <typename T>
T Must(Result<T> r, const std::string& what) {
  if (!r.ok()) Die(what, r.status());
  return std::move(r.value());
}

void Must(const Status& s, const std::string& what) {
  if (!s.ok()) Die(what, s);
}

std::unique_ptr<Run> NewRun(Store& store, std::string project, std::string name,
                            std::vector<std::string> tags, boost::json::object config = {}) {
  RunOptions o;
  o.project = std::move(project);
  o.name = std::move(name);
  o.tags = std::move(tags);
  o.config = std::move(config);
  return Must(store.CreateRun(o), "create run " + o.name);
}

void Curves(Run& run, int steps, double speed, double phase) {
  Must(run.SetPrimaryMetric("acc", MetricMode::kMax), "primary");
  for (int s = 1; s <= steps; ++s) {
    const double loss = 2.0 * std::exp(-s * speed / steps * 4) + 0.05 * std::sin(s / 7.0 + phase);
    const double acc = 1.0 - 0.9 * std::exp(-s * speed / steps * 3);
    const double lr = 0.01 * std::pow(0.5, s / (steps / 4 + 1));
    Must(run.Log({{"loss", loss}, {"acc", acc}, {"lr", lr}}, s, "train"), "log");
    if (s % 100 == 0) Must(run.LogText("step " + std::to_string(s) + " loss=" + std::to_string(loss)), "text");
  }
}

std::filesystem::path WriteTempFile(const std::filesystem::path& dir, const std::string& name,
                                    size_t bytes, unsigned seed) {
  std::filesystem::create_directories(dir);
  const auto path = dir / name;
  std::ofstream out(path, std::ios::binary);
  uint64_t x = seed * 2654435761u + 1;
  for (size_t i = 0; i < bytes; ++i) {
    x ^= x << 13; x ^= x >> 7; x ^= x << 17;
    out.put(static_cast<char>(x & 0xff));
  }
  return path;
}

int Populate(const std::filesystem::path& root) {
  auto store = Must(Store::Open(root), "open store");
  boost::json::object made;

  // Dataset prepared by one run, used by a training run that produces a model.
  auto prep = NewRun(*store, "vision", "prepare-data", {"data"}, {{"source", "synthetic"}});
  const auto tmp = root / "fixture-files";
  auto dataset = Must(Artifact::Create("cifar-mini", ArtifactType::kDataset), "dataset");
  Must(dataset.AddFile(WriteTempFile(tmp, "train.bin", 3u << 20, 1)), "add train.bin");
  Must(dataset.AddFile(WriteTempFile(tmp, "labels.txt", 4096, 2)), "add labels");
  dataset.SetDescription("Synthetic CIFAR-like images");
  const int dataset_version = Must(prep->LogArtifact(dataset), "log dataset");
  Must(prep->LogText("dataset written"), "text");
  Must(prep->Finish(), "finish prep");

  auto train = NewRun(*store, "vision", "resnet-baseline", {"baseline", "resnet"},
                      {{"lr", 0.01}, {"batch_size", 128}, {"model", "resnet18"}});
  Must(train->UseArtifact("cifar-mini:latest").status(), "use dataset");
  Curves(*train, 500, 1.0, 0.0);
  Must(train->Summary({{"best_acc", 0.95}, {"epochs", 10}}), "summary");
  auto model = Must(Artifact::Create("resnet-model", ArtifactType::kModel), "model");
  Must(model.AddFile(WriteTempFile(tmp, "model.pt", 2u << 20, 3)), "add model");
  model.AddMetadata({{"architecture", "resnet18"}, {"val_acc", 0.95}});
  const int model_version = Must(train->LogArtifact(model), "log model");
  Must(train->Finish(), "finish train");

  // A second model version sharing most bytes with the first (dedup stats).
  auto tuned = NewRun(*store, "vision", "resnet-tuned", {"tuned", "resnet"},
                      {{"lr", 0.003}, {"batch_size", 256}, {"model", "resnet18"}});
  Curves(*tuned, 500, 1.4, 1.0);
  auto model2 = Must(Artifact::Create("resnet-model", ArtifactType::kModel), "model v2");
  Must(model2.AddFile(tmp / "model.pt"), "add model v2");
  Must(model2.AddFile(WriteTempFile(tmp, "head.pt", 64 << 10, 4)), "add head");
  const int model_version2 = Must(tuned->LogArtifact(model2), "log model v2");
  Must(tuned->Finish(), "finish tuned");
  auto artifacts = Must(ArtifactStore::Open(root), "open artifacts");
  Must(artifacts.SetAlias("resnet-model", "production", model_version), "alias");

  auto vit = NewRun(*store, "vision", "vit-small", {"vit"}, {{"lr", 0.001}});
  Curves(*vit, 200, 0.5, 2.0);
  Must(vit->LogText("CUDA out of memory"), "text");
  Must(vit->Finish(RunStatus::kFailed), "finish vit");

  auto bert = NewRun(*store, "nlp", "bert-finetune", {"baseline"}, {{"lr", 2e-5}});
  Curves(*bert, 300, 1.2, 3.0);
  Must(bert->Finish(), "finish bert");

  // 1,000,000 points of a noisy decaying loss with one spike at step 654321.
  auto big = NewRun(*store, "scale", "million-points", {"large"}, {{"points", 1000000}});
  uint64_t x = 88172645463325252ull;
  for (int s = 1; s <= 1000000; ++s) {
    x ^= x << 13; x ^= x >> 7; x ^= x << 17;
    const double noise = static_cast<double>(x % 1000) / 1000.0 * 0.02;
    const double v = (s == 654321) ? 50.0 : 1.0 + std::exp(-s / 200000.0) + noise;
    Must(big->Log(s, "loss", v), "log big");
  }
  Must(big->Finish(), "finish big");

  std::filesystem::remove_all(tmp);
  made["runs"] = {
      {"prepare", prep->id()},  {"train", train->id()}, {"tuned", tuned->id()},
      {"vit", vit->id()},       {"bert", bert->id()},   {"big", big->id()}};
  made["spike_step"] = 654321;
  made["dataset"] = {{"name", "cifar-mini"}, {"version", dataset_version}};
  made["model"] = {{"name", "resnet-model"}, {"version", model_version},
                   {"version2", model_version2}};
  std::cout << boost::json::serialize(made) << std::endl;
  return 0;
}

int Big(const std::filesystem::path& root, int metrics, int points) {
  auto store = Must(Store::Open(root), "open store");
  auto run = NewRun(*store, "perf", "ten-by-million", {"perf"},
                    {{"metrics", metrics}, {"points", points}});
  std::vector<std::string> names;
  for (int m = 0; m < metrics; ++m) names.push_back("metric_" + std::to_string(m));
  std::vector<MetricValue> values(metrics);
  for (int s = 1; s <= points; ++s) {
    for (int m = 0; m < metrics; ++m) {
      values[m] = {names[m], std::sin(s / (1000.0 + 97 * m)) + m};
    }
    Must(run->Log(std::span<const MetricValue>(values), s), "log");
  }
  Must(run->Finish(), "finish");
  std::cout << "{\"run_id\":\"" << run->id() << "\"}" << std::endl;
  return 0;
}

int Write(const std::filesystem::path& root, int first, int second) {
  auto store = Must(Store::Open(root), "open store");
  auto run = NewRun(*store, "live", "live-writer", {"live"}, {{"lr", 0.1}});
  auto log_step = [&](int s) {
    Must(run->Log({{"loss", 1.0 / s}, {"acc", 1.0 - 1.0 / (s + 1)}}, s), "log");
    Must(run->LogText("live step " + std::to_string(s)), "text");
  };
  for (int s = 1; s <= first; ++s) log_step(s);
  Must(run->Flush(), "flush");
  std::cout << "READY " << run->id() << std::endl;
  std::string line;
  std::getline(std::cin, line);
  for (int s = first + 1; s <= first + second; ++s) {
    log_step(s);
    Must(run->Flush(), "flush");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::cout << "DONE" << std::endl;
  while (std::getline(std::cin, line)) {
  }
  Must(run->Finish(), "finish");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s populate|big|write ROOT [args]\n", argv[0]);
    return 2;
  }
  const std::string mode = argv[1];
  const std::filesystem::path root = argv[2];
  auto arg = [&](int i, int def) { return argc > i ? std::atoi(argv[i]) : def; };
  if (mode == "populate") return Populate(root);
  if (mode == "big") return Big(root, arg(3, 10), arg(4, 1000000));
  if (mode == "write") return Write(root, arg(3, 20), arg(4, 20));
  std::fprintf(stderr, "unknown mode %s\n", mode.c_str());
  return 2;
}
