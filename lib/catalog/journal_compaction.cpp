// Compacting a sealed run's journal and sweeping orphan segment files (docs/FORMATS.md
// "Compacted journal", docs/FORMATS-segments.md "In the catalog"). Both run in the sealing pass,
// one run at a time under seal_mu, after SealRun.
//
// Order of durable effects of a compaction, so a crash anywhere loses nothing:
//   1. `journal-compacting` is written whole (header, Compacted record, every non-point record)
//      and fdatasync'ed, after every point of the journal was checked bit for bit against the
//      run's committed segments; until 2 the journal is untouched and a crash leaves only this
//      file, which the next attempt truncates and writes again;
//   2. rename over `journal` + fsync of the run's folder: the journal is compacted; its marker
//      holds the original length, so the catalog's journal_offset (still that length) is
//      recognised as "compacted, not yet recorded";
//   3. the run record is committed with journal_offset = the compacted length. A crash before 3 is
//      finished by the next pass (FinishInterrupted); after 3 the run is done.
// The rename is the only step that changes what a reader sees, and before it the new content is
// durable: a reader (the catalog rebuilding, a receiver answering a resend) sees the whole old
// journal or the whole compacted one.
#include <chrono>
#include <filesystem>
#include <regex>

#include <fmt/format.h>
#include <rocksdb/write_batch.h>

#include "catalog/catalog_impl.h"
#include "catalog/catalog_streams.h"
#include "catalog/keys.h"
#include "journal/journal_compaction.h"
#include "runtrack/remote.h"
#include "util/files.h"
#include "util/json.h"

namespace runtrack {
namespace fs = std::filesystem;
using catalog::RunRecord;
using catalog::SealedSegment;

namespace {

// Every series with points is in a committed segment that covers all of them; at least one is.
bool FullySealed(const RunRecord& record) {
  bool any = false;
  for (const auto& [id, s] : record.series) {
    if (s.count == 0) continue;
    const SealedSegment* sealed = record.FindSealed(id);
    if (sealed == nullptr || sealed->point_count != s.count) return false;
    any = true;
  }
  return any;
}

bool SameBits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

// Walks each sealed series in ordinal order while the journal's points go by, so every point the
// compaction drops is known to be in a segment, bit for bit. Reads a block's worth at a time.
class SegmentCursors {
 public:
  SegmentCursors(const Catalog::Impl& impl, std::string_view run_id, const RunRecord& record)
      : impl_(impl), run_id_(run_id), record_(record) {}

  Status Check(const journal::PackedPoint& p) {
    auto it = cursors_.find(p.metric_id);
    if (it == cursors_.end()) {
      const SealedSegment* sealed = record_.FindSealed(p.metric_id);
      if (sealed == nullptr)
        return Status::FailedPrecondition(
            fmt::format("the journal has points of metric id {}, which has no sealed series", p.metric_id));
      Cursor c;
      c.entry = *sealed;
      RUNTRACK_ASSIGN_OR_RETURN(c.reader, impl_.segment_readers.Get(impl_.layout(), run_id_, p.metric_id, *sealed));
      it = cursors_.emplace(p.metric_id, std::move(c)).first;
    }
    Cursor& c = it->second;
    if (c.at == c.buffer.size()) {
      if (c.next >= c.entry.point_count)
        return Status::FailedPrecondition(fmt::format(
            "the journal has more points of metric id {} than its segment ({})", p.metric_id, c.entry.point_count));
      c.buffer.clear();
      c.at = 0;
      const uint64_t end = std::min(c.entry.point_count, c.next + 65536);
      RUNTRACK_RETURN_IF_ERROR(c.reader->ReadOrdinals(c.next, end, &c.buffer));
      if (c.buffer.size() != end - c.next)
        return Status::Corruption(fmt::format("segment of metric id {} gave {} points for ordinals [{}, {})",
                                              p.metric_id, c.buffer.size(), c.next, end));
      c.next = end;
    }
    const MetricPoint& s = c.buffer[c.at++];
    if (s.step != p.step || !SameBits(s.wall_time, p.wall_time) || !SameBits(s.value, p.value) || s.stage != p.stage_id)
      return Status::Corruption(fmt::format("point {} of metric id {} differs between the journal and its segment",
                                            c.next - c.buffer.size() + c.at - 1, p.metric_id));
    return Status::Ok();
  }

