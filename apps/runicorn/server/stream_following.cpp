#include "server/stream_following.h"

#include <algorithm>
#include <charconv>
#include <string_view>

#include <fmt/format.h>

#include "encode/json_writer.h"

namespace runicorn::server {
using runtrack::Result;
using runtrack::Status;

namespace {

// The elements of a JSON array of numbers and nulls, as text ("1,2.5,null" -> {"1","2.5","null"}).
std::vector<std::string_view> Elements(std::string_view list) {
  std::vector<std::string_view> out;
  if (list.empty()) return out;
  for (size_t at = 0;;) {
    size_t comma = list.find(',', at);
    out.push_back(list.substr(at, comma == std::string_view::npos ? std::string_view::npos : comma - at));
    if (comma == std::string_view::npos) return out;
    at = comma + 1;
  }
}

std::string Join(const std::vector<std::string_view>& items, const std::vector<size_t>& keep) {
  std::string out;
  for (size_t i : keep) {
    if (!out.empty()) out += ',';
    out += items[i];
  }
  return out;
}

std::string Describe(const std::optional<service::RunOwner>& owner) {
  return owner && !owner->here ? fmt::format("replica {}", owner->replica_id) : std::string("this replica");
}

}  // namespace

OwnerFollowingStream::OwnerFollowingStream(Start start, FindOwner find, OpenAt open, std::chrono::milliseconds recheck)
    : kind_(start.kind),
      owner_(std::move(start.owner)),
      source_(std::move(start.source)),
      other_floor_(start.other_floor),
      floors_known_(start.floors_known),
      find_(std::move(find)),
      open_(std::move(open)),
      recheck_(recheck),
      next_check_(std::chrono::steady_clock::now() + recheck) {
  if (owner_ && owner_->here) owner_.reset();
  // Kept by the name's JSON form, as messages carry it (encode's escaping, as the streams write).
  for (const auto& [metric, step] : start.floors) {
    std::string key;
    encode::AppendJsonString(key, metric);
    floors_[key] = step;
  }
}

bool OwnerFollowingStream::SamePlace(const std::optional<service::RunOwner>& a,
                                     const std::optional<service::RunOwner>& b) {
  const bool a_here = !a || a->here, b_here = !b || b->here;
  if (a_here || b_here) return a_here == b_here;
  return a->replica_id == b->replica_id && a->url == b->url;
}

Result<bool> OwnerFollowingStream::SwitchTo(const std::optional<service::RunOwner>& owner) {
  std::optional<int64_t> after;
  if (kind_ == Kind::kMetrics) {
    if (!floors_known_)
      return Status::FailedPrecondition(fmt::format(
          "the run moved from {} to {}; reconnect with ?after_step= to resume exactly", Describe(owner_), Describe(owner)));
    int64_t lowest = other_floor_;
    for (const auto& [metric, step] : floors_) lowest = std::min(lowest, step);
    for (const auto& [metric, step] : last_sent_) lowest = std::min(lowest, step);
    after = lowest;
  }
  auto opened = open_(owner, after);
  if (!opened.ok()) {
    // Not reachable now (Busy): the old upstream goes on and this is tried again. A refusal
    // (the run is unknown there, a bad parameter) will not get better.
    if (opened.status().code() == runtrack::StatusCode::kBusy) return false;
    return opened.status();
  }
  source_ = std::move(*opened);
  owner_ = owner && !owner->here ? owner : std::nullopt;
  lines_to_skip_ = lines_sent_;
  ++switches_;
  return true;
}

Result<std::vector<std::string>> OwnerFollowingStream::Poll() {
  const auto now = std::chrono::steady_clock::now();
  if (ended_) {
    // The upstream ended: an owner that died or closed the stream, or a local read that failed
    // (this replica has nothing of the run yet). Where is the run served now? A dead owner's lock
    // is freed a moment after its connection closed, and a replica taking the run over has it
    // only once the writer resent it: so look again (without the cache) at every poll, open the
    // new place at once and the same place again every kReopenEvery, for up to kEndGrace.
    auto owner = find_(/*allow_cached=*/false);
    if (owner.ok()) {
      const bool moved = !SamePlace(*owner, owner_);
      // Re-opening the same owner's stream without its start point would not be exact either:
      // wait for the run to move (then the reason names the move) or for the grace to end.
      const bool reopenable = moved || kind_ == Kind::kLogs || floors_known_;
      if (reopenable && (moved || now >= next_reopen_)) {
        next_reopen_ = now + kReopenEvery;
        auto switched = SwitchTo(*owner);
        if (!switched.ok()) return switched.status();
        if (*switched) {
          ended_.reset();
          return std::vector<std::string>();
        }
      }
    }
    if (now - ended_at_ >= kEndGrace) return *ended_;
    return std::vector<std::string>();
  }
  if (now >= next_check_) {
    next_check_ = now + recheck_;
    // Ownership that cannot be told now (PostgreSQL down) changes nothing: keep the upstream.
    if (auto owner = find_(/*allow_cached=*/true); owner.ok() && !SamePlace(*owner, owner_)) {
      auto switched = SwitchTo(*owner);
      if (!switched.ok()) return switched.status();
    }
  }
  auto messages = source_->Poll();
  if (messages.ok()) {
    outage_since_.reset();
    return Filter(std::move(*messages));
  }
  // The grace counts from the first failure of a series: an upstream reopened that fails again
  // at once does not restart it.
  if (!outage_since_) outage_since_ = now;
  ended_ = messages.status();
  ended_at_ = *outage_since_;
  next_reopen_ = now + kReopenEvery;
  return Poll();
}

std::vector<std::string> OwnerFollowingStream::Filter(std::vector<std::string> messages) {
  std::vector<std::string> out;
  out.reserve(messages.size());
  for (std::string& m : messages) {
    if (kind_ == Kind::kLogs) {
      if (lines_to_skip_ > 0) {
        --lines_to_skip_;
        continue;
      }
      ++lines_sent_;
      out.push_back(std::move(m));
    } else if (auto kept = FilterPoints(std::move(m))) {
      out.push_back(std::move(*kept));
    }
  }
  return out;
}

// A points message ({"type":"points","metric":M,"steps":[..],"values":[..],"wall_times":[..]},
// streams.h) without the points at or below the metric's floor. Cut as text, so the values keep
// the owner's exact digits; the arrays hold numbers and nulls only.
std::optional<std::string> OwnerFollowingStream::FilterPoints(std::string message) {
  constexpr std::string_view kSteps = "\"steps\":[", kValues = "],\"values\":[", kTimes = "],\"wall_times\":[",
                             kEnd = "]}", kMetric = "{\"type\":\"points\",\"metric\":";
  const size_t steps_at = message.rfind(kSteps);
  if (message.rfind(kMetric, 0) != 0 || steps_at == std::string::npos) return message;  // not points
  const size_t values_at = message.find(kValues, steps_at);
  const size_t times_at = values_at == std::string::npos ? values_at : message.find(kTimes, values_at);
  if (times_at == std::string::npos || message.size() < kEnd.size() ||
      message.compare(message.size() - kEnd.size(), kEnd.size(), kEnd) != 0)
    return message;
  // The metric's name: the JSON string between "metric": and ,"steps" (a name never holds an
  // unescaped quote, so this is exact for any name).
  const std::string_view view(message);
  std::string_view name_json = view.substr(kMetric.size(), steps_at - 1 - kMetric.size());
  if (name_json.size() < 2 || name_json.front() != '"' || name_json.back() != '"') return message;
  const std::string metric(name_json);  // kept in its JSON form: one key per distinct name
  const auto steps = Elements(view.substr(steps_at + kSteps.size(), values_at - steps_at - kSteps.size()));
  const auto values = Elements(view.substr(values_at + kValues.size(), times_at - values_at - kValues.size()));
  const auto times = Elements(view.substr(times_at + kTimes.size(), message.size() - kEnd.size() - times_at - kTimes.size()));
  if (steps.size() != values.size() || steps.size() != times.size()) return message;

  int64_t floor = other_floor_;
  bool has_floor = true;
  if (auto it = last_sent_.find(metric); it != last_sent_.end()) floor = it->second;
  else if (auto f = floors_.find(metric); f != floors_.end()) floor = f->second;
  else if (!floors_known_) has_floor = false;  // the owner's own start: everything it sends is new
  std::vector<size_t> keep;
  int64_t last = floor;
  for (size_t i = 0; i < steps.size(); ++i) {
    int64_t step = 0;
    auto [end, ec] = std::from_chars(steps[i].data(), steps[i].data() + steps[i].size(), step);
    if (ec != std::errc() || end != steps[i].data() + steps[i].size()) return message;
    if (has_floor && step <= last) continue;
    keep.push_back(i);
    last = step;
    has_floor = true;
  }
  if (keep.empty()) return std::nullopt;
  last_sent_[metric] = last;
  if (keep.size() == steps.size()) return message;
  return fmt::format("{}{}{}{}{}{}{}{}", message.substr(0, steps_at), kSteps, Join(steps, keep), kValues,
                     Join(values, keep), kTimes, Join(times, keep), kEnd);
}

}  // namespace runicorn::server
