#include <algorithm>
#include <chrono>
#include <system_error>

#include <boost/json.hpp>
#include <fmt/format.h>
#include <rocksdb/convenience.h>
#include <rocksdb/env.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>
#include <sys/stat.h>
#include "runtrack/json_parse.h"

#include "util/json.h"
#include "catalog/catalog_impl.h"
#include "catalog/catalog_streams.h"
#include "catalog/journal_ingestor.h"
#include "catalog/keys.h"
#include "catalog/rocks_info_log.h"
#include "catalog/run_listing.h"
#include "catalog/stored_point.h"
#include "journal/journal_reader.h"
#include "util/files.h"
#include "util/validation.h"

namespace runtrack {
namespace fs = std::filesystem;
using catalog::RunRecord;

Status RocksStatus(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return Status::Ok();
  if (s.IsIOError() && s.ToString().find("lock") != std::string::npos)
    return Status::Busy(fmt::format("{}: the catalog is open in another process (a viewer or "
                                    "indexer); use that process or its HTTP API ({})",
                                    what, s.ToString()));
  if (s.IsCorruption()) return Status::Corruption(fmt::format("{}: {}", what, s.ToString()));
  if (s.IsNotFound()) return Status::NotFound(fmt::format("{}: {}", what, s.ToString()));
  return Status::IOError(fmt::format("{}: {}", what, s.ToString()));
}

namespace {

// Why a read-write open failed for lack of space, or "" when it failed for another reason (a
// lock held by another process, corruption, ...), which must not be hidden by a read-only view.
std::string OutOfSpaceReason(const rocksdb::Status& s) {
  const std::string text = s.ToString();
  if (s.IsNoSpace() || text.find("No space left on device") != std::string::npos) return "no space left on device";
  if (text.find("Disk quota exceeded") != std::string::npos) return "disk quota exceeded";
  return "";
}

// Opens the catalog folder read-only: RocksDB then writes nothing (no MANIFEST, no WAL, no lock),
// and replays the WAL in memory, so every committed write is visible. When there is no catalog to
// open (first start on a full disk, or a folder left without CURRENT by a failed create), an
// empty catalog in memory stands in, so the holder serves an empty listing instead of failing.
Status OpenReadOnly(Catalog::Impl* impl, rocksdb::Options db_options, rocksdb::DB** db) {
  const std::string dir = impl->layout().catalog_dir().string();
  rocksdb::Status s = rocksdb::DB::OpenForReadOnly(db_options, dir, db);
  if (s.ok()) return Status::Ok();
  impl->memory_env.reset(rocksdb::NewMemEnv(rocksdb::Env::Default()));
  db_options.env = impl->memory_env.get();
  db_options.create_if_missing = true;
  std::error_code ec;
  impl->read_only_reason += !fs::exists(impl->layout().catalog_dir() / "CURRENT", ec)
                                ? "; no catalog yet (an empty one is shown)"
                                : "; the catalog cannot be read (" + s.ToString() + "), an empty one is shown";
  return RocksStatus(rocksdb::DB::Open(db_options, "/catalog", db), "open an empty catalog in memory");
}

}  // namespace

Status Catalog::Impl::CheckWritable() const {
  if (read_only_reason.empty()) return Status::Ok();
  return Status::Busy(fmt::format("catalog read-only: {}; changes are refused until it can be opened "
                                  "read-write again (a viewer retries by itself)",
                                  read_only_reason));
}

Catalog::Catalog(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Catalog::~Catalog() = default;
const fs::path& Catalog::root() const { return impl_->root; }
const std::string& Catalog::read_only_reason() const { return impl_->read_only_reason; }

Result<std::unique_ptr<Catalog>> Catalog::Open(const fs::path& root, const CatalogOptions& options) {
  std::error_code ec;
  if (!fs::is_directory(StoreLayout(root).runs_dir(), ec))
    return Status::NotFound(fmt::format("{} is not a store root (no runs/ folder)", root.string()));
  auto impl = std::make_unique<Impl>();
  impl->root = fs::absolute(root, ec);
  impl->options = options;

  rocksdb::Options db_options;
  db_options.create_if_missing = true;
  db_options.IncreaseParallelism(2);
  db_options.compression = rocksdb::kLZ4Compression;
  auto supported = rocksdb::GetSupportedCompressions();
  if (std::find(supported.begin(), supported.end(), rocksdb::kLZ4Compression) == supported.end())
    db_options.compression = rocksdb::kNoCompression;
  // Not RocksDB's LOG file: after a failed write (a full disk) its next append asserts.
  db_options.info_log = catalog::MakeCatalogInfoLog();
  rocksdb::DB* db = nullptr;
  rocksdb::Status opened = rocksdb::DB::Open(db_options, impl->layout().catalog_dir().string(), &db);
  if (options.read_only_on_full_disk && !opened.ok() && !OutOfSpaceReason(opened).empty()) {
    impl->read_only_reason = OutOfSpaceReason(opened);
    RUNTRACK_RETURN_IF_ERROR(OpenReadOnly(impl.get(), db_options, &db));
  } else {
    RUNTRACK_RETURN_IF_ERROR(RocksStatus(opened, "open catalog"));
  }
  impl->db.reset(db);

  std::string format;
  rocksdb::Status s = db->Get(rocksdb::ReadOptions(), std::string(catalog::kFormatKey), &format);
  if (s.IsNotFound() && !impl->read_only_reason.empty()) {
    // A catalog created but never written to (or the empty view): nothing to check.
  } else if (s.IsNotFound()) {
    RUNTRACK_RETURN_IF_ERROR(RocksStatus(
        db->Put(rocksdb::WriteOptions(), std::string(catalog::kFormatKey), std::string(catalog::kFormatVersion)),
        "write catalog format"));
  } else if (!s.ok()) {
    return RocksStatus(s, "read catalog format");
  } else if (format == catalog::kFormatVersionBeforeSealing) {
    if (impl->read_only_reason.empty())
      RUNTRACK_RETURN_IF_ERROR(RocksStatus(
          db->Put(rocksdb::WriteOptions(), std::string(catalog::kFormatKey), std::string(catalog::kFormatVersion)),
          "upgrade catalog format"));
  } else if (format != catalog::kFormatVersion) {
    return Status::Corruption(fmt::format("catalog format {} is not supported (expected {}); delete "
                                          "{} to rebuild it from the journals",
                                          format, catalog::kFormatVersion,
                                          impl->layout().catalog_dir().string()));
  }
  struct stat st {};
  if (::stat(impl->layout().catalog_dir().c_str(), &st) == 0) {
    impl->dir_dev = static_cast<uint64_t>(st.st_dev);
    impl->dir_ino = static_cast<uint64_t>(st.st_ino);
  }
  RUNTRACK_RETURN_IF_ERROR(impl->LoadIndex());
  if (options.seal_finished_runs) impl->StartSealer();  // also upgrades runs indexed before sealing existed
  return std::unique_ptr<Catalog>(new Catalog(std::move(impl)));
}

std::shared_ptr<const RunRecord> Catalog::Impl::Find(std::string_view id) const {
  std::shared_lock lock(mu);
  auto it = runs.find(id);
  return it == runs.end() ? nullptr : it->second;
}

void Catalog::Impl::Publish(std::shared_ptr<RunRecord> record) {
  record->search_text = catalog::SearchText(record->summary_row);
  std::unique_lock lock(mu);
  runs[record->summary_row.id] = std::move(record);
}

Status Catalog::Impl::Commit(rocksdb::WriteBatch* batch) {
  return RocksStatus(db->Write(rocksdb::WriteOptions(), batch), "write catalog");
}

Status Catalog::Impl::LoadIndex() {
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions()));
  std::string prefix(1, catalog::kRunPrefix);
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    boost::system::error_code ec;
    auto parsed = runtrack::ParseJson(it->value().ToStringView(), ec);
    auto record = std::make_shared<RunRecord>();
    if (ec || !parsed.is_object() || !catalog::FromJson(parsed.get_object(), record.get())) {
      continue;  // an unreadable record is rebuilt from its journal by the next Refresh()
    }
    record->search_text = catalog::SearchText(record->summary_row);
    runs[record->summary_row.id] = std::move(record);
  }
  RUNTRACK_RETURN_IF_ERROR(RocksStatus(it->status(), "load catalog"));
  return AttachSealedIndex();  // catalog_sealing.cpp
}

