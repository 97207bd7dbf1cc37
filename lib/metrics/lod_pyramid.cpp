#include "metrics/lod_pyramid.h"

#include "metrics/lod_lazy_levels.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

namespace runtrack {

void MergeBucket(LodBucket& into, const LodBucket& part) {
  if (part.count == 0) return;
  if (into.count == 0) {
    into = part;
    return;
  }
  if (part.has_finite()) {
    if (!into.has_finite()) {
      into.min = part.min;
      into.max = part.max;
    } else {
      // Strict comparisons: on ties the earlier ordinal (already in `into`) stays.
      if (part.min.point.value < into.min.point.value) into.min = part.min;
      if (part.max.point.value > into.max.point.value) into.max = part.max;
    }
  }
  if (part.nonfinite_count > 0 && into.nonfinite_count == 0) into.first_nonfinite = part.first_nonfinite;
  into.count += part.count;
  into.nonfinite_count += part.nonfinite_count;
  into.sum += part.sum;
  into.last = part.last;
}

LodLevel::operator std::vector<LodBucket>() const {
  std::vector<LodBucket> out;
  out.reserve(size_);
  for (size_t i = 0; i < size_; ++i) out.push_back((*this)[i]);
  return out;
}

const LodBucket& LodLevel::LazyBucket(size_t i) const {
  return static_cast<const LodPyramid::LazyLevels*>(lazy_)->Bucket(k_, i);
}

LodLevel LodPyramid::level(size_t k) const {
  LodLevel view;
  if (lazy_ != nullptr) {
    view.lazy_ = lazy_.get();
    view.k_ = k;
    view.size_ = level_sizes_[k];
    view.slots_ = lazy_->slots(k);
    view.shift_ = lazy_->block_shift();
    view.mask_ = lazy_->block_buckets() - 1;
  } else {
    view.buckets_ = levels_[k].data();
    view.size_ = levels_[k].size();
  }
  return view;
}

Result<LodPyramid> LodPyramid::FromBlockSource(uint64_t count, bool steps_monotonic,
                                               std::shared_ptr<const LodBlockSource> source, size_t preload_from_level,
                                               LodPointReader fallback) {
  LodPyramid pyr;
  if (count == 0) return pyr;
  const uint64_t block_buckets = source->block_buckets();
  if (block_buckets == 0 || (block_buckets & (block_buckets - 1)) != 0) {
    return Status::InvalidArgument("LOD blocks must hold a power of two of buckets, not " +
                                   std::to_string(block_buckets));
  }
  pyr.level_sizes_ = LodLevelSizes(count);
  auto lazy = std::make_shared<LazyLevels>(count, pyr.level_sizes_, std::move(source), std::move(fallback));
  const size_t top = pyr.level_sizes_.size() - 1;
  // The top level is always loaded: it gives the series' first wall time and last step.
  for (size_t k = std::min(preload_from_level, top); k <= top; ++k) {
    for (uint64_t j = 0; j < lazy->block_count(k); ++j) RUNTRACK_RETURN_IF_ERROR(lazy->Preload(k, j));
  }
  const LodBucket& all = lazy->Bucket(top, 0);
  pyr.lazy_ = std::move(lazy);
  pyr.count_ = count;
  pyr.steps_monotonic_ = steps_monotonic;
  pyr.last_step_ = all.last.point.step;
  pyr.first_wall_time_ = all.first.point.wall_time;
  return pyr;
}

Status LodPyramid::load_status() const {
  if (!broken_.ok()) return broken_;
  return lazy_ != nullptr ? lazy_->status() : Status::Ok();
}

uint64_t LodPyramid::memory_bytes() const {
  uint64_t bytes = sizeof(LodPyramid);
  for (const std::vector<LodBucket>& level : levels_) bytes += level.capacity() * sizeof(LodBucket);
  if (lazy_ != nullptr) bytes += lazy_->loaded_bytes();
  return bytes;
}

uint64_t LodPyramid::rebuilt_blocks() const { return lazy_ != nullptr ? lazy_->rebuilt_blocks() : 0; }

Status LodPyramid::Materialize() {
  std::vector<std::vector<LodBucket>> levels(level_sizes_.size());
  for (size_t k = 0; k < levels.size(); ++k) levels[k] = level(k);
  RUNTRACK_RETURN_IF_ERROR(lazy_->status());
  levels_ = std::move(levels);
  lazy_.reset();
  level_sizes_.clear();
  return Status::Ok();
}

void LodPyramid::Append(std::span<const MetricPoint> points) {
  if (points.empty()) return;
  if (lazy_ != nullptr && broken_.ok()) broken_ = Materialize();
  // A pyramid whose blocks could not be loaded stays as it is; load_status() tells the owner to
  // drop it and rebuild from the raw points.
  if (!broken_.ok()) return;
  size_t i = 0;
  while (i < points.size()) {
    uint64_t ordinal = count_;
    uint64_t room = kRawChunkPoints - ordinal % kRawChunkPoints;
    size_t n = static_cast<size_t>(std::min<uint64_t>(room, points.size() - i));
    AppendWithinChunk(points.subspan(i, n), ordinal);
    i += n;
  }
}

void LodPyramid::AppendWithinChunk(std::span<const MetricPoint> pts, uint64_t first_ordinal) {
  // One tight pass summarises the segment; the per-level work below is then O(levels), not
  // O(points), which is what keeps ingest overhead small for batched appends.
  const size_t n = pts.size();
  double mn = std::numeric_limits<double>::infinity();
  double mx = -std::numeric_limits<double>::infinity();
  size_t imn = n, imx = n, inf_first = n;
  double sum = 0.0;
  uint64_t nonfinite = 0;
  bool monotonic = steps_monotonic_;
  int64_t prev = count_ == 0 ? std::numeric_limits<int64_t>::min() : last_step_;
  for (size_t i = 0; i < n; ++i) {
    const double v = pts[i].value;
    monotonic &= pts[i].step >= prev;
    prev = pts[i].step;
    if (!std::isfinite(v)) {
      if (nonfinite == 0) inf_first = i;
      ++nonfinite;
      continue;
    }
    sum += v;
    if (v < mn) { mn = v; imn = i; }
    if (v > mx) { mx = v; imx = i; }
  }
  if (count_ == 0) first_wall_time_ = pts[0].wall_time;
  steps_monotonic_ = monotonic;
  last_step_ = prev;
  count_ += n;

  LodBucket seg;
  seg.count = n;
  seg.nonfinite_count = nonfinite;
  seg.sum = sum;
  seg.first = {first_ordinal, pts[0]};
  seg.last = {first_ordinal + n - 1, pts[n - 1]};
  if (imn < n) {
    seg.min = {first_ordinal + imn, pts[imn]};
    seg.max = {first_ordinal + imx, pts[imx]};
  }
  if (inf_first < n) seg.first_nonfinite = {first_ordinal + inf_first, pts[inf_first]};

  if (levels_.empty()) levels_.emplace_back();
  for (size_t k = 0; k < levels_.size(); ++k) {
    std::vector<LodBucket>& level = levels_[k];
    // The segment lies inside the tail bucket of every level; that bucket is new exactly when the
    // segment starts it, i.e. when first_ordinal is a multiple of this level's bucket span.
    if (level.empty() || (first_ordinal & (BucketSpan(k) - 1)) == 0) {
      level.push_back(seg);
    } else {
      MergeBucket(level.back(), seg);
    }
    if (k + 1 == levels_.size() && level.size() > 1) {
      AddLevelAbove(k);  // built from level k, which already holds the segment
      break;
    }
  }
}

void LodPyramid::AddLevelAbove(size_t k) {
  std::vector<LodBucket> above;
  const std::vector<LodBucket>& below = levels_[k];
  for (size_t i = 0; i < below.size(); ++i) {
    if (i % kFanout == 0) above.emplace_back();
    MergeBucket(above.back(), below[i]);
  }
  levels_.push_back(std::move(above));
}

Result<LodPyramid> LodPyramid::FromLevels(std::vector<std::vector<LodBucket>> levels, bool steps_monotonic) {
  auto bad = [](size_t k, size_t i, const std::string& what) {
    return Status::Corruption("LOD level " + std::to_string(k) + " bucket " + std::to_string(i) + ": " + what);
  };
  LodPyramid pyr;
  if (levels.empty()) return pyr;
  for (size_t k = 0; k < levels.size(); ++k) {
    const std::vector<LodBucket>& level = levels[k];
    const bool top = k + 1 == levels.size();
    // A level above is added as soon as the one below has a second bucket, and never otherwise.
    if (top ? level.size() != 1 : level.size() < 2) {
      return Status::Corruption("LOD level " + std::to_string(k) + " of " + std::to_string(levels.size()) + " has " +
                                std::to_string(level.size()) + " buckets");
    }
    if (!top && levels[k + 1].size() != (level.size() + kFanout - 1) / kFanout) {
      return Status::Corruption("LOD level " + std::to_string(k + 1) + " does not have one bucket per " +
                                std::to_string(kFanout) + " of level " + std::to_string(k));
    }
    for (size_t i = 0; i < level.size(); ++i) {
      const LodBucket& b = level[i];
      if (k == 0) {  // full chunks, except that the last may be partial
        if (i + 1 < level.size() ? b.count != kRawChunkPoints : b.count == 0 || b.count > kRawChunkPoints) {
          return bad(k, i, "count out of range");
        }
      } else {
        const std::vector<LodBucket>& below = levels[k - 1];
        uint64_t below_count = 0;
        for (size_t c = i * kFanout; c < std::min<size_t>(below.size(), (i + 1) * kFanout); ++c) below_count += below[c].count;
        if (b.count != below_count) return bad(k, i, "count does not match the points below it");
      }
      const uint64_t begin = i * BucketSpan(k), end = begin + b.count;
      auto inside = [&](const OrdinalPoint& p) { return p.ordinal >= begin && p.ordinal < end; };
      if (b.nonfinite_count > b.count) return bad(k, i, "more non-finite values than points");
      if (b.first.ordinal != begin || b.last.ordinal != end - 1) return bad(k, i, "first/last ordinals misplaced");
      if (b.has_finite() && (!inside(b.min) || !inside(b.max))) return bad(k, i, "min/max outside the bucket");
      if (b.nonfinite_count > 0 && !inside(b.first_nonfinite)) return bad(k, i, "first non-finite outside the bucket");
    }
  }
  pyr.levels_ = std::move(levels);
  const std::vector<LodBucket>& l0 = pyr.levels_[0];
  pyr.count_ = (l0.size() - 1) * kRawChunkPoints + l0.back().count;
  pyr.steps_monotonic_ = steps_monotonic;
  pyr.last_step_ = l0.back().last.point.step;
  pyr.first_wall_time_ = l0.front().first.point.wall_time;
  return pyr;
}

OrdinalRange LodPyramid::LocateStepRange(int64_t step_min, int64_t step_max) const {
  if (count_ == 0) return {0, 0};
  if (!steps_monotonic_) return {0, count_};
  // With non-decreasing steps a bucket's first/last steps are its smallest/largest, at every level.
  // A level-k bucket's children are buckets [8i, 8i + 8) of level k - 1, so each bound is found by
  // looking at most at one bucket's children per level; once a whole bucket lies on one side of
  // the bound the level-0 answer is that bucket's first (or past its last) descendant.
  const size_t top = num_levels() - 1;
  const uint64_t size0 = level(0).size();
  // lo: the first level-0 bucket whose last step is >= step_min.
  uint64_t lo = level(top)[0].last.point.step >= step_min ? 0 : 1;
  for (size_t k = top; k > 0; --k) {
    const LodLevel here = level(k);
    if (lo == here.size()) {
      lo = size0;
      break;
    }
    if (here[lo].first.point.step >= step_min) {
      lo <<= kFanoutLog2 * k;
      break;
    }
    const LodLevel below = level(k - 1);
    uint64_t c = lo << kFanoutLog2;
    const uint64_t c_end = std::min<uint64_t>(c + kFanout, below.size());
    while (c < c_end && below[c].last.point.step < step_min) ++c;
    lo = c;
  }
  // hi: the first level-0 bucket whose first step is > step_max.
  uint64_t hi = level(top)[0].first.point.step > step_max ? 0 : 1;
  for (size_t k = top; k > 0 && hi > 0; --k) {
    const LodLevel here = level(k);
    if (here[hi - 1].last.point.step <= step_max) {
      hi = std::min<uint64_t>(hi << (kFanoutLog2 * k), size0);
      break;
    }
    const LodLevel below = level(k - 1);
    uint64_t c = (hi - 1) << kFanoutLog2;
    const uint64_t c_end = std::min<uint64_t>(c + kFanout, below.size());
    while (c < c_end && below[c].first.point.step <= step_max) ++c;
    hi = c;
  }
  if (lo >= hi) return {0, 0};
  return {lo * kRawChunkPoints, std::min<uint64_t>(hi * kRawChunkPoints, count_)};
}

}  // namespace runtrack
