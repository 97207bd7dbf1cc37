#include "segments/segment_reader.h"

#include <algorithm>
#include <cstring>

#include "segments/byte_io.h"
#include "segments/segment_block.h"
#include "segments/object_footer.h"

namespace runtrack::segments {
namespace {

Status FooterError(const std::string& what) { return Status::Corruption("segment footer: " + what); }

Result<SegmentInfo> ParseFooter(std::string_view footer, uint64_t footer_offset) {
  ByteCursor c(footer);
  SegmentInfo info;
  uint32_t block_count = 0, name_length = 0, stage_count = 0;
  uint8_t nondecreasing = 0;
  std::string_view bytes;
  c.GetU64(&info.first_ordinal);
  c.GetU64(&info.point_count);
  c.GetU32(&block_count);
  c.GetU8(&nondecreasing);
  c.GetBytes(3, &bytes);
  c.GetU32(&name_length);
  if (c.failed()) return FooterError("too short for its fixed fields");
  if (name_length > kMaxSeriesNameBytes || !c.GetBytes(name_length, &bytes)) return FooterError("bad series name");
  info.series_name = std::string(bytes);
  if (!c.GetU32(&stage_count) || stage_count > kMaxStages) return FooterError("bad stage count");
  info.stages.reserve(stage_count);
  for (uint32_t i = 0; i < stage_count; ++i) {
    uint32_t len = 0;
    if (!c.GetU32(&len) || !c.GetBytes(len, &bytes)) return FooterError("stage name " + std::to_string(i) + " truncated");
    info.stages.emplace_back(bytes);
  }
  info.steps_nondecreasing = nondecreasing != 0;
  if (c.remaining() != uint64_t{block_count} * kIndexEntrySize) {
    return FooterError("holds " + std::to_string(c.remaining()) + " bytes for " + std::to_string(block_count) +
                       " index entries");
  }
  info.blocks.resize(block_count);
  uint64_t expected_offset = kSegmentHeaderSize;
  uint64_t expected_ordinal = info.first_ordinal;
  for (uint32_t i = 0; i < block_count; ++i) {
    BlockIndexEntry& e = info.blocks[i];
    c.GetU64(&e.offset);
    c.GetU32(&e.length);
    c.GetU32(&e.count);
    c.GetU64(&e.first_ordinal);
    c.GetI64(&e.step_min);
    c.GetI64(&e.step_max);
    if (e.offset != expected_offset || e.length < kBlockHeaderSize || e.length > footer_offset - e.offset ||
        e.count == 0 || e.count > kMaxBlockPoints || e.first_ordinal != expected_ordinal || e.step_min > e.step_max) {
      return FooterError("index entry " + std::to_string(i) + " does not follow the previous block");
    }
    expected_offset += e.length;
    if (expected_ordinal > UINT64_MAX - e.count) return FooterError("ordinals overflow");
    expected_ordinal += e.count;
  }
  if (expected_offset != footer_offset) return FooterError("blocks do not end where the footer starts");
  if (expected_ordinal - info.first_ordinal != info.point_count) {
    return FooterError("blocks hold " + std::to_string(expected_ordinal - info.first_ordinal) + " points, footer says " +
                       std::to_string(info.point_count));
  }
  return info;
}

Status CheckHeader(std::string_view bytes) {
  if (std::memcmp(bytes.data(), kSegmentMagic, 8) != 0 || LoadLE<uint32_t>(bytes.data() + 8) != kSegmentFormatVersion ||
      LoadLE<uint32_t>(bytes.data() + 12) != 0) {
    return Status::Corruption("segment header is damaged (magic, version or reserved field)");
  }
  return Status::Ok();
}

}  // namespace

Result<SegmentReader> SegmentReader::Open(std::shared_ptr<const ByteSource> source) {
  if (!source) return Status::InvalidArgument("no byte source given");
  std::string footer;
  uint64_t footer_offset = 0;
  RUNTRACK_RETURN_IF_ERROR(ReadObjectFooter(*source, "segment", kSegmentHeaderSize, kSegmentFormatVersion,
                                            kSegmentTrailerMagic, &footer, &footer_offset));
  RUNTRACK_ASSIGN_OR_RETURN(SegmentInfo info, ParseFooter(footer, footer_offset));
  return SegmentReader(std::move(source), std::move(info));
}

template <typename OnBlock>
Status SegmentReader::ForEachBlock(size_t first, size_t last, OnBlock on_block) const {
  if (first >= last) return Status::Ok();
  const BlockIndexEntry& z = info_.blocks[last - 1];
  // A read that starts at the first block also takes the 16-byte header, which is then checked:
  // a damaged header is reported even though no data depends on it.
  const uint64_t start = first == 0 ? 0 : info_.blocks[first].offset;
  const uint64_t length = z.offset + z.length - start;
  std::string fetched;
  std::string_view bytes;
  if (const std::optional<std::string_view> whole = source_->View(); whole && whole->size() >= start + length) {
    bytes = whole->substr(start, length);
  } else {
    RUNTRACK_RETURN_IF_ERROR(source_->ReadAt(start, length, &fetched));
    bytes = fetched;
  }
  if (start == 0) RUNTRACK_RETURN_IF_ERROR(CheckHeader(bytes));
  for (size_t i = first; i < last; ++i) {
    const BlockIndexEntry& e = info_.blocks[i];
    const std::string_view block = bytes.substr(e.offset - start, e.length);
    RUNTRACK_ASSIGN_OR_RETURN(BlockHeader header, ParseBlockHeader(block));
    if (header.count != e.count || header.first_ordinal != e.first_ordinal || header.total_size() != e.length) {
      return Status::Corruption("block " + std::to_string(i) + " does not match its index entry");
    }
    RUNTRACK_RETURN_IF_ERROR(on_block(i, header, block));
  }
  return Status::Ok();
}

Status SegmentReader::ReadOrdinals(uint64_t begin, uint64_t end, std::vector<MetricPoint>* out) const {
  out->clear();
  if (begin > end || begin < first_ordinal() || end > end_ordinal()) {
    return Status::InvalidArgument("ordinals [" + std::to_string(begin) + ", " + std::to_string(end) +
                                   ") are not within the segment's [" + std::to_string(first_ordinal()) + ", " +
                                   std::to_string(end_ordinal()) + ")");
  }
  if (begin == end) return Status::Ok();
  const auto& blocks = info_.blocks;
  auto after = [](uint64_t ordinal, const BlockIndexEntry& e) { return ordinal < e.first_ordinal; };
  const size_t first = static_cast<size_t>(std::upper_bound(blocks.begin(), blocks.end(), begin, after) - blocks.begin()) - 1;
  const size_t last = static_cast<size_t>(std::upper_bound(blocks.begin(), blocks.end(), end - 1, after) - blocks.begin());
  out->reserve(static_cast<size_t>(end - begin));
  std::vector<MetricPoint> partial;
  return ForEachBlock(first, last, [&](size_t, const BlockHeader& h, std::string_view block) -> Status {
    const uint64_t lo = std::max(begin, h.first_ordinal), hi = std::min(end, h.first_ordinal + h.count);
    if (lo == h.first_ordinal && hi == h.first_ordinal + h.count) return DecodeBlock(block, h, out);
    partial.clear();
    RUNTRACK_RETURN_IF_ERROR(DecodeBlock(block, h, &partial));
    out->insert(out->end(), partial.begin() + static_cast<std::ptrdiff_t>(lo - h.first_ordinal),
                partial.begin() + static_cast<std::ptrdiff_t>(hi - h.first_ordinal));
    return Status::Ok();
  });
}

Status SegmentReader::ReadStepRange(int64_t step_min, int64_t step_max, std::vector<MetricPoint>* out) const {
  out->clear();
  if (step_min > step_max) {
    return Status::InvalidArgument("step_min " + std::to_string(step_min) + " is greater than step_max " +
                                   std::to_string(step_max));
  }
  const auto& blocks = info_.blocks;
  auto overlaps = [&](const BlockIndexEntry& e) { return e.step_max >= step_min && e.step_min <= step_max; };
  std::vector<MetricPoint> partial;
  auto on_block = [&](size_t, const BlockHeader& h, std::string_view block) -> Status {
    if (h.step_min >= step_min && h.step_max <= step_max) return DecodeBlock(block, h, out);  // all in range
    partial.clear();
    RUNTRACK_RETURN_IF_ERROR(DecodeBlock(block, h, &partial));
    for (const MetricPoint& p : partial) {
      if (p.step >= step_min && p.step <= step_max) out->push_back(p);
    }
    return Status::Ok();
  };
  // One fetch per run of adjacent overlapping blocks.
  size_t i = 0;
  while (i < blocks.size()) {
    if (!overlaps(blocks[i])) {
      ++i;
      continue;
    }
    size_t j = i + 1;
    while (j < blocks.size() && overlaps(blocks[j])) ++j;
    RUNTRACK_RETURN_IF_ERROR(ForEachBlock(i, j, on_block));
    i = j;
  }
  return Status::Ok();
}

RawPointReader SegmentReader::AsRawPointReader() const {
  return [this](uint64_t begin, uint64_t end, std::vector<MetricPoint>* out) { return ReadOrdinals(begin, end, out); };
}

}  // namespace runtrack::segments
