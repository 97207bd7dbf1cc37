// One sealed block: up to kMaxBlockPoints consecutive points of one series, in arrival order,
// stored column by column behind a fixed 112-byte header that carries the block's summary
// (count, first/last/min/max step, first/last/min/max value) and a CRC-32C over everything after
// the checksum field. Layout in docs/FORMATS-segments.md.
//
// Columns: steps and wall-time bit patterns with EncodeIntegerColumn, values with the block's
// ValueCodec, stages run-length coded. Decoding checks the CRC first, then every length, so
// corrupt or truncated bytes give Corruption and never an out-of-bounds access.
//
// Thread safety: pure functions (decoding uses per-thread scratch buffers).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "runtrack/metric_point.h"
#include "runtrack/status.h"
#include "segments/value_column.h"

namespace runtrack::segments {

inline constexpr size_t kBlockHeaderSize = 112;
inline constexpr uint32_t kMaxBlockPoints = 65536;

struct BlockHeader {
  uint32_t crc32c = 0;       // over bytes [4, kBlockHeaderSize + body_length)
  uint32_t body_length = 0;  // bytes after the header
  uint32_t count = 0;        // points, 1..kMaxBlockPoints
  ValueCodec value_codec = ValueCodec::kGorillaXor;
  uint64_t first_ordinal = 0;  // arrival ordinal of the block's first point within its series
  int64_t step_first = 0, step_last = 0, step_min = 0, step_max = 0;
  double value_first = 0, value_last = 0;
  double value_min = 0, value_max = 0;  // finite values only; NaN when the block has none
  uint32_t nonfinite_count = 0;
  uint32_t steps_bytes = 0, wall_bytes = 0, values_bytes = 0, stages_bytes = 0;

  uint64_t total_size() const { return kBlockHeaderSize + body_length; }
};

// Appends the block holding `points` (1..kMaxBlockPoints of them) to `out`. Values use `codec`,
// or without one whichever codec gives the smallest column (on a tie the first of Gorilla,
// bits-delta, zstd: the order of decode speed).
void EncodeBlock(std::span<const MetricPoint> points, uint64_t first_ordinal, std::optional<ValueCodec> codec,
                 int zstd_level, std::string* out);

// Parses and sanity-checks the header at the start of `bytes` (which may hold only the header);
// the CRC is not checked here. Corruption for short input or inconsistent fields.
Result<BlockHeader> ParseBlockHeader(std::string_view bytes);

// Checks the CRC of the whole block (`block` must be exactly header.total_size() bytes) and
// appends its header.count points to *out; on error *out is left as it was.
Status DecodeBlock(std::string_view block, const BlockHeader& header, std::vector<MetricPoint>* out);

}  // namespace runtrack::segments
