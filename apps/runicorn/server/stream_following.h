// A live run's WebSocket stream that follows the run's owner (docs/SCALE-OUT.md "Reads of a live
// run", "Streams across an owner change").
//
// A stream opened at a replica is served from where the run is served at that moment: here (this
// replica owns it, or nobody does) or relayed from its owner (read_forwarding.h). Ownership can
// change while the stream is open: the run had no owner and one replica takes it, or the owner
// dies and another takes it over. This source re-checks the owner (the cached RunOwnership::Find,
// at most every `recheck`, and at once without the cache when its upstream ends) and switches its
// upstream so the client receives every later point or line exactly once, in order:
//
// - metrics: the last step sent is kept per metric; the new upstream is opened with ?after_step=
//   the smallest of them (and of the start floors), and points at or below a metric's last sent
//   step are dropped (a message that keeps every point is passed on as it is, byte for byte). A
//   stream that started relayed without ?after_step cannot know the old owner's start point of the
//   metrics it sent nothing of: it is closed with a reason naming the change (the client resumes
//   with ?after_step; the web UI falls back to its poll, which fetches the steps after its last).
// - logs: a log stream sends every line from the first, so the lines already sent are counted and
//   that many are skipped from the new upstream (both copies are the one journal's prefix).
//
// A switch that cannot be opened now (the new owner does not answer, no forwarding slot) is
// retried at the next check while the old upstream still works. When the upstream ends (its owner
// died or closed it, or this replica has nothing of the run yet), the owner is looked up without
// the cache at each poll for kEndGrace: a new place is opened at once, the same place again every
// kReopenEvery; if none works by then, the stream ends with the upstream's reason, as before.
//
// Thread safety: one session at a time, as every StreamSource.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runtrack/status.h"
#include "server/streams.h"
#include "service/run_ownership.h"

namespace runicorn::server {

class OwnerFollowingStream final : public StreamSource {
 public:
  enum class Kind { kMetrics, kLogs };
  // Where the run is served now: nullopt or `here` means this replica.
  using FindOwner = std::function<runtrack::Result<std::optional<service::RunOwner>>(bool allow_cached)>;
  // Opens the stream served at `owner` (nullopt: here); metric streams start after `after_step`
  // (nullopt: the request's own start).
  using OpenAt = std::function<runtrack::Result<std::unique_ptr<StreamSource>>(
      const std::optional<service::RunOwner>& owner, std::optional<int64_t> after_step)>;

  struct Start {
    Kind kind = Kind::kMetrics;
    std::optional<service::RunOwner> owner;  // where `source` is served (nullopt: here)
    std::unique_ptr<StreamSource> source;
    // Metrics: nothing at or below these steps is new to the client. `floors` per metric known at
    // the start, `other_floor` for any other metric; `floors_known` false when the start point was
    // the owner's own (relayed without ?after_step).
    std::map<std::string, int64_t> floors;
    int64_t other_floor = std::numeric_limits<int64_t>::min();
    bool floors_known = true;
  };

  OwnerFollowingStream(Start start, FindOwner find, OpenAt open,
                       std::chrono::milliseconds recheck = std::chrono::milliseconds(500));

  runtrack::Result<std::vector<std::string>> Poll() override;

  // Upstream switches so far (tests).
  int switches() const { return switches_; }
  // How long an ended upstream waits for the run to be served elsewhere before the stream ends.
  static constexpr std::chrono::milliseconds kEndGrace{5000};
  static constexpr std::chrono::milliseconds kReopenEvery{500};

 private:
  static bool SamePlace(const std::optional<service::RunOwner>& a, const std::optional<service::RunOwner>& b);
  // Opens the upstream at `owner` positioned after what was sent; false when it cannot be now.
  runtrack::Result<bool> SwitchTo(const std::optional<service::RunOwner>& owner);
  std::vector<std::string> Filter(std::vector<std::string> messages);
  std::optional<std::string> FilterPoints(std::string message);

  Kind kind_;
  std::optional<service::RunOwner> owner_;
  std::unique_ptr<StreamSource> source_;
  std::map<std::string, int64_t> floors_;
  int64_t other_floor_;
  bool floors_known_;
  FindOwner find_;
  OpenAt open_;
  std::chrono::milliseconds recheck_;
  std::chrono::steady_clock::time_point next_check_;
  std::map<std::string, int64_t> last_sent_;  // metrics: the last step sent of each
  uint64_t lines_sent_ = 0;                   // logs
  uint64_t lines_to_skip_ = 0;                // logs: of the current upstream, already sent
  int switches_ = 0;
  std::optional<runtrack::Status> ended_;  // the upstream's end, while a new place is awaited
  std::chrono::steady_clock::time_point ended_at_;
  std::chrono::steady_clock::time_point next_reopen_;
  std::optional<std::chrono::steady_clock::time_point> outage_since_;  // cleared by a working poll
};

}  // namespace runicorn::server
