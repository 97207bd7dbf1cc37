#include "service/follow.h"

#include <algorithm>
#include <utility>

#include "runtrack/validation.h"

namespace runicorn::service {
using runtrack::Result;

Result<std::vector<std::string>> LogFollower::NextLines(size_t max_bytes) {
  if (pending_.empty()) {
    RUNTRACK_ASSIGN_OR_RETURN(std::string text, runs_.ReadLog(run_id_, offset_));
    offset_ += text.size();
    partial_ += text;
    size_t start = 0;
    for (size_t nl; (nl = partial_.find('\n', start)) != std::string::npos; start = nl + 1) {
      size_t end = nl > start && partial_[nl - 1] == '\r' ? nl - 1 : nl;
      pending_.emplace_back(partial_, start, end - start);
    }
    partial_.erase(0, start);
    if (!partial_.empty()) {
      RUNTRACK_ASSIGN_OR_RETURN(auto detail, runs_.GetRun(run_id_));
      if (detail.run.status != runtrack::RunStatus::kRunning) pending_.push_back(std::exchange(partial_, {}));
    }
  }
  std::vector<std::string> out;
  size_t bytes = 0;
  while (!pending_.empty() && (out.empty() || bytes + pending_.front().size() <= max_bytes)) {
    bytes += pending_.front().size();
    out.push_back(std::move(pending_.front()));
    pending_.pop_front();
  }
  return out;
}

MetricFollower::MetricFollower(const RunCatalog& runs, const MetricReader& reader, std::string run_id,
                               std::vector<std::string> metrics, std::optional<int64_t> after_step)
    : runs_(runs), reader_(reader), run_id_(std::move(run_id)), filter_(std::move(metrics)), after_step_(after_step) {}

runtrack::Status MetricFollower::Start(const runtrack::RunDetail& detail) {
  for (const auto& m : detail.metrics) {
    State& s = state_[m.name];
    if (after_step_) {
      s.last_step = after_step_;  // everything stored after that step, then what comes
    } else {
      s.last_step = m.max_step;   // only what is logged from now on
      RUNTRACK_ASSIGN_OR_RETURN(s.cursor, reader_.MetricCursorAtEnd(run_id_, m.name));
    }
  }
  return runtrack::Status::Ok();
}

Result<std::vector<MetricBatch>> MetricFollower::Next(uint64_t max_points) {
  std::vector<MetricBatch> out;
  backlog_ = false;
  uint64_t budget = std::max<uint64_t>(max_points, 1);
  RUNTRACK_ASSIGN_OR_RETURN(auto detail, runs_.GetRun(run_id_));
  // Each call starts one metric further on, so a metric that always has more than the budget
  // cannot starve the ones after it.
  const size_t n = detail.metrics.size();
  const size_t first = n == 0 ? 0 : next_first_++ % n;
  for (size_t i = 0; i < n; ++i) {
    const runtrack::MetricInfo& m = detail.metrics[(first + i) % n];
    if (!filter_.empty() && std::find(filter_.begin(), filter_.end(), m.name) == filter_.end()) continue;
    auto [it, fresh] = state_.try_emplace(m.name);
    State& s = it->second;
    if (fresh) s.last_step = after_step_;  // a metric that appeared after we started
    if (m.count == s.cursor.position) continue;  // nothing new (a shrunk series: ReadMetricSince says so)
    if (budget == 0) {
      backlog_ = true;
      break;
    }
    RUNTRACK_ASSIGN_OR_RETURN(auto chunk, reader_.ReadMetricSince(run_id_, m.name, s.cursor, budget));
    budget -= std::min<uint64_t>(budget, chunk.points.size());
    s.cursor = chunk.cursor;
    if (s.cursor.position < m.count) backlog_ = true;
    MetricBatch batch{m.name, {}};
    for (const runtrack::MetricPoint& p : chunk.points) {
      if (!batch.points.empty() && p.step == batch.points.back().step) {
        batch.points.back() = p;  // the same step again: the later value wins
      } else if (!s.last_step || p.step > *s.last_step) {
        batch.points.push_back(p);
        s.last_step = p.step;
      }
    }
    if (!batch.points.empty()) out.push_back(std::move(batch));
  }
  return out;
}

Result<LogFollower> MakeLogFollower(const RunCatalog& runs, const std::string& run_id) {
  RUNTRACK_RETURN_IF_ERROR(runtrack::ValidateRunId(run_id));
  RUNTRACK_RETURN_IF_ERROR(runs.GetRun(run_id).status());
  return LogFollower(runs, run_id);
}

Result<MetricFollower> MakeMetricFollower(const RunCatalog& runs, const MetricReader& reader, const std::string& run_id,
                                          std::vector<std::string> metrics, std::optional<int64_t> after_step) {
  RUNTRACK_RETURN_IF_ERROR(runtrack::ValidateRunId(run_id));
  RUNTRACK_ASSIGN_OR_RETURN(auto detail, runs.GetRun(run_id));
  MetricFollower follower(runs, reader, run_id, std::move(metrics), after_step);
  RUNTRACK_RETURN_IF_ERROR(follower.Start(detail));
  return follower;
}

}  // namespace runicorn::service
