// Admission control for generations (POST /api/v1/generate, docs/API-v1.md "Generation"): at
// most `concurrency` generator processes run at once, at most `queue` requests wait for one of
// them, and a request beyond both is refused at once (Busy) with an estimate of when to retry,
// instead of holding a server thread for as long as the ones before it take.
//
// A request holds a server worker thread while it runs or waits, so the viewer sizes its worker
// pool with `concurrency + queue` more threads (viewer_command.cpp).
//
// Thread safety: every method may be called from any number of threads at once.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>

#include "runtrack/status.h"

namespace runicorn::service {

class GenerationGate {
 public:
  // `max_wait`: how long a queued request waits for a slot before it is refused.
  GenerationGate(int concurrency, int queue, std::chrono::milliseconds max_wait);
  GenerationGate(const GenerationGate&) = delete;
  GenerationGate& operator=(const GenerationGate&) = delete;

  // A running generation's place; leaving it (destruction) frees the place for the next one and
  // records how long it was held, for RetryAfterSeconds.
  class Slot {
   public:
    Slot(Slot&& other) noexcept;
    Slot& operator=(Slot&&) = delete;
    ~Slot();

   private:
    friend class GenerationGate;
    explicit Slot(GenerationGate* gate);
    GenerationGate* gate_;
    std::chrono::steady_clock::time_point start_;
  };

  // A slot, after waiting in the queue if every slot is taken. Busy when the queue is full too,
  // or when the wait passes max_wait; `retry_after_seconds` is then set (see RetryAfterSeconds).
  runtrack::Result<Slot> Enter(int* retry_after_seconds);

  // When a refused client should try again: the mean time a slot was held over the last
  // kHistory generations (1 s before any finished) divided by the slots, rounded up, at least 1.
  int RetryAfterSeconds() const;

  struct Load {
    int running = 0;
    int waiting = 0;
  };
  Load load() const;

  static constexpr size_t kHistory = 8;

 private:
  void Leave(std::chrono::steady_clock::duration held);
  int RetryAfterLocked() const;

  const int concurrency_;
  const int queue_;
  const std::chrono::milliseconds max_wait_;
  mutable std::mutex mu_;
  std::condition_variable freed_;
  int running_ = 0;
  int waiting_ = 0;
  std::deque<double> held_seconds_;  // the last kHistory generations, newest last
};

}  // namespace runicorn::service
