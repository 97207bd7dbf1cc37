// SealingWorker: the catalog's background thread that seals finished runs (catalog_sealing.cpp)
// and compacts their journals (journal_compaction.cpp), so neither Refresh() nor Open() waits for
// a run's points to be compressed. It runs one pass per Wake() (wakes during a pass fold into one
// more pass) and stops between runs when destroyed. A pass that leaves work for later (a journal
// not quiet long enough to be compacted) asks for another pass after `rewake`.
//
// Thread safety: Wake() and WaitIdle() may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace runtrack::catalog {

class SealingWorker {
 public:
  // `pass` seals what needs sealing; it should return soon after `stop` becomes true. It returns
  // true when something is left that a later pass (after `rewake`, if positive) may do.
  using Pass = std::function<bool(const std::atomic<bool>& stop)>;
  explicit SealingWorker(Pass pass, std::chrono::milliseconds rewake = std::chrono::milliseconds(0));
  ~SealingWorker();  // stops the pass in progress (between runs) and joins
  SealingWorker(const SealingWorker&) = delete;
  SealingWorker& operator=(const SealingWorker&) = delete;

  void Wake();
  // Returns once no pass is running or asked for.
  void WaitIdle();

 private:
  void Loop();

  Pass pass_;
  std::chrono::milliseconds rewake_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool pending_ = false;
  bool running_ = false;
  std::atomic<bool> stop_{false};
  std::thread thread_;  // last: started once everything above exists
};

}  // namespace runtrack::catalog
