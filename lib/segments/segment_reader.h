// Reads a sealed segment through a ByteSource: Open fetches the trailer and the footer (two
// reads); each query then fetches only the blocks it needs, one read per run of adjacent blocks,
// and checks every block's CRC before decoding it.
//
// Thread safety: immutable after Open; every const method may be called from any thread at the
// same time (the ByteSource must allow concurrent ReadAt, as the provided ones do).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "metrics/downsample.h"
#include "runtrack/metric_point.h"
#include "runtrack/status.h"
#include "segments/byte_source.h"
#include "segments/segment_format.h"

namespace runtrack::segments {

class SegmentReader {
 public:
  // Corruption if the object is truncated, not a segment, of an unsupported format version, or
  // its footer fails its CRC or describes blocks that do not tile the object.
  static Result<SegmentReader> Open(std::shared_ptr<const ByteSource> source);

  const SegmentInfo& info() const { return info_; }
  uint64_t first_ordinal() const { return info_.first_ordinal; }
  uint64_t end_ordinal() const { return info_.first_ordinal + info_.point_count; }

  // Replaces *out with the points of series ordinals [begin, end), in arrival order.
  // InvalidArgument unless first_ordinal() <= begin <= end <= end_ordinal().
  Status ReadOrdinals(uint64_t begin, uint64_t end, std::vector<MetricPoint>* out) const;

  // Replaces *out with every point whose step lies in [step_min, step_max], in arrival order
  // (repeated steps all included: this is storage, not the query layer's "later value wins").
  // Only blocks whose step range overlaps are fetched. InvalidArgument if step_min > step_max.
  Status ReadStepRange(int64_t step_min, int64_t step_max, std::vector<MetricPoint>* out) const;

  // The segment as a RawPointReader for Downsample(), for a series stored in this one segment
  // starting at ordinal 0. The reader must outlive the returned function.
  RawPointReader AsRawPointReader() const;

 private:
  SegmentReader(std::shared_ptr<const ByteSource> source, SegmentInfo info)
      : source_(std::move(source)), info_(std::move(info)) {}

  // Fetches blocks [first, last) with one read and calls on_block(index, header, bytes) for each.
  template <typename OnBlock>
  Status ForEachBlock(size_t first, size_t last, OnBlock on_block) const;

  std::shared_ptr<const ByteSource> source_;
  SegmentInfo info_;
};

}  // namespace runtrack::segments
