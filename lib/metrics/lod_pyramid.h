// LodPyramid: per-series level-of-detail summaries, maintained while points are ingested.
//
// Points are indexed by arrival order (their ordinal, 0-based). A level-0 bucket summarises one raw
// chunk of kRawChunkPoints consecutive ordinals, so a storage layer that keeps raw points in chunks
// of that size can answer any bucket's raw points with one chunk read. A level k+1 bucket
// summarises kFanout consecutive level-k buckets. The last bucket of every level may be partial;
// the top level always has exactly one bucket (once the series is non-empty).
//
// Append() touches only the tail bucket of each level: O(levels) per raw chunk the batch touches
// plus one tight pass over the points, so ingest stays cheap (see docs/PERFORMANCE-downsample.md).
//
// Thread safety: none. One writer appends; readers must be serialised with it by the owner.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "runtrack/metric_point.h"
#include "runtrack/status.h"

namespace runtrack {

// A point plus its arrival ordinal, so candidates from different buckets can be put back in order.
struct OrdinalPoint {
  uint64_t ordinal = 0;
  MetricPoint point;
};

// Summary of a run of consecutive ordinals. Non-finite values (NaN, +/-Inf) are counted, never
// merged into min/max/sum; the first one is kept so queries can surface it.
struct LodBucket {
  uint64_t count = 0;            // all points, non-finite included
  uint64_t nonfinite_count = 0;  // NaN and +/-Inf
  double sum = 0.0;              // finite values only
  OrdinalPoint first;            // first and last by arrival, whatever their value
  OrdinalPoint last;
  OrdinalPoint min;              // finite extremes; meaningful only if count > nonfinite_count
  OrdinalPoint max;              // (ties keep the earliest ordinal)
  OrdinalPoint first_nonfinite;  // meaningful only if nonfinite_count > 0

  bool has_finite() const { return count > nonfinite_count; }
};

struct OrdinalRange {
  uint64_t begin = 0;  // inclusive
  uint64_t end = 0;    // exclusive
  bool empty() const { return begin >= end; }
};

class LodPyramid {
 public:
  // 128 points (4 KiB raw) per chunk: small enough that a range too short for level 0 to offer
  // 4*N buckets (the raw fallback) stays cheap to scan, large enough for chunked storage.
  static constexpr uint64_t kRawChunkPoints = 128;
  // Fanout 8 bounds the work of the chosen level to < 8 * 4N buckets; see the benchmark notes.
  static constexpr uint64_t kFanout = 8;
  // Both are powers of two so bucket arithmetic on the append path is shifts and masks.
  static constexpr unsigned kFanoutLog2 = 3;
  static_assert(kFanout == uint64_t{1} << kFanoutLog2);
  static_assert((kRawChunkPoints & (kRawChunkPoints - 1)) == 0);

  void Append(std::span<const MetricPoint> points);

  // Rebuilds a pyramid from the levels of another one (level(0) .. level(num_levels() - 1), e.g.
  // read back from persisted LOD blocks) without its raw points; it then answers queries and
  // takes further Append()s exactly as the original would. Corruption unless the levels have the
  // shape Append() produces: level 0 holds kRawChunkPoints per bucket (the last may be partial),
  // each level above has one bucket per kFanout below with matching counts and ordinals, the top
  // level has one bucket, and every bucket's min/max/first_nonfinite ordinals lie inside it.
  static Result<LodPyramid> FromLevels(std::vector<std::vector<LodBucket>> levels, bool steps_monotonic);

  uint64_t count() const { return count_; }
  // True while every step is >= the step logged before it (repeated steps allowed).
  bool steps_monotonic() const { return steps_monotonic_; }
  // Wall time of the series' first point (the origin of XAxis::kRelativeTime); 0 when empty.
  double first_wall_time() const { return first_wall_time_; }

  size_t num_levels() const { return levels_.size(); }
  const std::vector<LodBucket>& level(size_t k) const { return levels_[k]; }
  // Number of raw points one full bucket of level k covers: kRawChunkPoints * kFanout^k.
  static constexpr uint64_t BucketSpan(size_t k) { return kRawChunkPoints << (kFanoutLog2 * k); }

  // Chunk-aligned ordinal range that holds every point with step_min <= step <= step_max, found
  // by binary search over level-0 buckets; the caller trims the (at most two) edge chunks using raw
  // points. Only valid when steps_monotonic(); otherwise it returns the whole series.
  OrdinalRange LocateStepRange(int64_t step_min, int64_t step_max) const;

 private:
  // Adds points[begin, end), all inside one raw chunk, to the tail bucket of every level.
  void AppendWithinChunk(std::span<const MetricPoint> points, uint64_t first_ordinal);
  void AddLevelAbove(size_t k);

  std::vector<std::vector<LodBucket>> levels_;
  uint64_t count_ = 0;
  bool steps_monotonic_ = true;
  int64_t last_step_ = 0;
  double first_wall_time_ = 0.0;
};

// Folds `part` (which follows `into` in arrival order) into `into`.
void MergeBucket(LodBucket& into, const LodBucket& part);

}  // namespace runtrack
