// Views of a multi-process run (docs/REMOTE.md "Streams"): every process (rank, or host:pid)
// ships its own journal stream of the same run id; this merges one metric's streams by
// (step, stream) or shows one stream alone.
//
// Thread safety: any number of threads at once (read-only over MetricReader).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtrack/catalog.h"
#include "runtrack/status.h"
#include "service/storage.h"

namespace runicorn::service {

struct StreamMetricView {
  std::string metric;
  std::optional<std::string> stream;  // set: the one stream shown; unset: all merged
  std::vector<std::string> streams;   // the streams that logged the metric ("0" first)
  // One row per point, ordered by step, then by the stream's place in `streams`, then logging
  // order. stream_index indexes `streams`.
  std::vector<int64_t> steps;
  std::vector<uint32_t> stream_index;
  std::vector<double> values;
  std::vector<double> wall_times;
};

class StreamViewService {
 public:
  explicit StreamViewService(const MetricReader& reader) : reader_(reader) {}

  // InvalidArgument for a bad run id; NotFound for an unknown run.
  runtrack::Result<std::vector<runtrack::RunStreamInfo>> ListStreams(std::string_view run_id) const;
  // `stream` unset: every stream merged. InvalidArgument for a bad run id, an empty metric or a
  // bad stream name; NotFound for an unknown run or metric, or a stream that did not log it.
  runtrack::Result<StreamMetricView> Points(std::string_view run_id, std::string_view metric,
                                            const std::optional<std::string>& stream) const;

 private:
  const MetricReader& reader_;
};

}  // namespace runicorn::service
