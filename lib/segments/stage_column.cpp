#include "segments/stage_column.h"

#include <vector>

#include "segments/byte_io.h"

namespace runtrack::segments {

void EncodeStageColumn(std::span<const MetricPoint> points, std::string* out) {
  std::vector<std::pair<uint32_t, uint64_t>> runs;
  for (const MetricPoint& p : points) {
    if (runs.empty() || runs.back().first != p.stage) {
      runs.emplace_back(p.stage, 1);
    } else {
      ++runs.back().second;
    }
  }
  PutVarint(out, runs.size());
  for (const auto& [stage, length] : runs) {
    PutVarint(out, stage);
    PutVarint(out, length);
  }
}

Status DecodeStageRuns(std::string_view data, size_t count, std::vector<StageRun>* runs) {
  runs->clear();
  ByteCursor cursor(data);
  uint64_t run_count = 0;
  if (!cursor.GetVarint(&run_count)) return Status::Corruption("stage column has no run count");
  if (run_count > count) return Status::Corruption("stage column has more runs than the block has points");
  size_t filled = 0;
  for (uint64_t r = 0; r < run_count; ++r) {
    uint64_t stage = 0, length = 0;
    if (!cursor.GetVarint(&stage) || !cursor.GetVarint(&length)) {
      return Status::Corruption("stage column ends inside run " + std::to_string(r));
    }
    if (stage > UINT32_MAX) return Status::Corruption("stage id " + std::to_string(stage) + " exceeds 32 bits");
    if (length > count - filled) return Status::Corruption("stage runs cover more points than the block holds");
    runs->push_back({static_cast<uint32_t>(stage), static_cast<uint32_t>(length)});
    filled += static_cast<size_t>(length);
  }
  if (filled != count || cursor.remaining() != 0) {
    return Status::Corruption("stage runs cover " + std::to_string(filled) + " of " + std::to_string(count) +
                              " points");
  }
  return Status::Ok();
}

}  // namespace runtrack::segments
