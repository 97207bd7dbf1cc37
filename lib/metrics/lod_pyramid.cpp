#include "metrics/lod_pyramid.h"

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

void LodPyramid::Append(std::span<const MetricPoint> points) {
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
  const std::vector<LodBucket>& l0 = levels_[0];
  // With non-decreasing steps a chunk's first/last steps are its smallest/largest.
  auto lo = std::partition_point(l0.begin(), l0.end(),
                                 [&](const LodBucket& b) { return b.last.point.step < step_min; });
  auto hi = std::partition_point(l0.begin(), l0.end(),
                                 [&](const LodBucket& b) { return b.first.point.step <= step_max; });
  if (lo >= hi) return {0, 0};
  uint64_t begin = static_cast<uint64_t>(lo - l0.begin()) * kRawChunkPoints;
  uint64_t end = std::min<uint64_t>(static_cast<uint64_t>(hi - l0.begin()) * kRawChunkPoints, count_);
  return {begin, end};
}

}  // namespace runtrack
