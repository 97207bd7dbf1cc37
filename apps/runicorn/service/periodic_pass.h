// The background loop of the team back end's publishers and mirrors (chunk mirror, segment and
// run-file publishers, reference lists, artifact mirror): one pass at Start(), then one every
// `period` until Stop(), which wakes the wait at once and joins the thread (a pass in progress
// finishes first). A pass keeps its own state (what it already reported) in its callable.
//
// Thread safety: Start() once; Stop() from any thread, any number of times.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace runicorn::service {

class PeriodicPass {
 public:
  PeriodicPass() = default;
  PeriodicPass(const PeriodicPass&) = delete;
  PeriodicPass& operator=(const PeriodicPass&) = delete;
  ~PeriodicPass() { Stop(); }

  void Start(std::chrono::milliseconds period, std::function<void()> pass);
  void Stop();

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace runicorn::service
