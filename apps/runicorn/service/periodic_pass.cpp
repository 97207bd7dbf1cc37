#include "service/periodic_pass.h"

namespace runicorn::service {

void PeriodicPass::Start(std::chrono::milliseconds period, std::function<void()> pass) {
  thread_ = std::thread([this, period, pass = std::move(pass)] {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stop_) {
      lock.unlock();
      pass();
      lock.lock();
      cv_.wait_for(lock, period, [this] { return stop_; });
    }
  });
}

void PeriodicPass::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace runicorn::service
