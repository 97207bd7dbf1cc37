// RunRecord: everything the catalog knows about one run except its points and log text.
// Persisted as JSON under the run's "r" key together with the journal offset it reflects.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include "catalog/sealed_series.h"
#include "runtrack/catalog.h"
#include "runtrack/metric_point.h"

namespace runtrack::catalog {

struct SeriesState {
  uint32_t id = 0;
  std::string name;
  uint64_t count = 0;
  uint64_t non_finite = 0;
  int64_t first_step = 0, last_step = 0, min_step = 0, max_step = 0;
  double min = std::numeric_limits<double>::infinity();   // finite values only
  double max = -std::numeric_limits<double>::infinity();
  int64_t min_at = 0, max_at = 0;                          // steps of the first min / max
  double last_value = 0;
  bool strictly_increasing = true;  // every step greater than the one before

  // Not persisted: the points of the last, partly filled chunk (loaded on demand).
  std::vector<MetricPoint> tail;
  bool tail_loaded = false;

  void Add(const MetricPoint& p);
  bool has_finite() const { return max >= min; }
};

// A multi-process run's other streams (docs/REMOTE.md "Streams"): the stream with ordinal o > 0
// keeps its journal's metric id m as series id o * kStreamSeriesBase + m, so rank 0's series ids
// (below kStreamSeriesBase) are the journal's own and every query by name finds rank 0's first.
inline constexpr uint32_t kStreamSeriesBase = 1u << 20;
inline constexpr uint32_t kMaxStreamOrdinal = 4095;
inline uint32_t StreamOrdinalOf(uint32_t series_id) { return series_id / kStreamSeriesBase; }

struct StreamState {
  uint32_t ordinal = 0;           // 1, 2, ... in order of discovery
  uint64_t offset = 0;            // how far journal.<stream> is ingested
  bool ended = false;             // its final (Status) record was ingested
  std::map<uint32_t, std::string> stages;  // its journal's stage ids -> names
};

struct RunRecord {
  RunSummary summary_row;  // id, project, name, status, times, tags, best metric, counts
  boost::json::object config;
  boost::json::object summary;
  std::map<uint32_t, std::string> stage_names;
  std::map<uint32_t, SeriesState> series;  // by journal metric id
  std::vector<ArtifactRef> produced, used;
  std::string primary_metric;
  MetricMode primary_mode = MetricMode::kMax;
  uint64_t journal_offset = 0;
  uint64_t log_bytes = 0;
  bool journal_corrupt = false;                  // damaged bytes were found in the journal
  std::optional<uint64_t> journal_corrupt_offset;  // where the first damage found begins
  uint64_t journal_skipped_bytes = 0;            // damaged bytes passed over, all passes together
  bool has_start = false;  // the kRunStart record was ingested
  std::map<std::string, StreamState> streams;  // streams other than "0", by name
  bool remote = false;  // seen arriving by journal shipping (a `receiving` marker): may gain streams
  std::string search_text; // not persisted: SearchText(summary_row), set when published
  // Series whose points are in a sealed segment, by series id: not in the JSON, loaded from the
  // catalog's "s" index entries (sealed_series.h). Points past an entry's point_count (a sealed
  // run that got more points, e.g. a writer that came back) are in stored chunks until resealed.
  std::map<uint32_t, SealedSegment> sealed;
  const SealedSegment* FindSealed(uint32_t series_id) const {
    auto it = sealed.find(series_id);
    return it == sealed.end() ? nullptr : &it->second;
  }

  const SeriesState* FindSeries(std::string_view name) const;
  // Recomputes best_metric_* of summary_row from the primary metric's series.
  void UpdateBest();
};

boost::json::object ToJson(const RunRecord& record);
// Fails only on a structurally wrong document (the catalog then rebuilds that run).
bool FromJson(const boost::json::object& json, RunRecord* record);
// RunRecord::streams as stored in the record ("streams": {name: {ordinal, offset, ended, stages}}).
boost::json::object StreamsToJson(const std::map<std::string, StreamState>& streams);
bool StreamsFromJson(const boost::json::object& json, std::map<std::string, StreamState>* streams);

}  // namespace runtrack::catalog
