// Indexing a compacted journal (docs/FORMATS.md "Compacted journal"): its first record lists the
// sealed segments that hold the run's points, so a catalog rebuilt from scratch reads each
// series back from its segment file (checked against the record: size, footer CRC-32C, point
// count; every block's CRC as it is decoded), re-creates the series' statistics from the points
// in arrival order, as ingesting the original Points records did, and writes the series' index
// entry, so the run is sealed again without re-encoding anything.
#include <fmt/format.h>

#include "catalog/journal_ingestor.h"
#include "catalog/keys.h"
#include "catalog/sealed_series.h"
#include "catalog/stored_point.h"
#include "journal/journal_compaction.h"

namespace runtrack::catalog {

Status JournalIngestor::ApplyCompacted(std::string_view payload) {
  auto marker = journal::DecodeCompactionMarker(payload);
  const std::string& run_id = record_->summary_row.id;
  // Points that cannot be read back are lost: reported as journal damage at the marker's offset,
  // the rest of the run is still indexed.
  auto lost = [&](uint64_t points) {
    record_->journal_corrupt = true;
    if (!record_->journal_corrupt_offset) record_->journal_corrupt_offset = journal::kHeaderSize;
    record_->journal_skipped_bytes += points * sizeof(journal::PackedPoint);
  };
  if (!marker.ok() || !layout_) {
    ++skipped_;
    lost(marker.ok() ? marker->points : 0);
    return Status::Ok();
  }
  SegmentReaderCache readers;
  std::vector<MetricPoint> slice;
  for (const journal::CompactedSeries& c : marker->series) {
    if (auto it = record_->series.find(c.series_id); it != record_->series.end() && it->second.count > 0)
      continue;  // read already (the record was applied before): never counted twice
    SealedSegment entry;
    entry.point_count = c.point_count;
    entry.file_size = c.segment_size;
    entry.footer_crc32c = c.footer_crc32c;
    entry.lod_size = c.lod_size;
    auto reader = readers.Get(*layout_, run_id, c.series_id, entry);
    if (!reader.ok()) {
      lost(c.point_count);
      continue;
    }
    SeriesState series;
    series.id = c.series_id;
    series.name = (*reader)->info().series_name;
    Status read = Status::Ok();
    for (uint64_t at = 0; at < c.point_count && read.ok(); at += slice.size()) {
      slice.clear();
      read = (*reader)->ReadOrdinals(at, std::min(c.point_count, at + 65536), &slice);
      if (read.ok() && slice.empty()) read = Status::Corruption("segment ended early");
      for (const MetricPoint& p : slice) series.Add(p);
    }
    if (!read.ok() || series.count != c.point_count) {
      lost(c.point_count);
      continue;
    }
    // The tail a later point would extend (a sealed series' tail chunk is read from the segment).
    const uint64_t tail_begin = series.count - series.count % kChunkPoints;
    if (tail_begin < series.count && !(*reader)->ReadOrdinals(tail_begin, series.count, &series.tail).ok()) {
      lost(c.point_count);
      continue;
    }
    series.tail_loaded = true;
    record_->series[c.series_id] = std::move(series);
    record_->sealed[c.series_id] = entry;
    batch_->Put(SealedKey(run_id, c.series_id), EncodeSealedSegment(entry));
    points_ += c.point_count;
  }
  Touch(marker->points_updated_at);
  return Status::Ok();
}

}  // namespace runtrack::catalog
