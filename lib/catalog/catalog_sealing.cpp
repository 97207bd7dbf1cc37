// Sealing finished runs (docs/FORMATS-segments.md "In the catalog").
//
// Order of durable effects, so a crash anywhere leaves a run either sealed or untouched:
//   1. per series, the segment file and the LOD object are written whole (tmp + fdatasync +
//      rename + directory fsync); until step 2 nothing refers to them;
//   2. one RocksDB batch puts every series' "s" index entry and deletes the run's stored points.
// A crash before 2 leaves files nobody refers to (the next pass writes them again, same names);
// after 2 the run is sealed. Files are named by (series id, point count), so re-sealing a run that
// grew never overwrites a file an index entry still refers to.
//
// Concurrency: the points are read and the files written without writer_mu, so Refresh() keeps
// indexing live runs meanwhile; the commit takes writer_mu and re-checks the record, then commits
// and publishes under lod_mu held exclusively, as an ingest pass does, so a query that holds
// lod_mu shared never sees the stored points vanish under it. ReadOrdinals callers without lod_mu
// (ReadMetricSince, ReadMetric) retry once on a short read when the run was sealed meanwhile.
#include <algorithm>

#include <fmt/format.h>
#include <rocksdb/iterator.h>
#include <rocksdb/write_batch.h>

#include "catalog/catalog_impl.h"
#include "catalog/catalog_streams.h"
#include "catalog/keys.h"
#include "catalog/stored_point.h"
#include "segments/lod_blocks.h"
#include "segments/segment_writer.h"
#include "util/files.h"

namespace runtrack {
namespace fs = std::filesystem;
using catalog::RunRecord;
using catalog::SealedSegment;

Status Catalog::Impl::AttachSealedIndex() {
  std::map<std::string, std::map<uint32_t, SealedSegment>, std::less<>> entries;
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions()));
  const std::string prefix(1, catalog::kSealedPrefix);
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    std::string_view key = it->key().ToStringView();
    if (key.size() < 1 + 4) continue;
    std::string run_id(key.substr(1, key.size() - 5));
    auto series = static_cast<uint32_t>(catalog::ReadBigEndian(key, key.size() - 4, 4));
    // An entry this build cannot read leaves the series unsealed; its points are then missing
    // until the catalog is rebuilt from the journals, which a query's short read reports.
    if (auto segment = catalog::DecodeSealedSegment(it->value().ToStringView())) entries[run_id][series] = *segment;
  }
  RUNTRACK_RETURN_IF_ERROR(RocksStatus(it->status(), "load sealed segment index"));
  for (auto& [run_id, sealed] : entries) {
    auto found = runs.find(run_id);
    if (found == runs.end()) continue;  // the record was unreadable: rebuilt (and resealed) from its journal
    auto record = std::make_shared<RunRecord>(*found->second);
    for (auto& [series, segment] : sealed) {
      auto s = record->series.find(series);
      if (s != record->series.end() && segment.point_count <= s->second.count) record->sealed[series] = segment;
    }
    found->second = std::move(record);
  }
  return Status::Ok();
}

Status Catalog::Impl::LoadSealedTail(std::string_view run_id, catalog::SeriesState& series) const {
  series.tail.clear();
  series.tail_loaded = true;
  const uint64_t begin = series.count - series.count % catalog::kChunkPoints;
  RUNTRACK_RETURN_IF_ERROR(ReadOrdinals(run_id, series.id, begin, series.count, &series.tail));
  if (series.tail.size() != series.count - begin)
    return Status::Corruption(fmt::format("tail of sealed {}/{} holds {} points, expected {}", run_id, series.name,
                                          series.tail.size(), series.count - begin));
  return Status::Ok();
}

bool Catalog::Impl::NeedsSealing(const RunRecord& record) const {
  if (record.summary_row.status == RunStatus::kRunning) return false;
  bool unsealed = false;
  for (const auto& [id, s] : record.series) {
    const SealedSegment* sealed = record.FindSealed(id);
    if (s.count > 0 && (sealed == nullptr || sealed->point_count != s.count)) unsealed = true;
  }
  // A run that may still get points from another stream (or a writer that came back) waits.
  return unsealed && !catalog::StreamsPending(layout(), record);
}

