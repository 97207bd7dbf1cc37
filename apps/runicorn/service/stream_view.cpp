#include "service/stream_view.h"

#include <algorithm>
#include <numeric>

#include <fmt/format.h>

#include "runtrack/remote.h"
#include "runtrack/validation.h"

namespace runicorn::service {
using runtrack::Result;
using runtrack::Status;

Result<std::vector<runtrack::RunStreamInfo>> StreamViewService::ListStreams(std::string_view run_id) const {
  RUNTRACK_RETURN_IF_ERROR(runtrack::ValidateRunId(run_id));
  return reader_.ListStreams(run_id);
}

Result<StreamMetricView> StreamViewService::Points(std::string_view run_id, std::string_view metric,
                                                   const std::optional<std::string>& stream) const {
  RUNTRACK_RETURN_IF_ERROR(runtrack::ValidateRunId(run_id));
  if (metric.empty()) return Status::InvalidArgument("Missing query parameter 'metric'");
  if (stream) RUNTRACK_RETURN_IF_ERROR(runtrack::ValidateJournalStream(*stream));
  RUNTRACK_ASSIGN_OR_RETURN(std::vector<runtrack::StreamPoints> parts, reader_.ReadMetricStreams(run_id, metric));
  StreamMetricView view;
  view.metric = std::string(metric);
  view.stream = stream;
  struct Row {
    int64_t step;
    uint32_t stream;
    size_t order;  // logging order within the stream
    double value, wall_time;
  };
  std::vector<Row> rows;
  for (const runtrack::StreamPoints& part : parts) {
    view.streams.push_back(part.stream);
    if (stream && part.stream != *stream) continue;
    const auto index = static_cast<uint32_t>(view.streams.size() - 1);
    for (size_t i = 0; i < part.points.size(); ++i)
      rows.push_back({part.points[i].step, index, i, part.points[i].value, part.points[i].wall_time});
  }
  if (stream && std::find(view.streams.begin(), view.streams.end(), *stream) == view.streams.end())
    return Status::NotFound(fmt::format("run {} has no stream '{}' with metric '{}'", run_id, *stream, metric));
  std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
    if (a.step != b.step) return a.step < b.step;
    if (a.stream != b.stream) return a.stream < b.stream;
    return a.order < b.order;
  });
  for (const Row& r : rows) {
    view.steps.push_back(r.step);
    view.stream_index.push_back(r.stream);
    view.values.push_back(r.value);
    view.wall_times.push_back(r.wall_time);
  }
  return view;
}

}  // namespace runicorn::service
