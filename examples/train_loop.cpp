// A fake training loop: 100k steps of loss / accuracy / learning rate, a summary, finish; then
// indexes the store and prints where it is and what it holds.
//
//   RUNICORN_DIR=/tmp/store ./train_loop [steps]
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "runtrack/catalog.h"
#include "runtrack/store.h"

int main(int argc, char** argv) {
  const int steps = argc > 1 ? std::atoi(argv[1]) : 100000;
  auto store = runtrack::Store::Open();  // $RUNICORN_DIR or ./.runicorn
  if (!store.ok()) {
    std::fprintf(stderr, "open store: %s\n", store.status().ToString().c_str());
    return 1;
  }
  runtrack::RunOptions options;
  options.project = "examples";
  options.name = "train_loop";
  options.config = {{"lr", 0.01}, {"steps", steps}, {"model", "mlp"}};
  options.tags = {"example"};
  auto run = (*store)->CreateRun(options);
  if (!run.ok()) {
    std::fprintf(stderr, "create run: %s\n", run.status().ToString().c_str());
    return 1;
  }
  runtrack::Run& r = **run;
  (void)r.SetPrimaryMetric("accuracy", runtrack::MetricMode::kMax);
  double accuracy = 0;
  for (int step = 1; step <= steps; ++step) {
    double loss = 2.0 * std::exp(-step / 20000.0) + 0.05 * std::sin(step / 50.0);
    accuracy = 1.0 - 0.9 * std::exp(-step / 15000.0);
    double lr = 0.01 * std::pow(0.5, step / 25000);
    runtrack::Status s = r.Log({{"loss", loss}, {"accuracy", accuracy}, {"lr", lr}}, step, "train");
    if (!s.ok()) {
      std::fprintf(stderr, "log: %s\n", s.ToString().c_str());
      return 1;
    }
    if (step % 25000 == 0) (void)r.LogText("epoch " + std::to_string(step / 25000) + " done");
  }
  (void)r.Summary({{"final_accuracy", accuracy}, {"steps", steps}});
  if (auto s = r.Finish(); !s.ok()) {
    std::fprintf(stderr, "finish: %s\n", s.ToString().c_str());
    return 1;
  }

  auto catalog = runtrack::Catalog::Open((*store)->root());
  if (!catalog.ok()) {
    std::fprintf(stderr, "open catalog: %s\n", catalog.status().ToString().c_str());
    return 1;
  }
  auto report = (*catalog)->Refresh();
  auto detail = (*catalog)->GetRun(r.id());
  if (!report.ok() || !detail.ok()) {
    std::fprintf(stderr, "index: %s\n", (report.ok() ? detail.status() : report.status()).ToString().c_str());
    return 1;
  }
  std::printf("store: %s\nrun: %s (%s)\n", (*store)->root().c_str(), r.id().c_str(),
              std::string(runtrack::RunStatusName(detail->run.status)).c_str());
  for (const auto& m : detail->metrics)
    std::printf("  %-8s %llu points, last %.4f\n", m.name.c_str(), static_cast<unsigned long long>(m.count),
                m.last_value);
  std::printf("best accuracy %.4f at step %lld\n", detail->run.best_metric_value.value_or(NAN),
              static_cast<long long>(detail->run.best_metric_step.value_or(-1)));
  return 0;
}
