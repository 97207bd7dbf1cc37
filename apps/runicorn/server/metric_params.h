// The chart parameters every metric route takes: downsample=N, method=lttb|m4|minmax|none,
// x_axis=step|wall_time|relative_time, metrics=a,b (or v2's metric_names) and step_range=lo,hi.
#pragma once

#include "runtrack/status.h"
#include "server/http_types.h"
#include "service/metric_service.h"

namespace runicorn::server {

// Malformed values are InvalidArgument naming the parameter (answered with 422).
runtrack::Result<service::MetricTableQuery> ParseMetricTableQuery(const QueryParams& q);

}  // namespace runicorn::server
