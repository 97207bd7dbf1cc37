#include "server/streams.h"

#include <limits>
#include <map>
#include <optional>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "server/handlers.h"
#include "server/json_codec.h"
#include "server/params.h"

namespace runicorn::server {
using runtrack::Result;
using runtrack::Status;
namespace bj = boost::json;

namespace {

// True on the first call and then only after the indexer has ingested something: a poll between
// two ingest passes would only re-read what the stream already sent.
class IngestWatch {
 public:
  explicit IngestWatch(const AppContext& ctx) : ctx_(ctx) {}
  bool Changed() {
    uint64_t generation = ctx_.index_generation.load();
    if (polled_ && generation == generation_) return false;
    polled_ = true;
    generation_ = generation;
    return true;
  }

 private:
  const AppContext& ctx_;
  bool polled_ = false;
  uint64_t generation_ = 0;
};

class LogStream final : public StreamSource {
 public:
  LogStream(const AppContext& ctx, std::string run_id) : ctx_(ctx), run_id_(std::move(run_id)) {}

  Result<std::vector<std::string>> Poll() override {
    std::vector<std::string> out;
    if (!ingest_.Changed()) return out;
    RUNTRACK_ASSIGN_OR_RETURN(std::string text, ctx_.catalog->ReadLog(run_id_, offset_));
    offset_ += text.size();
    partial_ += text;
    size_t start = 0;
    for (size_t nl; (nl = partial_.find('\n', start)) != std::string::npos; start = nl + 1) {
      size_t end = nl > start && partial_[nl - 1] == '\r' ? nl - 1 : nl;
      out.emplace_back(partial_, start, end - start);
    }
    partial_.erase(0, start);
    if (!partial_.empty()) {
      RUNTRACK_ASSIGN_OR_RETURN(auto detail, ctx_.catalog->GetRun(run_id_));
      if (detail.run.status != runtrack::RunStatus::kRunning) out.push_back(std::exchange(partial_, {}));
    }
    return out;
  }

 private:
  const AppContext& ctx_;
  std::string run_id_;
  uint64_t offset_ = 0;
  std::string partial_;
  IngestWatch ingest_{ctx_};
};

class MetricStream final : public StreamSource {
 public:
  MetricStream(const AppContext& ctx, std::string run_id, std::vector<std::string> metrics,
               std::optional<int64_t> after_step, const runtrack::RunDetail& detail)
      : ctx_(ctx), run_id_(std::move(run_id)), filter_(std::move(metrics)), after_step_(after_step) {
    for (const auto& m : detail.metrics) {
      State& s = state_[m.name];
      s.last_step = after_step ? *after_step : m.max_step;
      s.seen_count = 0;  // forces one read; it returns nothing past last_step unless new
    }
  }

  Result<std::vector<std::string>> Poll() override {
    std::vector<std::string> out;
    if (!ingest_.Changed()) return out;
    RUNTRACK_ASSIGN_OR_RETURN(auto detail, ctx_.catalog->GetRun(run_id_));
    for (const auto& m : detail.metrics) {
      if (!filter_.empty() && std::find(filter_.begin(), filter_.end(), m.name) == filter_.end()) continue;
      auto [it, fresh] = state_.try_emplace(m.name);
      State& s = it->second;
      if (fresh) s.last_step = after_step_;  // a metric that appeared after we connected
      if (m.count == s.seen_count) continue;
      s.seen_count = m.count;
      if (s.last_step && *s.last_step == std::numeric_limits<int64_t>::max()) continue;
      std::optional<int64_t> from;
      if (s.last_step) from = *s.last_step + 1;
      RUNTRACK_ASSIGN_OR_RETURN(auto series, ctx_.catalog->ReadMetric(run_id_, m.name, from));
      if (series.points.empty()) continue;
      bj::array steps, values, times;
      steps.reserve(series.points.size());
      values.reserve(series.points.size());
      times.reserve(series.points.size());
      for (const auto& p : series.points) {
        steps.emplace_back(p.step);
        values.push_back(json::Number(p.value));
        times.push_back(json::Number(p.wall_time));
      }
      s.last_step = series.points.back().step;
      out.push_back(bj::serialize(bj::object{{"type", "points"},
                                             {"metric", m.name},
                                             {"steps", std::move(steps)},
                                             {"values", std::move(values)},
                                             {"wall_times", std::move(times)}}));
    }
    return out;
  }

 private:
  struct State {
    std::optional<int64_t> last_step;  // unset: nothing sent and no start step: send from the first
    uint64_t seen_count = 0;
  };
  const AppContext& ctx_;
  std::string run_id_;
  std::vector<std::string> filter_;
  std::optional<int64_t> after_step_;
  std::map<std::string, State> state_;
  IngestWatch ingest_{ctx_};
};

}  // namespace

Result<std::unique_ptr<StreamSource>> MakeLogStream(const AppContext& ctx, const Request& req) {
  const std::string& id = req.Param("run_id");
  RUNTRACK_RETURN_IF_ERROR(CheckRunIdParam(id));
  RUNTRACK_RETURN_IF_ERROR(ctx.catalog->GetRun(id).status());
  return std::unique_ptr<StreamSource>(std::make_unique<LogStream>(ctx, id));
}

Result<std::unique_ptr<StreamSource>> MakeMetricStream(const AppContext& ctx, const Request& req) {
  const std::string& id = req.Param("run_id");
  RUNTRACK_RETURN_IF_ERROR(CheckRunIdParam(id));
  auto after = GetInt(req.query, "after_step", std::numeric_limits<int64_t>::min(),
                      std::numeric_limits<int64_t>::max());
  if (!after.ok()) return after.status();
  RUNTRACK_ASSIGN_OR_RETURN(auto detail, ctx.catalog->GetRun(id));
  return std::unique_ptr<StreamSource>(
      std::make_unique<MetricStream>(ctx, id, GetList(req.query, "metrics"), *after, detail));
}

}  // namespace runicorn::server
