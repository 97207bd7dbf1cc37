// Catalog::Impl: the RocksDB handle plus the in-memory run index every query reads.
#pragma once

#include <atomic>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <string>

#include <rocksdb/db.h>
#include <rocksdb/env.h>

#include "catalog/run_record.h"
#include "catalog/sealed_series.h"
#include "catalog/sealing_worker.h"
#include "metrics/lod_pyramid.h"
#include "runtrack/catalog.h"
#include "runtrack/layout.h"

namespace runtrack {

class Catalog::Impl {
 public:
  std::filesystem::path root;
  CatalogOptions options;
  // The in-memory files of an empty read-only catalog (none on disk yet and no room to create
  // one); declared before `db`, which must close first. Null otherwise.
  std::unique_ptr<rocksdb::Env> memory_env;
  std::unique_ptr<rocksdb::DB> db;
  // Why the catalog was opened read-only (Catalog::read_only_reason); empty while writable.
  std::string read_only_reason;
  // kBusy with read_only_reason while read-only: called by every write before it changes anything.
  Status CheckWritable() const;

  // Guards `runs`. Records are immutable once published: Refresh() ingests into a copy and swaps
  // the pointer, so readers holding a shared_ptr never see a half-applied journal pass.
  mutable std::shared_mutex mu;
  std::map<std::string, std::shared_ptr<const catalog::RunRecord>, std::less<>> runs;

  // LOD pyramids of the series queried so far, keyed by (run id, series id); built from stored
  // points on first use, then extended by every ingest pass. `lod_mu` is taken exclusively around
  // commit + pyramid append + publish of an ingest pass and while building a pyramid, so a pyramid
  // always covers exactly the committed points; queries hold it shared. Order: lod_mu, then mu.
  mutable std::shared_mutex lod_mu;
  mutable std::map<std::pair<std::string, uint32_t>, std::unique_ptr<LodPyramid>> pyramids;
  // Lookups of `pyramids` by queries: found, or absent (the pyramid is then built and the lookup
  // retried, which counts as a hit). Relaxed counters: statistics only.
  mutable std::atomic<uint64_t> pyramid_hits{0}, pyramid_misses{0};

  // LRU bookkeeping of `pyramids` (options.pyramid_budget_bytes): a use stamp per pyramid, taken
  // under lru_mu because queries touch it while holding lod_mu only shared.
  mutable std::mutex lru_mu;
  mutable std::map<std::pair<std::string, uint32_t>, uint64_t> pyramid_used;
  mutable uint64_t use_clock = 0;
  void TouchPyramid(const std::pair<std::string, uint32_t>& key) const;
  // Drops least recently used pyramids (never those of `keep_run`, which a query is assembling)
  // until the rest fit the budget. Requires lod_mu held exclusively.
  void EvictPyramids(std::string_view keep_run) const;

  // Serialises Refresh() and deletions against each other (they read-modify-write records).
  std::mutex writer_mu;

  // The identity (device, inode) of the catalog folder at Open(), to notice it was deleted or
  // replaced under the process (CheckFiles).
  uint64_t dir_dev = 0, dir_ino = 0;

  StoreLayout layout() const { return StoreLayout(root); }
  std::filesystem::path run_dir(std::string_view id) const { return layout().run_dir(id); }
  std::shared_ptr<const catalog::RunRecord> Find(std::string_view id) const;
  void Publish(std::shared_ptr<catalog::RunRecord> record);

  Status Commit(rocksdb::WriteBatch* batch);
  Status LoadIndex();
  // Ingests the run's journal to its end (or to the first torn/corrupt record).
  Status IngestRun(std::string_view id, IndexReport* report);
  // Ingests at most one step (options.max_ingest_bytes_per_step) of the run's journal and commits
  // it; `*more` says whether the journal may hold more. Sets `*updated` when it ingested anything.
  Status IngestStep(std::string_view id, IndexReport* report, bool* more, bool* updated);
  Status MarkIfCrashed(std::string_view id, IndexReport* report);
  // Reads points [begin, end) by arrival ordinal from the stored chunks of a series.
  Status ReadOrdinals(std::string_view run_id, uint32_t series, uint64_t begin, uint64_t end,
                      std::vector<MetricPoint>* out) const;
  // Builds the series' LOD pyramid from its stored points (up to the published count) unless it
  // exists. Requires lod_mu held exclusively, so no ingest pass commits meanwhile.
  Status BuildPyramid(const std::string& run_id, uint32_t series) const;
  // Loads the points of the series' last, partly filled chunk into `series.tail` (ingestion).
  Status LoadTail(std::string_view run_id, catalog::SeriesState& series) const;

  // Sealed runs (catalog_sealing.cpp, docs/FORMATS-segments.md "In the catalog").
  mutable catalog::SegmentReaderCache segment_readers;
  // Attaches the "s" index entries to the loaded records (end of LoadIndex).
  Status AttachSealedIndex();
  // LoadTail for a sealed series, whose stored chunks were deleted: reads the tail's points back.
  Status LoadSealedTail(std::string_view run_id, catalog::SeriesState& series) const;
  // Whether the run is final and holds points not yet sealed.
  bool NeedsSealing(const catalog::RunRecord& record) const;
  // Seals the run if it needs it: files first (durable), then one batch of index entries and the
  // deletion of its stored points. Stops between series once *stop is set (nothing committed).
  Status SealRun(std::string_view id, const std::atomic<bool>* stop, SealReport* report);
  // `*later` (optional): set when a run is left for a later pass (a journal to compact then).
  SealReport SealRuns(const std::atomic<bool>* stop, bool* later = nullptr);
  // Journal compaction and orphan files of a sealed run (journal_compaction.cpp); called by the
  // sealing pass under seal_mu. CompactJournal sets *later when the run may be compacted later.
  Status CompactJournal(std::string_view id, SealReport* report, bool* later);
  Status CommitCompactedOffset(std::string_view id, uint64_t from, uint64_t to);
  // A run replaced by a compacted copy from another store (StoreLayout::reindex_marker, honoured
  // once its journal is compacted): drops every entry of it so the pass indexes it from scratch,
  // then removes the marker; true when it did. catalog_reindex.cpp. Requires writer_mu.
  Result<bool> ForgetReplacedRun(std::string_view id, const catalog::RunRecord& current);
  void RemoveOrphanSegments(std::string_view id);
  // Under seal_mu: the journal offset at which a run's journal was found compacted or not to be
  // compacted (not looked at again until it changes), and runs whose segments folder was swept.
  std::map<std::string, uint64_t, std::less<>> journal_settled;
  std::set<std::string, std::less<>> orphans_swept;
  // Runs whose sealing failed, with the journal offset they had, so the background thread does
  // not retry them on every Refresh() (a changed offset or SealFinishedRuns() retries).
  std::mutex seal_failed_mu;
  // One run is sealed at a time (the background thread and SealFinishedRuns() may overlap), so
  // two sealers never write, commit or discard the same files.
  std::mutex seal_mu;
  std::map<std::string, uint64_t, std::less<>> seal_failed;
  // Declared last, so it stops (joins) before anything it uses is destroyed. Null unless
  // options.seal_finished_runs.
  std::unique_ptr<catalog::SealingWorker> sealer;
  void StartSealer();
};

Status RocksStatus(const rocksdb::Status& s, std::string_view what);
// The run's stage names indexed by stage id ("" at 0 and in the gaps of the id space).
std::vector<std::string> StageNames(const catalog::RunRecord& record);

}  // namespace runtrack
