// The row bound of metric tables sent without downsampling, and the headers every metric table
// response carries (Runicorn's X-Row-Count, X-Total-Count, X-Last-Step).
//
// Without `downsample` a response holds at most MetricService::kMaxRowsPerResponse rows (or fewer,
// with `max_rows=`); beyond it the body says "truncated": true and "next_step": S, and asking
// again with step_range=S, continues exactly there, so pages concatenate to the whole table.
#pragma once

#include "runtrack/status.h"
#include "server/http_types.h"
#include "service/metric_service.h"

namespace runicorn::server {

// Sets query->max_rows from `max_rows=` (1..kMaxRowsPerResponse; default the maximum) when the
// query is not downsampled. max_rows= together with downsample= is InvalidArgument (422).
runtrack::Status ApplyRowBound(const QueryParams& params, service::MetricTableQuery* query);

// X-Row-Count (rows sent), X-Total-Count (distinct steps in range, when known), X-Last-Step
// (the last row's step, when there is a row).
void AddMetricTableHeaders(const service::MetricTable& table, Response* response);

}  // namespace runicorn::server