namespace {

// The run's stage names, extended so that every stage id a point carries indexes it (an id the
// journal never named reads back as "" and is kept as logged).
std::vector<std::string> StageDictionary(const RunRecord& record, const std::vector<MetricPoint>& points) {
  std::vector<std::string> names = StageNames(record);
  uint32_t max_stage = 0;
  for (const MetricPoint& p : points) max_stage = std::max(max_stage, p.stage);
  if (max_stage >= names.size()) names.resize(size_t{max_stage} + 1);
  return names;
}

bool SameSeries(const RunRecord& a, const RunRecord& b) {
  if (a.series.size() != b.series.size()) return false;
  for (const auto& [id, s] : a.series) {
    auto it = b.series.find(id);
    if (it == b.series.end() || it->second.count != s.count) return false;
  }
  return a.sealed == b.sealed;
}

}  // namespace

Status Catalog::Impl::SealRun(std::string_view id, const std::atomic<bool>* stop, SealReport* report) {
  std::shared_ptr<const RunRecord> record = Find(id);
  if (!record || !NeedsSealing(*record)) return Status::Ok();
  const StoreLayout layout_ = layout();
  std::map<uint32_t, SealedSegment> sealed;
  std::vector<fs::path> written;
  uint64_t points_sealed = 0;
  // Files of an attempt that is abandoned are removed, so a deleted run's folder is not recreated.
  auto discard = [&] {
    std::error_code ec;
    for (const fs::path& p : written) fs::remove(p, ec);
  };
  std::vector<MetricPoint> points;
  for (const auto& [series_id, s] : record->series) {
    if (stop != nullptr && stop->load()) {
      discard();
      return Status::Ok();  // unfinished: nothing committed; the next pass starts over
    }
    if (s.count == 0) continue;
    if (const SealedSegment* done = record->FindSealed(series_id); done && done->point_count == s.count) {
      sealed[series_id] = *done;
      continue;
    }
    points.clear();
    Status read = ReadOrdinals(id, series_id, 0, s.count, &points);
    if (read.ok() && points.size() != s.count)
      read = Status::Corruption(fmt::format("series '{}' of run {} holds {} points, the record {}", s.name, id,
                                            points.size(), s.count));
    if (!read.ok()) {
      discard();
      return read;
    }
    const std::vector<std::string> stages = StageDictionary(*record, points);
    auto bytes = segments::EncodeSegment({s.name, stages, points});
    if (!bytes.ok()) {
      discard();
      return bytes.status();
    }
    // Non-recursive: if the run's folder was deleted meanwhile, this fails instead of recreating it.
    std::error_code ec;
    fs::create_directory(layout_.segments_dir(id), ec);
    SealedSegment entry;
    entry.point_count = s.count;
    entry.file_size = bytes->size();
    entry.footer_crc32c = catalog::SegmentFooterCrc(*bytes);
    const fs::path segment_path = layout_.segment_path(id, series_id, s.count);
    Status wrote = util::WriteFileAtomic(segment_path, *bytes);
    if (wrote.ok()) {
      written.push_back(segment_path);
      LodPyramid pyramid;
      pyramid.Append(points);
      const std::string lod = segments::EncodeLodPyramid(pyramid);
      const fs::path lod_path = layout_.lod_path(id, series_id, s.count);
      wrote = util::WriteFileAtomic(lod_path, lod);
      if (wrote.ok()) {
        written.push_back(lod_path);
        entry.lod_size = lod.size();
      }
    }
    if (!wrote.ok()) {
      discard();
      return wrote;
    }
    sealed[series_id] = entry;
    points_sealed += s.count;
  }

  std::lock_guard writer(writer_mu);
  std::shared_ptr<const RunRecord> current = Find(id);
  if (!current || !SameSeries(*current, *record) || current->summary_row.status == RunStatus::kRunning) {
    discard();  // deleted, re-indexed or revived meanwhile: the next pass looks again
    return Status::Ok();
  }
  rocksdb::WriteBatch batch;
  std::vector<fs::path> superseded;
  for (const auto& [series_id, entry] : sealed) {
    if (const SealedSegment* old = current->FindSealed(series_id); old && !(*old == entry)) {
      superseded.push_back(layout_.segment_path(id, series_id, old->point_count));
      superseded.push_back(layout_.lod_path(id, series_id, old->point_count));
    }
    batch.Put(catalog::SealedKey(id, series_id), catalog::EncodeSealedSegment(entry));
  }
  // Every series with points is sealed now, so none of the run's stored chunks is read again.
  const std::string points_prefix = catalog::RunPointsPrefix(id);
  batch.DeleteRange(points_prefix, catalog::PrefixEnd(points_prefix));
  auto next = std::make_shared<RunRecord>(*current);
  next->sealed = sealed;
  {
    std::unique_lock lod(lod_mu);
    Status committed = Commit(&batch);
    if (!committed.ok()) {
      discard();
      return committed;
    }
    Publish(std::move(next));
  }
  std::error_code ec;
  for (const fs::path& p : superseded) fs::remove(p, ec);  // a reader holding one keeps its descriptor
  ++report->runs_sealed;
  report->series_sealed += sealed.size();
  report->points_sealed += points_sealed;
  return Status::Ok();
}