  // Every sealed point was matched by one in the journal.
  Status CheckAllSeen() const {
    for (const auto& [id, sealed] : record_.sealed) {
      auto it = cursors_.find(id);
      const uint64_t seen = it == cursors_.end() ? 0 : it->second.next - (it->second.buffer.size() - it->second.at);
      if (seen != sealed.point_count)
        return Status::FailedPrecondition(
            fmt::format("the journal holds {} points of metric id {}, its segment {}", seen, id, sealed.point_count));
    }
    return Status::Ok();
  }

 private:
  struct Cursor {
    SealedSegment entry;
    std::shared_ptr<const segments::SegmentReader> reader;
    std::vector<MetricPoint> buffer;
    size_t at = 0;
    uint64_t next = 0;  // ordinal after the buffer
  };
  const Catalog::Impl& impl_;
  std::string_view run_id_;
  const RunRecord& record_;
  std::map<uint32_t, Cursor> cursors_;
};

journal::CompactionMarker MarkerFor(const RunRecord& record) {
  journal::CompactionMarker marker;
  for (const auto& [id, s] : record.sealed)
    marker.series.push_back({id, s.point_count, s.file_size, s.footer_crc32c, s.lod_size});
  return marker;
}

// segments/<8 hex>-<16 hex>.seg|.lod, and the temporary names util::WriteFileAtomic gives them.
bool IsSealedFileName(const std::string& name) {
  static const std::regex pattern("(\\.tmp-)?[0-9a-f]{8}-[0-9a-f]{16}\\.(seg|lod)(-[0-9]+-[0-9]+)?");
  std::smatch m;
  if (!std::regex_match(name, m, pattern)) return false;
  return m[1].matched == m[3].matched;  // a temporary name has both the prefix and the suffix
}

}  // namespace

Status Catalog::Impl::CommitCompactedOffset(std::string_view id, uint64_t from, uint64_t to) {
  std::lock_guard writer(writer_mu);
  std::shared_ptr<const RunRecord> current = Find(id);
  if (!current || current->journal_offset != from) return Status::Ok();
  auto next = std::make_shared<RunRecord>(*current);
  next->journal_offset = to;
  rocksdb::WriteBatch batch;
  batch.Put(catalog::RunKey(id), util::SerializeJson(catalog::ToJson(*next)));
  RUNTRACK_RETURN_IF_ERROR(Commit(&batch));
  Publish(std::move(next));
  return Status::Ok();
}

Status Catalog::Impl::CompactJournal(std::string_view id, SealReport* report, bool* later) {
  if (!options.compact_journals || !read_only_reason.empty()) return Status::Ok();
  std::shared_ptr<const RunRecord> record = Find(id);
  if (!record || record->summary_row.status == RunStatus::kRunning) return Status::Ok();
  if (auto settled = journal_settled.find(id); settled != journal_settled.end() && settled->second == record->journal_offset)
    return Status::Ok();
  // Kept as written: a multi-process run (its streams are ingested by offsets of their own and a
  // late rank may still join), a damaged journal (the damage report would be lost) and a run
  // whose points are not all sealed yet.
  if (!record->streams.empty() || record->journal_corrupt || !FullySealed(*record)) return Status::Ok();
  const StoreLayout layout_ = layout();
  const fs::path journal = layout_.journal_path(id);
  const fs::path tmp = layout_.compacting_journal_path(id);
  std::error_code ec;
  fs::remove(tmp, ec);  // an attempt a crash interrupted: it starts over

  RUNTRACK_ASSIGN_OR_RETURN(std::optional<journal::CompactionMarker> marker, journal::ReadCompactionMarker(journal));
  if (marker) {
    // Compacted. If the record still holds the original length, a crash came between the rename
    // and the commit: finish it.
    if (record->journal_offset == marker->original_length && marker->compacted_length != marker->original_length)
      RUNTRACK_RETURN_IF_ERROR(CommitCompactedOffset(id, marker->original_length, marker->compacted_length));
    if (auto now = Find(id)) journal_settled[std::string(id)] = now->journal_offset;
    return Status::Ok();
  }

  // Conditions on the files, which may still change: looked at again by a later pass.
  const uint64_t size = fs::file_size(journal, ec);
  if (ec || size != record->journal_offset) return Status::Ok();  // not read to its end yet
  if (fs::exists(layout_.receiving_marker(id), ec)) {
    *later = true;  // a receiver still holds it (a resend or a late rank may come)
    return Status::Ok();
  }
  if (fs::exists(layout_.shipped_path(id), ec)) {
    // This node ships the run: a journal with bytes the server has not acknowledged is what the
    // shipper reads them from, by offset; so is one the server has not confirmed sealed beyond its
    // owner's disk (a team replica that dies before sealing gets it resent from here).
    auto acked = ReadShippedOffset(layout_, id);
    if (!acked.ok() || *acked != size || AwaitsSealConfirmation(layout_, id)) {
      *later = true;
      return Status::Ok();
    }
  }
  const auto modified = fs::last_write_time(journal, ec);
  if (ec) return Status::Ok();
  if (fs::file_time_type::clock::now() - modified < options.journal_compaction_delay) {
    *later = true;
    return Status::Ok();
  }
  {
    util::FileLock probe;  // a live writer (or receiver) holds it; released at once
    auto free = util::FileLock::TryAcquire(layout_.lock_path(id), &probe);
    if (!free.ok() || !*free) {
      *later = true;
      return Status::Ok();
    }
  }

  SegmentCursors cursors(*this, id, *record);
  auto scan = journal::WriteCompactedJournal(journal, size, tmp, MarkerFor(*record),
                                             [&](const journal::PackedPoint& p) { return cursors.Check(p); });
  Status checked = scan.ok() ? cursors.CheckAllSeen() : scan.status();
  if (checked.ok() && !scan->has_status)
    checked = Status::FailedPrecondition("the journal has no Status record (a run judged crashed may come back)");
  if (!checked.ok()) {
    fs::remove(tmp, ec);
    journal_settled[std::string(id)] = record->journal_offset;  // not retried until it changes
    if (checked.code() == StatusCode::kFailedPrecondition) return Status::Ok();  // kept as written, by design
    return checked;
  }

  {
    std::lock_guard writer(writer_mu);
    std::shared_ptr<const RunRecord> current = Find(id);
    if (!current || current->journal_offset != size || current->sealed != record->sealed ||
        current->summary_row.status == RunStatus::kRunning || !fs::exists(layout_.run_dir(id), ec)) {
      fs::remove(tmp, ec);  // changed or deleted meanwhile: a later pass looks again
      return Status::Ok();
    }
    if (Status published = journal::PublishCompactedJournal(tmp, journal); !published.ok()) {
      fs::remove(tmp, ec);
      return published;
    }
  }
  // A failure here is finished by a later pass (the marker's original length is the record's).
  RUNTRACK_RETURN_IF_ERROR(CommitCompactedOffset(id, size, scan->compacted_length));
  journal_settled[std::string(id)] = scan->compacted_length;
  ++report->journals_compacted;
  report->journal_bytes_removed += size - scan->compacted_length;
  return Status::Ok();
}

void Catalog::Impl::RemoveOrphanSegments(std::string_view id) {
  std::shared_ptr<const RunRecord> record = Find(id);
  if (!record || record->summary_row.status == RunStatus::kRunning || NeedsSealing(*record)) return;
  const StoreLayout layout_ = layout();
  std::set<std::string> referenced;
  for (const auto& [series, entry] : record->sealed) {
    referenced.insert(layout_.segment_path(id, series, entry.point_count).filename().string());
    referenced.insert(layout_.lod_path(id, series, entry.point_count).filename().string());
  }
  std::error_code ec;
  std::vector<fs::path> orphans;
  for (const auto& e : fs::directory_iterator(layout_.segments_dir(id), ec)) {
    const std::string name = e.path().filename().string();
    if (IsSealedFileName(name) && !referenced.count(name)) orphans.push_back(e.path());
  }
  // Only names this catalog writes are touched; a reader holding a removed file keeps its descriptor.
  for (const fs::path& p : orphans) fs::remove(p, ec);
}

}  // namespace runtrack
