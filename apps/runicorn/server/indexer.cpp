#include "server/indexer.h"

#include <cstdio>

namespace runicorn::server {

runtrack::Status Indexer::Start() {
  auto report = ctx_.storage->catalog().Refresh();
  if (!report.ok()) return report.status();
  ctx_.index_generation.fetch_add(1);
  thread_ = std::thread([this] { Loop(); });
  return runtrack::Status::Ok();
}

void Indexer::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Indexer::Pass() {
  auto report = ctx_.storage->catalog().Refresh();
  if (!report.ok()) {
    // Keep serving what is indexed; a transient I/O error is retried on the next pass.
    std::fprintf(stderr, "runicorn viewer: index pass failed: %s\n", report.status().ToString().c_str());
    return;
  }
  if (report->runs_discovered || report->runs_updated || report->points_ingested || report->runs_marked_crashed)
    ctx_.index_generation.fetch_add(1);
}

void Indexer::Loop() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    if (cv_.wait_for(lock, interval_, [this] { return stop_; })) break;
    lock.unlock();
    Pass();
    lock.lock();
  }
}

}  // namespace runicorn::server
