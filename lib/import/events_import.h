// Reading a Runicorn events.jsonl (notes §1.4, §2.2) as metric points and image events.
//
// One JSON object per line: {"ts", "type": "metrics", "data": {..., "global_step", "time",
// "stage"?}} or {"ts", "type": "image", "data": {"key", "path", "step", "caption"}}.
// - Every int, float or bool member of a metrics event's data except global_step, time and stage
//   becomes one point (bools as 1/0), in file order, so a repeated step keeps both points and the
//   later one wins on read (Runicorn's rule). Values, steps and wall times are bit-exact
//   (runicorn_json.h); wall time is data.time, else ts.
// - The step is data.global_step, else data.step (Runicorn's metrics endpoint does the same); an
//   event with neither is skipped and counted.
// - Strings, nulls, lists and objects in data are not metrics in our model: counted per key and
//   reported. So are names our store refuses (CheckMetricName) and events of other types.
// - A line that is not valid JSON is reported and skipped; the last line without a newline (a
//   torn append) is reported as such. Neither stops the import.
// The file is streamed, so its size is not bounded by memory.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

#include "import/source_files.h"

namespace runtrack::importer {

struct ImageEvent {
  std::string key;
  std::string path;              // as written by Runicorn: "media/<file>"
  boost::json::value step;       // int or null
  boost::json::value caption;    // string or null
  double time = 0;               // the event's ts
};

struct EventsSummary {
  uint64_t points = 0;
  std::optional<double> first_wall_time, last_wall_time;  // over every event read
  std::vector<ImageEvent> images;
};

using PointSink = std::function<Status(std::string_view metric, std::string_view stage, int64_t step,
                                       double wall_time, double value)>;

// Reads `file` (missing: an empty summary). `item` names it in reports. Only an error returned by
// `sink` fails the call.
Result<EventsSummary> ReadEvents(const fs::path& file, const std::string& item, const SkipLog& log,
                                 const PointSink& sink);

}  // namespace runtrack::importer
