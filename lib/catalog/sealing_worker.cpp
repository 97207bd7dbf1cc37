#include "catalog/sealing_worker.h"

#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

namespace runtrack::catalog {

SealingWorker::SealingWorker(Pass pass, std::chrono::milliseconds rewake)
    : pass_(std::move(pass)), rewake_(rewake), thread_([this] { Loop(); }) {}

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

namespace {

// Sealing and compaction are deferred work: ingest (a writer's Log, the indexer's Refresh) must
// not wait for them. SCHED_BATCH + nice 10 on this thread only (Linux: setpriority on a thread id),
// as the journal shipper does; a failure only costs the benefit, so it is ignored.
void LowerThreadPriority() {
  sched_param none{};
  (void)pthread_setschedparam(pthread_self(), SCHED_BATCH, &none);
  (void)setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), 10);
}

}  // namespace

void SealingWorker::Loop() {
  LowerThreadPriority();
  std::unique_lock lock(mu_);
  bool again = false;  // the last pass left work for later
  for (;;) {
    if (again && rewake_.count() > 0) {
      // Timed: a pass left something to do later, so one runs by itself after rewake_.
      if (!cv_.wait_for(lock, rewake_, [&] { return stop_ || pending_; })) pending_ = true;
    } else {
      cv_.wait(lock, [&] { return stop_ || pending_; });
    }
    if (stop_) break;
    pending_ = false;
    running_ = true;
    lock.unlock();
    again = pass_(stop_);
    lock.lock();
    running_ = false;
    cv_.notify_all();
  }
  running_ = false;
  cv_.notify_all();
}

}  // namespace runtrack::catalog
