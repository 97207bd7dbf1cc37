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
// A pyramid restored from persisted LOD blocks (FromBlockSource) loads its levels lazily, one block
// of consecutive buckets at a time, when a reader first touches a bucket of that block; see
// LodBlockSource below.
//
// Thread safety: one writer appends; readers must be serialised with it by the owner. Concurrent
// readers are fine, including on a lazily loaded pyramid (block loads are internally locked, and a
// loaded block stays at its address for the pyramid's life).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
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

// A block of buckets as a LodBlockSource hands it over: `count` buckets at `buckets`, kept alive
// (and at that address) by `storage`, e.g. a decoded vector or the very bytes read from storage.
struct LodBlockData {
  std::shared_ptr<const void> storage;
  const LodBucket* buckets = nullptr;
  size_t count = 0;
};

// Where a lazily loaded pyramid's buckets come from: a run of `block_buckets()` consecutive
// buckets of one level per block (the last block of a level may be shorter). Implemented over a
// persisted LOD object (segments::OpenLodPyramid). Must allow concurrent LoadBlock calls.
class LodBlockSource {
 public:
  virtual ~LodBlockSource() = default;
  // Buckets per block, a power of two, the same for every level.
  virtual uint64_t block_buckets() const = 0;
  // Fills *out with the buckets of block `block` of `level`, exactly as Append() made them;
  // Corruption if the stored block is damaged.
  virtual Status LoadBlock(size_t level, uint64_t block, LodBlockData* out) const = 0;
};

// Raw points by ordinal, [begin, end), in arrival order (the signature of RawPointReader in
// metrics/downsample.h): what a lazily loaded pyramid rebuilds a damaged block from.
using LodPointReader = std::function<Status(uint64_t begin, uint64_t end, std::vector<MetricPoint>* out)>;

class LodPyramid;

// One level's buckets as readers see them: a view of an in-memory level, or of a lazily loaded
// level whose blocks are loaded on first access (a loaded block is one atomic load away). Valid
// while its pyramid lives and is not appended to.
class LodLevel {
 public:
  size_t size() const { return size_; }
  const LodBucket& operator[](size_t i) const {
    if (slots_ == nullptr) return buckets_[i];
    const LodBucket* block = slots_[i >> shift_].load(std::memory_order_acquire);
    return block != nullptr ? block[i & mask_] : LazyBucket(i);
  }
  // A copy of every bucket (loads every block of a lazily loaded level).
  operator std::vector<LodBucket>() const;  // NOLINT(google-explicit-constructor): reads like the vector it was

 private:
  friend class LodPyramid;
  const LodBucket& LazyBucket(size_t i) const;  // loads the block
  const LodBucket* buckets_ = nullptr;
  size_t size_ = 0;
  // Lazily loaded level: per block, the loaded buckets or null; buckets per block = mask_ + 1.
  const std::atomic<const LodBucket*>* slots_ = nullptr;
  unsigned shift_ = 0;
  uint64_t mask_ = 0;
  const void* lazy_ = nullptr;  // LodPyramid::LazyLevels
  size_t k_ = 0;
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

  // A pyramid of `count` points whose buckets `source` loads block by block on first access, so a
  // query reads only the blocks of the levels and edges it touches. The levels' sizes follow from
  // `count` (Append's shape). Blocks of levels >= `preload_from_level` are loaded now (the coarse
  // levels: a few KB); Corruption if one of them cannot be loaded. A block that later fails to
  // load or fails the shape checks of FromLevels that one block allows is rebuilt from the raw
  // points through `fallback` (empty: no rebuild); if that fails too, load_status() reports it and
  // the block reads as empty buckets. The first Append() loads every block (a sealed series
  // rarely grows).
  static Result<LodPyramid> FromBlockSource(uint64_t count, bool steps_monotonic,
                                            std::shared_ptr<const LodBlockSource> source, size_t preload_from_level,
                                            LodPointReader fallback);
  // OK unless a lazily loaded block could neither be loaded nor rebuilt (answers that touched it
  // are then wrong and must be dropped).
  Status load_status() const;
  // Bytes of buckets held in memory (for a lazily loaded pyramid: the blocks loaded so far).
  uint64_t memory_bytes() const;
  // True while the buckets come from a LodBlockSource (FromBlockSource, until the first Append).
  bool lazy() const { return lazy_ != nullptr; }
  // Blocks that failed to load and were rebuilt from raw points (tests, logs).
  uint64_t rebuilt_blocks() const;

  uint64_t count() const { return count_; }
  // True while every step is >= the step logged before it (repeated steps allowed).
  bool steps_monotonic() const { return steps_monotonic_; }
  // Wall time of the series' first point (the origin of XAxis::kRelativeTime); 0 when empty.
  double first_wall_time() const { return first_wall_time_; }

  size_t num_levels() const { return lazy_ != nullptr ? level_sizes_.size() : levels_.size(); }
  LodLevel level(size_t k) const;
  // Number of raw points one full bucket of level k covers: kRawChunkPoints * kFanout^k.
  static constexpr uint64_t BucketSpan(size_t k) { return kRawChunkPoints << (kFanoutLog2 * k); }

  // Chunk-aligned ordinal range that holds every point with step_min <= step <= step_max, found
  // by descending the levels from the top (so a lazily loaded pyramid loads at most one block per
  // level and edge, none where a coarse bucket settles it); the caller trims the (at most two) edge
  // chunks using raw points. Only valid when steps_monotonic(); otherwise it returns the whole series.
  OrdinalRange LocateStepRange(int64_t step_min, int64_t step_max) const;

 private:
  // Adds points[begin, end), all inside one raw chunk, to the tail bucket of every level.
  void AppendWithinChunk(std::span<const MetricPoint> points, uint64_t first_ordinal);
  void AddLevelAbove(size_t k);
  // Loads every block of a lazily loaded pyramid into levels_ and drops the lazy state.
  Status Materialize();

  class LazyLevels;
  friend class LodLevel;
  std::vector<std::vector<LodBucket>> levels_;  // empty vectors while lazy_ is set
  std::vector<uint64_t> level_sizes_;           // buckets per level while lazy_ is set
  std::shared_ptr<LazyLevels> lazy_;
  Status broken_;  // a failed Materialize(): Append stops, load_status() reports it
  uint64_t count_ = 0;
  bool steps_monotonic_ = true;
  int64_t last_step_ = 0;
  double first_wall_time_ = 0.0;
};

// Folds `part` (which follows `into` in arrival order) into `into`.
void MergeBucket(LodBucket& into, const LodBucket& part);

}  // namespace runtrack
