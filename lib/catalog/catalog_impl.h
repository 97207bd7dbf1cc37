// Catalog::Impl: the RocksDB handle plus the in-memory run index every query reads.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>

#include <rocksdb/db.h>

#include "catalog/run_record.h"
#include "metrics/lod_pyramid.h"
#include "runtrack/catalog.h"
#include "runtrack/layout.h"

namespace runtrack {

class Catalog::Impl {
 public:
  std::filesystem::path root;
  CatalogOptions options;
  std::unique_ptr<rocksdb::DB> db;

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

  // Serialises Refresh() and deletions against each other (they read-modify-write records).
  std::mutex writer_mu;

  StoreLayout layout() const { return StoreLayout(root); }
  std::filesystem::path run_dir(std::string_view id) const { return layout().run_dir(id); }
  std::shared_ptr<const catalog::RunRecord> Find(std::string_view id) const;
  void Publish(std::shared_ptr<catalog::RunRecord> record);

  Status Commit(rocksdb::WriteBatch* batch);
  Status LoadIndex();
  // Ingests the run's journal to its end (or to the first torn/corrupt record).
  Status IngestRun(std::string_view id, IndexReport* report);
  Status MarkIfCrashed(std::string_view id, IndexReport* report);
  // Reads points [begin, end) by arrival ordinal from the stored chunks of a series.
  Status ReadOrdinals(std::string_view run_id, uint32_t series, uint64_t begin, uint64_t end,
                      std::vector<MetricPoint>* out) const;
  // Builds the series' LOD pyramid from its stored points (up to the published count) unless it
  // exists. Requires lod_mu held exclusively, so no ingest pass commits meanwhile.
  Status BuildPyramid(const std::string& run_id, uint32_t series) const;
  // Loads the points of the series' last, partly filled chunk into `series.tail` (ingestion).
  Status LoadTail(std::string_view run_id, catalog::SeriesState& series) const;
};

Status RocksStatus(const rocksdb::Status& s, std::string_view what);
// The run's stage names indexed by stage id ("" at 0 and in the gaps of the id space).
std::vector<std::string> StageNames(const catalog::RunRecord& record);

}  // namespace runtrack
