// Response bodies of a multi-process run's stream views (docs/REMOTE.md "Streams",
// GET /api/runs/{run_id}/streams and /api/runs/{run_id}/stream-points).
#pragma once

#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "runtrack/catalog.h"
#include "service/stream_view.h"

namespace runicorn::encode {

// {"run_id": ..., "streams": [{"stream": "0", "ended": bool, "points": N}, ...]}
boost::json::object StreamListJson(std::string_view run_id, const std::vector<runtrack::RunStreamInfo>& streams);
// {"run_id", "metric", "stream": null | "S", "streams": [...],
//  "rows": {"step": [...], "stream": [...], "value": [...], "wall_time": [...]}}; a non-finite value
// is null (JSON has no NaN / Infinity).
boost::json::object StreamPointsJson(std::string_view run_id, const service::StreamMetricView& view);

}  // namespace runicorn::encode