SealReport Catalog::Impl::SealRuns(const std::atomic<bool>* stop, bool* later) {
  SealReport report;
  std::vector<std::pair<std::string, uint64_t>> candidates;
  {
    std::shared_lock lock(mu);
    for (const auto& [id, record] : runs)
      if (record->summary_row.status != RunStatus::kRunning) candidates.emplace_back(id, record->journal_offset);
  }
  std::string first_sealed, last_sealed;
  for (const auto& [id, offset] : candidates) {
    if (stop != nullptr && stop->load()) break;
    if (stop != nullptr) {  // the background thread: a run that failed is retried once it changed
      std::lock_guard lock(seal_failed_mu);
      auto failed = seal_failed.find(id);
      if (failed != seal_failed.end() && failed->second == offset) continue;
    }
    Status s;
    const uint64_t sealed_before = report.runs_sealed;
    {
      std::lock_guard one_at_a_time(seal_mu);
      s = SealRun(id, stop, &report);
      // Then what only a sealed run allows: files no index entry refers to go (once per run per
      // open, and after each sealing), and its journal may be compacted (journal_compaction.cpp).
      if (s.ok() && (report.runs_sealed != sealed_before || orphans_swept.insert(id).second)) RemoveOrphanSegments(id);
      bool run_later = false;
      if (s.ok()) s = CompactJournal(id, &report, &run_later);
      if (run_later && later != nullptr) *later = true;
    }
    if (report.runs_sealed != sealed_before) {
      if (first_sealed.empty() || id < first_sealed) first_sealed = id;
      if (last_sealed.empty() || id > last_sealed) last_sealed = id;
    }
    std::lock_guard lock(seal_failed_mu);
    if (s.ok()) {
      seal_failed.erase(id);
    } else {
      seal_failed[id] = offset;
      ++report.runs_failed;
      report.last_error = fmt::format("run {}: {}", id, s.ToString());
    }
  }
  if (!first_sealed.empty()) {
    // Deleted points give their space back only when RocksDB compacts their keys; doing it once
    // per pass, over the sealed runs' key range only, is what makes an upgraded catalog shrink.
    // Best effort: a failure only delays that to RocksDB's own compactions.
    const std::string begin = catalog::RunPointsPrefix(first_sealed);
    const std::string end = catalog::PrefixEnd(catalog::RunPointsPrefix(last_sealed));
    rocksdb::Slice b(begin), e(end);
    db->CompactRange(rocksdb::CompactRangeOptions(), &b, &e).PermitUncheckedError();
  }
  return report;
}

void Catalog::Impl::StartSealer() {
  if (!read_only_reason.empty()) return;  // nothing may be written (catalog.cpp, full disk)
  // A journal too recently written to be compacted is looked at again by a pass of its own.
  const auto rewake = std::clamp<std::chrono::milliseconds>(options.journal_compaction_delay / 4,
                                                            std::chrono::seconds(1), std::chrono::seconds(60));
  sealer = std::make_unique<catalog::SealingWorker>(
      [this](const std::atomic<bool>& stop) {
        bool later = false;
        SealRuns(&stop, &later);
        return later;
      },
      rewake);
  sealer->Wake();
}

Result<SealReport> Catalog::SealFinishedRuns() {
  RUNTRACK_RETURN_IF_ERROR(impl_->CheckWritable());
  return impl_->SealRuns(nullptr);
}

void Catalog::WaitForSealing() const {
  if (impl_->sealer) impl_->sealer->WaitIdle();
}

}  // namespace runtrack
