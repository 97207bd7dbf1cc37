// WebSocket stream sources: what /api/runs/{id}/logs/ws and /api/runs/{id}/metrics/ws push.
//
// A source is polled by its WebSocket session (about every 100 ms, skipped while the indexer's
// generation counter has not moved) and returns the messages that became available since the last
// poll, in order. Sources only read the catalog, so what a client sees is exactly what the
// indexer has ingested: every log line once, in journal order; every metric point with a step
// greater than the last one sent for that metric, in step order.
//
// Bounded per poll: a poll returns at most kMaxPointsPerPoll metric points (so at most that many
// in one message, about 75 bytes each as JSON) or kMaxLogBytesPerPoll bytes of log lines (at
// least one line); a longer backlog is left where it is and sent by the next polls. The session
// polls again only once a poll's messages are all written (sessions.cpp), so what a connection
// holds is at most one poll's output however slowly its client reads.
//
// Thread safety: a source is used by one session at a time (its strand).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "runtrack/status.h"
#include "server/app_context.h"
#include "server/http_types.h"

namespace runicorn::server {

inline constexpr uint64_t kMaxPointsPerPoll = 10000;
inline constexpr size_t kMaxLogBytesPerPoll = 256 * 1024;

class StreamSource {
 public:
  virtual ~StreamSource() = default;
  // Messages that became available since the previous call. An error ends the stream.
  virtual runtrack::Result<std::vector<std::string>> Poll() = 0;
};

// Validates the request (run id, parameters) before the upgrade is accepted, so a bad request gets
// a normal HTTP error instead of a WebSocket that closes at once.
using StreamFactory =
    std::function<runtrack::Result<std::unique_ptr<StreamSource>>(const AppContext&, const Request&)>;

// Text log: every existing line first (one message per line, without the newline), then new lines
// as they are ingested. A last line without a newline is sent once the run has ended.
runtrack::Result<std::unique_ptr<StreamSource>> MakeLogStream(const AppContext& ctx, const Request& req);

// Metric points as JSON messages {"type":"points","metric":m,"steps":[..],"values":[..],
// "wall_times":[..]} (non-finite values are null). ?metrics=a,b limits the metrics; ?after_step=S
// starts after step S (default: after the newest step already stored, i.e. only new points; a
// metric that first appears later is sent from its first point). A re-logged step that is not
// beyond the last one sent is not pushed again (charts refetch metrics_step for that).
runtrack::Result<std::unique_ptr<StreamSource>> MakeMetricStream(const AppContext& ctx, const Request& req);

}  // namespace runicorn::server
