#include "encode/stream_json.h"

#include <cmath>

#include <boost/json.hpp>

namespace runicorn::encode {
namespace json = boost::json;

json::object StreamListJson(std::string_view run_id, const std::vector<runtrack::RunStreamInfo>& streams) {
  json::array list;
  for (const auto& s : streams)
    list.push_back(json::object{{"stream", s.stream}, {"ended", s.ended}, {"points", s.points}});
  return json::object{{"run_id", run_id}, {"streams", std::move(list)}};
}

json::object StreamPointsJson(std::string_view run_id, const service::StreamMetricView& view) {
  json::array names(view.streams.begin(), view.streams.end());
  json::array steps, streams, values, walls;
  steps.reserve(view.steps.size());
  streams.reserve(view.steps.size());
  values.reserve(view.steps.size());
  walls.reserve(view.steps.size());
  for (size_t i = 0; i < view.steps.size(); ++i) {
    steps.push_back(view.steps[i]);
    streams.push_back(json::string(view.streams[view.stream_index[i]]));
    values.push_back(std::isfinite(view.values[i]) ? json::value(view.values[i]) : json::value(nullptr));
    walls.push_back(view.wall_times[i]);
  }
  return json::object{
      {"run_id", run_id},
      {"metric", view.metric},
      {"stream", view.stream ? json::value(*view.stream) : json::value(nullptr)},
      {"streams", std::move(names)},
      {"rows", json::object{{"step", std::move(steps)}, {"stream", std::move(streams)},
                            {"value", std::move(values)}, {"wall_time", std::move(walls)}}}};
}

}  // namespace runicorn::encode