Status Catalog::Impl::LoadTail(std::string_view run_id, catalog::SeriesState& series) const {
  series.tail.clear();
  series.tail_loaded = true;
  if (series.count % catalog::kChunkPoints == 0) return Status::Ok();
  if (auto record = Find(run_id); record && record->FindSealed(series.id))
    return LoadSealedTail(run_id, series);  // its chunks were deleted when it was sealed
  auto chunk = static_cast<uint32_t>(series.count / catalog::kChunkPoints);
  std::string data;
  rocksdb::Status s = db->Get(rocksdb::ReadOptions(), catalog::ChunkKey(run_id, series.id, chunk), &data);
  if (!s.ok()) return RocksStatus(s, fmt::format("read tail chunk of {}/{}", run_id, series.name));
  catalog::DecodeChunk(data, &series.tail);
  if (series.tail.size() != series.count % catalog::kChunkPoints)
    return Status::Corruption(fmt::format("tail chunk of {}/{} holds {} points, expected {}", run_id,
                                          series.name, series.tail.size(),
                                          series.count % catalog::kChunkPoints));
  return Status::Ok();
}

Status Catalog::Impl::IngestRun(std::string_view id, IndexReport* report) {
  bool more = true, updated = false;
  while (more) RUNTRACK_RETURN_IF_ERROR(IngestStep(id, report, &more, &updated));
  if (updated) ++report->runs_updated;
  return Status::Ok();
}

