// NodeSystemStream: a run's per-node system metrics, written as a journal stream of their own
// (docs/SYSTEM.md "Per-node system metrics"). Created by Store::CreateRun when the run asks for
// system metrics; owned by the Run.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "runtrack/layout.h"
#include "runtrack/remote.h"
#include "runtrack/status.h"
#include "runtrack/system.h"

namespace runtrack {
namespace journal {
class JournalWriter;
}

namespace telemetry {

class HostRunLock;

struct NodeStreamOptions {
  std::chrono::milliseconds interval{1000};
  std::string disk_path = "/";
  // Set when the run ships (StoreOptions::server): the stream is shipped by a JournalShipper of
  // its own over StoreLayout::system_ship_root, and Drain() waits for it.
  std::optional<ShipperOptions> shipping;
  // Where the host-wide lock lives (HostRunLock); empty: $TMPDIR or /tmp.
  std::filesystem::path lock_dir;
  // Called on the sampler's thread after each sample is in the journal file, with the number of
  // samples written so far (benchmarks and tests; production leaves it empty).
  std::function<void(int64_t)> after_sample;
};

// Samples this host into <run dir>/journal.system:<host>: one kName record per metric the first
// time it appears, then every sample's SystemMetricValues as points at step = sample number (1,
// 2, ...) with the sample's wall time, written (not fsynced) right after each sample so a viewer
// sees it within the interval. Stop() appends the stream's final Status record and fsyncs.
//
// One per host and run: Start returns null (not an error) when another process on this host
// already samples the run (HostRunLock); the lock is released at Stop().
//
// Thread safety: Stop() and Drain() may be called from any thread, not concurrently with the
// destructor.
class NodeSystemStream {
 public:
  // `run_id` must be valid and its run folder must exist. Errors: those of SystemSampler::Start
  // (/proc unreadable, a bad disk path), IOError when the journal or the lock cannot be created,
  // InvalidArgument for a non-positive interval.
  static Result<std::unique_ptr<NodeSystemStream>> Start(const StoreLayout& layout, const std::string& run_id,
                                                         NodeStreamOptions options);
  ~NodeSystemStream();  // Stop()
  NodeSystemStream(const NodeSystemStream&) = delete;
  NodeSystemStream& operator=(const NodeSystemStream&) = delete;

  const std::string& stream() const { return stream_; }
  // Stops sampling, appends the final record, fsyncs and releases the host lock. Later calls
  // return the first call's result.
  Status Stop();
  // With shipping: waits until the server has the whole stream, at most `timeout`
  // (FailedPrecondition on timeout: the rest is shipped by the next Store shipping from that root, or
  // by `runicorn sync ROOT` / `runicorn sync RUN`).
  // Without shipping: ok at once. Call after Stop().
  Status Drain(std::chrono::milliseconds timeout);

 private:
  NodeSystemStream() = default;
  void WriteSample(const SystemSample& sample);

  std::string run_id_, stream_;
  std::function<void(int64_t)> after_sample_;
  std::unique_ptr<HostRunLock> lock_;
  std::unique_ptr<journal::JournalWriter> writer_;
  std::unique_ptr<JournalShipper> shipper_;
  std::unique_ptr<SystemSampler> sampler_;
  // Only the sampler's thread touches these (and Stop, after joining it).
  std::unordered_map<std::string, uint32_t> metric_ids_;
  int64_t samples_ = 0;

  std::mutex stop_mu_;
  std::optional<Status> stopped_;  // guarded by stop_mu_
};

}  // namespace telemetry
}  // namespace runtrack
