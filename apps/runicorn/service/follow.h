// Incremental readers behind the live WebSocket streams: each call returns only what the indexer
// ingested since the previous call, in order, at a cost proportional to what is new (not to the
// length of the log or series). They read the catalog only, so a follower sees exactly what has
// been ingested: every log line once, in journal order; every metric point with a step greater
// than the last one returned for that metric, in step order (a step logged again back to back
// returns its later value; a step at or before one already returned is not returned again).
//
// Memory is bounded per call: a follower returns at most the caller's budget of points (metrics)
// or bytes (logs) and keeps its place, so a long backlog (a stream started with ?after_step on a
// million-point run, or a writer faster than the client) is handed out over several calls;
// backlog() says whether the next call has more without waiting for the indexer.
//
// Thread safety: one follower per stream, used by one thread at a time.
#pragma once

#include <cstdint>
#include <deque>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "runtrack/metric_point.h"
#include "service/storage.h"

namespace runicorn::service {

class LogFollower {
 public:
  // `run_id` must exist (see MakeLogFollower).
  LogFollower(const RunCatalog& runs, std::string run_id) : runs_(runs), run_id_(std::move(run_id)) {}
  // New complete lines (without their newline), at most `max_bytes` of text in all (but at least
  // one line); the rest waits for the next call. A last line without a newline is returned once
  // the run has ended. The catalog is read again only when the lines read before are all handed
  // out, so what is held between calls is at most one read's worth of log text.
  runtrack::Result<std::vector<std::string>> NextLines(size_t max_bytes = std::numeric_limits<size_t>::max());
  // Lines read but not handed out yet: call again without waiting for the indexer.
  bool backlog() const { return !pending_.empty(); }

 private:
  const RunCatalog& runs_;
  std::string run_id_;
  uint64_t offset_ = 0;
  std::string partial_;
  std::deque<std::string> pending_;
};

struct MetricBatch {
  std::string metric;
  std::vector<runtrack::MetricPoint> points;  // ascending step
};

class MetricFollower {
 public:
  // `metrics` empty: every metric. `after_step` set: start after that step; unset: start after the
  // newest step already stored (only new points), and a metric that first appears later is
  // followed from its first point.
  MetricFollower(const RunCatalog& runs, const MetricReader& reader, std::string run_id,
                 std::vector<std::string> metrics, std::optional<int64_t> after_step);
  // Positions the follower where the constructor's contract says it starts.
  runtrack::Status Start(const runtrack::RunDetail& detail);
  // New points of every followed metric, reading at most `max_points` stored points in all; a
  // metric cut short continues at the next call, and each call starts at the next metric. A step
  // logged again back to back whose two points fall into different calls keeps its first value.
  runtrack::Result<std::vector<MetricBatch>> Next(uint64_t max_points = std::numeric_limits<uint64_t>::max());
  // The last Next() stopped at its budget: points are waiting, call again without waiting for
  // the indexer.
  bool backlog() const { return backlog_; }

 private:
  struct State {
    runtrack::MetricCursor cursor;     // points of the series read so far (logging order)
    std::optional<int64_t> last_step;  // unset: nothing returned and no start step: from the first
  };
  const RunCatalog& runs_;
  const MetricReader& reader_;
  std::string run_id_;
  std::vector<std::string> filter_;
  std::optional<int64_t> after_step_;
  std::map<std::string, State> state_;
  bool backlog_ = false;
  size_t next_first_ = 0;  // where the next call starts in the run's metric list
};

// Validate the id and that the run exists, so a bad request can be refused before a WebSocket
// upgrade.
runtrack::Result<LogFollower> MakeLogFollower(const RunCatalog& runs, const std::string& run_id);
runtrack::Result<MetricFollower> MakeMetricFollower(const RunCatalog& runs, const MetricReader& reader,
                                                    const std::string& run_id, std::vector<std::string> metrics,
                                                    std::optional<int64_t> after_step);

}  // namespace runicorn::service
