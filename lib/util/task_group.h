// A few worker threads for one long operation (one file of a Log or a Download). Jobs start in
// submission order on whichever worker is free. The threads end with the object, so none outlives
// the call that made it: training processes may fork after a Log().
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace runtrack::util {

class TaskGroup {
 public:
  // With 0 threads, Submit runs each job inline: small inputs skip the thread start-up cost
  // through the same code path.
  explicit TaskGroup(unsigned threads);
  // Runs every job already submitted, then joins the threads.
  ~TaskGroup();
  TaskGroup(const TaskGroup&) = delete;
  TaskGroup& operator=(const TaskGroup&) = delete;

  // Jobs must not throw: report failures through state the submitter owns.
  void Submit(std::function<void()> job);

  // Threads worth using on this machine for CPU-bound work next to a busy calling thread.
  static unsigned DefaultWorkers();

 private:
  void WorkerLoop();

  std::mutex mu_;
  std::condition_variable work_cv_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace runtrack::util
