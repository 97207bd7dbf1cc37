#include "service/generation_gate.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include <fmt/format.h>

namespace runicorn::service {
using runtrack::Result;
using runtrack::Status;

GenerationGate::GenerationGate(int concurrency, int queue, std::chrono::milliseconds max_wait)
    : concurrency_(std::max(1, concurrency)), queue_(std::max(0, queue)), max_wait_(max_wait) {}

GenerationGate::Slot::Slot(GenerationGate* gate) : gate_(gate), start_(std::chrono::steady_clock::now()) {}

GenerationGate::Slot::Slot(Slot&& other) noexcept : gate_(other.gate_), start_(other.start_) { other.gate_ = nullptr; }

GenerationGate::Slot::~Slot() {
  if (gate_ != nullptr) gate_->Leave(std::chrono::steady_clock::now() - start_);
}

Result<GenerationGate::Slot> GenerationGate::Enter(int* retry_after_seconds) {
  std::unique_lock<std::mutex> lock(mu_);
  if (running_ >= concurrency_) {
    if (waiting_ >= queue_) {
      if (retry_after_seconds != nullptr) *retry_after_seconds = RetryAfterLocked();
      return Status::Busy(fmt::format("The generator is busy ({} running, {} waiting): retry later", running_,
                                      waiting_));
    }
    ++waiting_;
    const bool got = freed_.wait_for(lock, max_wait_, [this] { return running_ < concurrency_; });
    --waiting_;
    if (!got) {
      if (retry_after_seconds != nullptr) *retry_after_seconds = RetryAfterLocked();
      return Status::Busy(fmt::format("No generation slot became free within {:g} s: retry later",
                                      std::chrono::duration<double>(max_wait_).count()));
    }
  }
  ++running_;
  return Slot(this);
}

void GenerationGate::Leave(std::chrono::steady_clock::duration held) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    --running_;
    held_seconds_.push_back(std::chrono::duration<double>(held).count());
    if (held_seconds_.size() > kHistory) held_seconds_.pop_front();
  }
  freed_.notify_one();
}

int GenerationGate::RetryAfterLocked() const {
  if (held_seconds_.empty()) return 1;
  const double mean = std::accumulate(held_seconds_.begin(), held_seconds_.end(), 0.0) / held_seconds_.size();
  return static_cast<int>(std::clamp(std::ceil(mean / concurrency_), 1.0, 3600.0));
}

int GenerationGate::RetryAfterSeconds() const {
  std::lock_guard<std::mutex> lock(mu_);
  return RetryAfterLocked();
}

GenerationGate::Load GenerationGate::load() const {
  std::lock_guard<std::mutex> lock(mu_);
  return {running_, waiting_};
}

}  // namespace runicorn::service
