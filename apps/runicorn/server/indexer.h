// The viewer's background indexer: calls Catalog::Refresh() every `interval` so points a writer
// flushed become visible within interval + the writer's flush interval (200 ms + 250 ms by
// default), and crashed runs get marked. Bumps AppContext::index_generation whenever a pass
// changed anything, which wakes the WebSocket streams.
//
// Thread safety: Start/Stop from one controlling thread. Stop() waits for the pass in progress.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "server/app_context.h"

namespace runicorn::server {

class Indexer {
 public:
  Indexer(AppContext& ctx, std::chrono::milliseconds interval) : ctx_(ctx), interval_(interval) {}
  ~Indexer() { Stop(); }

  // Runs one pass synchronously (so the first requests see an indexed store), then starts the loop.
  runtrack::Status Start();
  void Stop();

 private:
  void Loop();
  void Pass();

  AppContext& ctx_;
  std::chrono::milliseconds interval_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
};

}  // namespace runicorn::server
