#include "catalog/sealing_worker.h"

namespace runtrack::catalog {

SealingWorker::SealingWorker(Pass pass) : pass_(std::move(pass)), thread_([this] { Loop(); }) {}

SealingWorker::~SealingWorker() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void SealingWorker::Wake() {
  {
    std::lock_guard lock(mu_);
    pending_ = true;
  }
  cv_.notify_all();
}

void SealingWorker::WaitIdle() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return stop_ || (!pending_ && !running_); });
}

void SealingWorker::Loop() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stop_ || pending_; });
    if (stop_) break;
    pending_ = false;
    running_ = true;
    lock.unlock();
    pass_(stop_);
    lock.lock();
    running_ = false;
    cv_.notify_all();
  }
  running_ = false;
  cv_.notify_all();
}

}  // namespace runtrack::catalog
