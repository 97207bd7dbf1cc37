// Stage ids of a block, run-length coded: varint run count, then per run varint stage id and
// varint length. Stage ids index the segment's stage dictionary (its footer's stage names), so a
// block of one stage costs three bytes.
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "runtrack/metric_point.h"
#include "runtrack/status.h"

namespace runtrack::segments {

void EncodeStageColumn(std::span<const MetricPoint> points, std::string* out);

struct StageRun {
  uint32_t stage = 0;
  uint32_t length = 0;
};

// Replaces *runs with the column's runs; Corruption unless they cover exactly `count` points.
Status DecodeStageRuns(std::string_view data, size_t count, std::vector<StageRun>* runs);

}  // namespace runtrack::segments
