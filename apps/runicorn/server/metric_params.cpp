#include "server/metric_params.h"

#include <fmt/format.h>

#include "server/params.h"

namespace runicorn::server {
using runtrack::Result;
using runtrack::Status;
using service::MetricTableQuery;

Result<MetricTableQuery> ParseMetricTableQuery(const QueryParams& q) {
  MetricTableQuery out;
  // Runicorn's UI asks for up to a few thousand points; 1,000,000 keeps a typo from allocating
  // without bound while still allowing "everything" on long runs.
  RUNTRACK_ASSIGN_OR_RETURN(auto ds, GetInt(q, "downsample", 1, 1000000));
  if (ds) out.downsample = static_cast<size_t>(*ds);
  if (const std::string* m = q.Get("method")) {
    auto method = runtrack::ParseDownsampleMethod(*m);
    if (!method.ok())
      return Status::InvalidArgument(fmt::format("Invalid query parameter 'method': {}", method.status().message()));
    out.method = *method;
  }
  if (const std::string* x = q.Get("x_axis")) {
    auto axis = runtrack::ParseXAxis(*x);
    if (!axis.ok())
      return Status::InvalidArgument(fmt::format("Invalid query parameter 'x_axis': {}", axis.status().message()));
    out.x_axis = *axis;
  }
  out.metrics = GetList(q, "metrics");
  if (out.metrics.empty()) out.metrics = GetList(q, "metric_names");  // v2's spelling
  if (const std::string* r = q.Get("step_range")) {
    RUNTRACK_ASSIGN_OR_RETURN(auto range, ParseStepRange(*r, "step_range"));
    out.step_min = range.first;
    out.step_max = range.second;
  }
  return out;
}

}  // namespace runicorn::server
