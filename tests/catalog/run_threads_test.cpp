#include <set>
#include <thread>

#include "catalog/catalog_support.h"

using namespace runtrack;
using namespace runtrack::testing;

TEST_CASE("threads logging into one run with automatic steps get distinct steps and lose nothing") {
  constexpr int kThreads = 4;
  constexpr int kCallsPerThread = 20000;
  TempDir dir;
  auto store = OpenStore(dir.path());
  RunOptions options;
  options.flush.flush_interval = std::chrono::milliseconds(1);  // flusher races the loggers too
  auto run = NewRun(*store, options);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kCallsPerThread; ++i) {
        // Each call logs the thread id under two names at one automatic step.
        REQUIRE(run->Log({{"thread", double(t)}, {"twice", 2.0 * t}}).ok());
        if (i % 5000 == 0) REQUIRE(run->LogText(fmt::format("thread {} at {}", t, i)).ok());
      }
    });
  }
  for (auto& th : threads) th.join();
  REQUIRE(run->Finish().ok());

  auto catalog = OpenCatalog(dir.path());
  Index(*catalog);
  auto thread = catalog->ReadMetric(run->id(), "thread");
  auto twice = catalog->ReadMetric(run->id(), "twice");
  REQUIRE(thread->points.size() == kThreads * kCallsPerThread);
  REQUIRE(twice->points.size() == kThreads * kCallsPerThread);
  std::vector<int> per_thread(kThreads, 0);
  for (size_t i = 0; i < thread->points.size(); ++i) {
    REQUIRE(thread->points[i].step == static_cast<int64_t>(i) + 1);  // 1..N, no gaps, no repeats
    REQUIRE(twice->points[i].step == thread->points[i].step);
    REQUIRE(twice->points[i].value == 2.0 * thread->points[i].value);  // one call's pair stays together
    per_thread[static_cast<int>(thread->points[i].value)]++;
  }
  CHECK(per_thread == std::vector<int>(kThreads, kCallsPerThread));
  auto log = catalog->ReadLog(run->id());
  CHECK(std::count(log->begin(), log->end(), '\n') == kThreads * 4);
}
