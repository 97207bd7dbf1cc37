#include "server/streams.h"

#include <limits>
#include <map>
#include <optional>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "encode/json_writer.h"
#include "runtrack/json_codec.h"
#include "server/params.h"
#include "server/read_forwarding.h"
#include "service/follow.h"

namespace runicorn::server {
using runtrack::Result;
using runtrack::Status;
namespace bj = boost::json;
namespace json = runtrack::json;

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
  LogStream(const AppContext& ctx, service::LogFollower follower) : ingest_(ctx), follower_(std::move(follower)) {}

  Result<std::vector<std::string>> Poll() override {
    // A backlog left by the previous poll's cap is sent without waiting for the indexer.
    if (!ingest_.Changed() && !follower_.backlog()) return std::vector<std::string>();
    return follower_.NextLines(kMaxLogBytesPerPoll);
  }

 private:
  IngestWatch ingest_;
  service::LogFollower follower_;
};

class MetricStream final : public StreamSource {
 public:
  MetricStream(const AppContext& ctx, service::MetricFollower follower) : ingest_(ctx), follower_(std::move(follower)) {}

  Result<std::vector<std::string>> Poll() override {
    std::vector<std::string> out;
    if (!ingest_.Changed() && !follower_.backlog()) return out;
    RUNTRACK_ASSIGN_OR_RETURN(auto batches, follower_.Next(kMaxPointsPerPoll));
    for (const auto& batch : batches) {
      bj::array steps, values, times;
      steps.reserve(batch.points.size());
      values.reserve(batch.points.size());
      times.reserve(batch.points.size());
      for (const auto& p : batch.points) {
        steps.emplace_back(p.step);
        values.push_back(json::Number(p.value));
        times.push_back(json::Number(p.wall_time));
      }
      out.push_back(encode::JsonText(bj::object{{"type", "points"},
                                             {"metric", batch.metric},
                                             {"steps", std::move(steps)},
                                             {"values", std::move(values)},
                                             {"wall_times", std::move(times)}}));
    }
    return out;
  }

 private:
  IngestWatch ingest_;
  service::MetricFollower follower_;
};

}  // namespace

Result<std::unique_ptr<StreamSource>> MakeLogStream(const AppContext& ctx, const Request& req) {
  // A live run of another replica: the stream is relayed from its owner (read_forwarding.h).
  if (ctx.read_forwarding)
    if (auto proxied = ctx.read_forwarding->RouteStream(req, ctx.services->run_catalog)) return std::move(*proxied);
  RUNTRACK_ASSIGN_OR_RETURN(auto follower, service::MakeLogFollower(ctx.services->run_catalog, req.Param("run_id")));
  return std::unique_ptr<StreamSource>(std::make_unique<LogStream>(ctx, std::move(follower)));
}

Result<std::unique_ptr<StreamSource>> MakeMetricStream(const AppContext& ctx, const Request& req) {
  // A live run of another replica: the stream is relayed from its owner (read_forwarding.h).
  if (ctx.read_forwarding)
    if (auto proxied = ctx.read_forwarding->RouteStream(req, ctx.services->run_catalog)) return std::move(*proxied);
  RUNTRACK_RETURN_IF_ERROR(runtrack::ValidateRunId(req.Param("run_id")));
  auto after = GetInt(req.query, "after_step", std::numeric_limits<int64_t>::min(),
                      std::numeric_limits<int64_t>::max());
  if (!after.ok()) return after.status();
  RUNTRACK_ASSIGN_OR_RETURN(auto follower,
                            service::MakeMetricFollower(ctx.services->run_catalog, ctx.services->metric_reader,
                                                        req.Param("run_id"), GetList(req.query, "metrics"), *after));
  return std::unique_ptr<StreamSource>(std::make_unique<MetricStream>(ctx, std::move(follower)));
}

}  // namespace runicorn::server
