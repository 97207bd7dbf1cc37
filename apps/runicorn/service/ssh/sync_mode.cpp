#include "service/ssh/sync_mode.h"

namespace runicorn::service::ssh {

namespace {

double NowSeconds() {
  using namespace std::chrono;
  return static_cast<double>(duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count()) / 1000.0;
}

}  // namespace

PeriodicPull::PeriodicPull(SyncModeConfig config, std::optional<std::chrono::milliseconds> interval, PullFn pull)
    : config_(std::move(config)), interval_(interval), pull_(std::move(pull)) {
  state_.config = config_;
  state_.state = "syncing";
  state_.activated_at = NowSeconds();
  thread_ = std::thread([this] { Loop(); });
}

PeriodicPull::~PeriodicPull() { Stop(); }

void PeriodicPull::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    state_.state = "stopped";
    state_.next_sync_at = 0;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

SyncModeState PeriodicPull::State() const {
  std::lock_guard<std::mutex> lock(mu_);
  SyncModeState s = state_;
  s.runs_mirrored = runs_.size();
  return s;
}

void PeriodicPull::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    state_.state = "syncing";
    state_.next_sync_at = 0;
    lock.unlock();
    // The pass runs without the lock, so status reads never wait for the network.
    runtrack::Result<PullSyncReport> report = pull_();
    lock.lock();
    state_.last_sync_at = NowSeconds();
    ++state_.syncs;
    if (report.ok()) {
      state_.last_error.clear();
      state_.last_sync_bytes = report->bytes_fetched;
      state_.bytes_fetched += report->bytes_fetched;
      state_.last_skipped = report->skipped;
      for (const auto& r : report->runs) runs_.insert(r.run_id);
    } else {
      ++state_.errors;
      state_.last_error = report.status().message();
    }
    if (stop_) break;
    if (!interval_) {
      state_.state = "idle";
      break;
    }
    state_.state = "waiting";
    state_.next_sync_at = state_.last_sync_at + static_cast<double>(interval_->count()) / 1000.0;
    wake_.wait_for(lock, *interval_, [this] { return stop_; });
  }
}

}  // namespace runicorn::service::ssh
