// A run read from its sealed objects alone, without a catalog entry (docs/SCALE-OUT.md "Segment
// index in PostgreSQL"): what a viewer replica answers for a run another replica indexed and
// sealed. The series come from a shared index (the PostgreSQL `segments` table); their bytes from
// this store's segments/ folder when present, else from a SealedObjectSource (the team's bucket),
// checked exactly as the catalog checks them (sizes, footer CRCs, every block's CRC), so damaged or
// foreign bytes are Corruption, never a wrong point.
//
// Answers are those Catalog::QueryMetrics / ReadMetricSince / MetricCursorAtEnd give on the
// replica that sealed the run, bit for bit, for a run whose points are all sealed (the query and
// table code is shared: lib/catalog/metric_table_assembly.h).
//
// Thread safety: every method may be called from any number of threads at once.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "runtrack/metric_query.h"
#include "runtrack/sealed_objects.h"
#include "runtrack/status.h"

namespace runtrack {

// One sealed series as a shared index records it.
struct SealedSeriesInfo {
  SealedObjectRef ref;   // ref.series is the sealing catalog's series id (stream ordinal << 20 | id)
  std::string metric;    // the series' name (its segment footer holds it too; checked at open)
  int64_t first_step = 0, last_step = 0;  // of the first and last point logged
};

class SealedRunReader {
 public:
  // Reads the trailer and footer of every series' segment (one range read each from a source),
  // which gives the run's stage names and checks each name. `root`: this store's root (local files
  // win, as in the catalog). `series` must be one run's, each series id once. NotFound for an
  // empty list; Corruption for a segment that fails its checks.
  static Result<std::unique_ptr<SealedRunReader>> Open(const std::filesystem::path& root, std::string run_id,
                                                       std::vector<SealedSeriesInfo> series,
                                                       std::shared_ptr<const SealedObjectSource> objects);
  ~SealedRunReader();

  Result<MetricTable> QueryMetrics(const MetricQuery& query, const MetricReadProgress& progress = {}) const;
  Result<MetricChunk> ReadMetricSince(std::string_view metric, MetricCursor cursor,
                                      uint64_t max_points = UINT64_MAX) const;
  Result<MetricCursor> MetricCursorAtEnd(std::string_view metric) const;
  // The run's stage names ("" at 0), as the sealing catalog had them.
  const std::vector<std::string>& stages() const;

  class Impl;

 private:
  explicit SealedRunReader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace runtrack