Status Catalog::Impl::IngestStep(std::string_view id, IndexReport* report, bool* more, bool* updated) {
  *more = false;
  fs::path journal = layout().journal_path(id);
  std::shared_ptr<const RunRecord> current = Find(id);
  auto next = current ? std::make_shared<RunRecord>(*current) : std::make_shared<RunRecord>();
  if (!current) {
    next->summary_row.id = std::string(id);
    std::error_code ec;
    if (fs::exists(layout().deleted_marker(id), ec)) {
      auto marker = util::ReadFile(layout().deleted_marker(id));
      double at = 0;
      if (marker.ok()) at = std::atof(marker->c_str());
      next->summary_row.deleted_at = at;
    }
  }
  rocksdb::WriteBatch batch;
  catalog::JournalIngestor ingestor(next.get(), &batch, [&](catalog::SeriesState& s) {
    return LoadTail(id, s);
  });
  ingestor.SetStoreLayout(layout());  // a compacted journal's points are in its segments
  const uint64_t from = next->journal_offset;
  auto outcome = journal::ReadJournal(
      journal, from,
      [&](journal::RecordType type, std::string_view payload) { return ingestor.Apply(type, payload); },
      options.max_ingest_bytes_per_step);
  if (!outcome.ok()) {
    if (outcome.status().code() != StatusCode::kCorruption || from != 0) return outcome.status();
    // The header is unreadable: keep the run listed (failed, with the reason) instead of hiding it.
    ++report->corrupt_journals;
    catalog::MarkJournalUnreadable(next.get(), journal, outcome.status());
    batch.Put(catalog::RunKey(id), util::SerializeJson(catalog::ToJson(*next)));
    RUNTRACK_RETURN_IF_ERROR(Commit(&batch));
    Publish(std::move(next));
    if (!current) ++report->runs_discovered;
    *updated = true;
    return Status::Ok();
  }
  // Damage is skipped by the reader (resync on the next valid record); the record keeps where
  // it began and how much was lost.
  bool newly_damaged = ingestor.NoteDamage(*outcome);
  if (newly_damaged) ++report->corrupt_journals;
  // A multi-process run's other streams, in the same pass and batch (catalog_streams.h).
  bool streams_more = false;
  RUNTRACK_ASSIGN_OR_RETURN(bool streams_moved, catalog::IngestOtherStreams(layout(), id, next.get(), &ingestor,
                                                                             options.max_ingest_bytes_per_step, &streams_more));
  if (outcome->next_offset == from && !newly_damaged && !streams_moved) return Status::Ok();  // nothing new
  RUNTRACK_RETURN_IF_ERROR(ingestor.Finish(outcome->next_offset));
  {
    std::unique_lock lod(lod_mu);
    RUNTRACK_RETURN_IF_ERROR(Commit(&batch));
    for (const auto& [series, points] : ingestor.new_points()) {
      auto it = pyramids.find({std::string(id), series});
      if (it != pyramids.end()) it->second->Append(points);
    }
    Publish(std::move(next));
  }
  if (!current) ++report->runs_discovered;
  report->points_ingested += ingestor.points_ingested();
  *updated = true;
  *more = (!outcome->torn_tail && outcome->next_offset != from) || streams_more;
  return Status::Ok();
}

Status Catalog::Impl::MarkIfCrashed(std::string_view id, IndexReport* report) {
  std::shared_ptr<const RunRecord> current = Find(id);
  if (!current || current->summary_row.status != RunStatus::kRunning) return Status::Ok();
  util::FileLock probe;
  RUNTRACK_ASSIGN_OR_RETURN(bool free, util::FileLock::TryAcquire(layout().lock_path(id), &probe));
  if (!free) return Status::Ok();  // the writer is alive
  // The writer is gone; whatever it wrote before dying is final. Read it before judging.
  RUNTRACK_RETURN_IF_ERROR(IngestRun(id, report));
  current = Find(id);
  if (!current || current->summary_row.status != RunStatus::kRunning) return Status::Ok();
  auto next = std::make_shared<RunRecord>(*current);
  next->summary_row.status = RunStatus::kFailed;
  next->summary_row.exit_reason = "process_not_found";
  next->summary_row.ended_at = next->summary_row.updated_at;
  rocksdb::WriteBatch batch;
  batch.Put(catalog::RunKey(id), util::SerializeJson(catalog::ToJson(*next)));
  RUNTRACK_RETURN_IF_ERROR(Commit(&batch));
  Publish(std::move(next));
  ++report->runs_marked_crashed;
  return Status::Ok();
}

