// JournalIngestor: applies journal records to a RunRecord and stages the catalog writes they
// imply (point chunks, log text, the record itself) in one RocksDB WriteBatch, so a pass over a
// journal lands atomically together with the new journal offset.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <vector>
#include <set>
#include <string>
#include <string_view>

#include <rocksdb/write_batch.h>

#include "catalog/run_record.h"
#include "journal/journal_format.h"
#include "journal/journal_reader.h"
#include "runtrack/layout.h"
#include "runtrack/status.h"

namespace runtrack::catalog {

class JournalIngestor {
 public:
  // Loads the stored points of a series' last, partly filled chunk into `series.tail`.
  using TailLoader = std::function<Status(SeriesState& series)>;

  JournalIngestor(RunRecord* record, rocksdb::WriteBatch* batch, TailLoader load_tail)
      : record_(record), batch_(batch), load_tail_(std::move(load_tail)) {}

  // Applies one record. Records with a valid checksum but an undecodable body are skipped (and
  // counted), never fatal: the rest of the journal is still worth indexing.
  Status Apply(journal::RecordType type, std::string_view payload);
  // Records the damage a read pass found (first offset, bytes skipped) in the run record.
  // Returns true when the journal was not known to be damaged before: that is news worth a
  // commit even when the pass consumed no bytes.
  bool NoteDamage(const journal::ReadOutcome& outcome);
  // Stages tail chunks, new log text and the record (with `journal_offset`) into the batch.
  Status Finish(uint64_t journal_offset);

  uint64_t points_ingested() const { return points_; }
  // The points this pass added, per series id, in arrival order (feeds the LOD pyramids).
  const std::map<uint32_t, std::vector<MetricPoint>>& new_points() const { return new_points_; }
  uint64_t records_skipped() const { return skipped_; }
  // Records from now on come from another stream of a multi-process run (RunRecord::streams,
  // catalog_streams.cpp): its metric and stage ids are mapped, and only points, names and text
  // apply (rank 0 owns status, summary and config). nullptr: back to stream "0".
  void SetStream(StreamState* stream) { stream_ = stream; }
  // The store the run is in: a compacted journal's points are read from its segment files
  // (docs/FORMATS.md "Compacted journal"). Without it they are counted as lost (journal_corrupt).
  void SetStoreLayout(StoreLayout layout) { layout_ = std::move(layout); }

 private:
  Status ApplyOtherStream(journal::RecordType type, std::string_view payload);
  bool MapStreamPoint(journal::PackedPoint* point) const;  // false: an id the stream never named
  Status ApplyPoints(std::string_view payload);
  // The Compacted record (journal_compaction.h): each series' points from its segment file.
  Status ApplyCompacted(std::string_view payload);
  void ApplyJson(journal::RecordType type, std::string_view payload);
  void Touch(double wall_time);

  RunRecord* record_;
  rocksdb::WriteBatch* batch_;
  TailLoader load_tail_;
  std::set<uint32_t> touched_series_;
  std::map<uint32_t, std::vector<MetricPoint>> new_points_;
  std::string new_text_;
  uint64_t points_ = 0;
  uint64_t skipped_ = 0;
  StreamState* stream_ = nullptr;
  std::optional<StoreLayout> layout_;
};

// A journal whose header cannot be read (not a journal, or a format this build does not know):
// the run stays listed, as failed with exit_reason "journal_unreadable: <why>", dated by the
// journal's modification time. `error` is the reader's Corruption status for `journal`.
void MarkJournalUnreadable(RunRecord* record, const std::filesystem::path& journal, const Status& error);

}  // namespace runtrack::catalog