// Runs are taken in rounds of one step each, so a run with a large backlog (a fast writer, or a
// big journal at first start) delays another run's new points by one step per busy run, not by
// its whole backlog. While some run still has a backlog, drained runs that are still running are
// looked at again every options.revisit_interval, so their new points do not wait for the pass.
// A pass ends when every run is drained (as before: everything flushed when it began is in).
Result<IndexReport> Catalog::Refresh(const RefreshProgress& progress) {
  using Clock = std::chrono::steady_clock;
  RUNTRACK_RETURN_IF_ERROR(impl_->CheckWritable());
  std::lock_guard writer(impl_->writer_mu);
  IndexReport report;
  std::error_code ec;
  fs::directory_iterator dir(impl_->layout().runs_dir(), ec);
  if (ec) return Status::IOError(fmt::format("list runs: {}", ec.message()));
  struct Entry {
    std::string id;
    bool drained = false, finished = false, updated = false;
    Clock::time_point checked_at;
  };
  std::vector<Entry> runs;
  for (const auto& entry : dir) {
    std::string id = entry.path().filename().string();
    if (!util::IsValidRunId(id)) continue;  // not ours: never touch it
    std::shared_ptr<const RunRecord> current = impl_->Find(id);
    // A copy replaced by a compacted run from another store: indexed again from scratch (an error
    // leaves the old entries, and the next pass tries again).
    if (current) {
      auto forgot = impl_->ForgetReplacedRun(id, *current);
      if (forgot.ok() && *forgot) current = nullptr;
    }
    if (current && current->summary_row.status != RunStatus::kRunning &&
        !catalog::StreamsPending(impl_->layout(), *current))
      continue;  // final
    if (!fs::exists(impl_->layout().journal_path(id), ec)) continue;  // still being created
    runs.push_back({std::move(id)});
  }
  const uint64_t total = runs.size();
  uint64_t drained = 0;
  while (drained < total) {
    for (Entry& run : runs) {
      if (run.finished) continue;
      if (run.drained && Clock::now() - run.checked_at < impl_->options.revisit_interval) continue;
      bool more = false, step_updated = false;
      // One run that cannot be read must not stop the others from being indexed.
      Status s = impl_->IngestStep(run.id, &report, &more, &step_updated);
      run.checked_at = Clock::now();
      run.updated = run.updated || step_updated;
      if (s.ok() && more) {
        if (run.drained) {
          run.drained = false;
          --drained;
        }
        if (progress && step_updated) progress(drained, total);
        continue;
      }
      if (run.drained) continue;  // revisited: nothing new
      run.drained = true;
      ++drained;
      if (s.ok()) s = impl_->MarkIfCrashed(run.id, &report);
      if (!s.ok()) {
        run.finished = true;  // retried by the next pass
        ++report.runs_failed;
        report.last_error = s.ToString();
        report.run_errors.emplace_back(run.id, s.ToString());
      }
      if (progress) progress(drained, total);
    }
  }
  for (const Entry& run : runs) report.runs_updated += run.updated ? 1 : 0;
  if (impl_->sealer && (report.runs_updated > 0 || report.runs_marked_crashed > 0)) impl_->sealer->Wake();
  return report;
}

Status Catalog::CheckFiles() const {
  struct stat st {};
  const fs::path dir = impl_->layout().catalog_dir();
  if (::stat(dir.c_str(), &st) != 0 || static_cast<uint64_t>(st.st_dev) != impl_->dir_dev ||
      static_cast<uint64_t>(st.st_ino) != impl_->dir_ino)
    return Status::FailedPrecondition(fmt::format("the catalog folder {} was deleted or replaced", dir.string()));
  std::error_code ec;
  if (!fs::exists(dir / "CURRENT", ec))
    return Status::FailedPrecondition(fmt::format("the catalog folder {} lost its files", dir.string()));
  return Status::Ok();
}

Status Catalog::Resume() {
  RUNTRACK_RETURN_IF_ERROR(impl_->CheckWritable());
  return RocksStatus(impl_->db->Resume(), "resume catalog writes");
}

}  // namespace runtrack
