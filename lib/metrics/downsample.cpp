#include "metrics/downsample.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "metrics/lttb.h"
#include "metrics/pixel_buckets.h"

namespace runtrack {
namespace {

struct Geometry {
  XAxis axis;
  double origin;  // first wall time of the series, for kRelativeTime
  double X(const MetricPoint& p) const {
    switch (axis) {
      case XAxis::kStep: return static_cast<double>(p.step);
      case XAxis::kWallTime: return p.wall_time;
      case XAxis::kRelativeTime: return p.wall_time - origin;
    }
    return 0.0;
  }
};

// Pixel buckets per method: the output stays within N points (plus surfaced non-finite ones).
size_t PixelCount(DownsampleMethod method, size_t n) {
  size_t per_pixel = method == DownsampleMethod::kM4 ? 4 : method == DownsampleMethod::kMinMax ? 2 : 1;
  return std::max<size_t>(1, n / per_pixel);
}

Status ReadExact(const RawPointReader& read, uint64_t begin, uint64_t end, std::vector<MetricPoint>* out) {
  out->clear();
  RUNTRACK_RETURN_IF_ERROR(read(begin, end, out));
  if (out->size() != end - begin) {
    return Status::Corruption("raw point reader returned " + std::to_string(out->size()) +
                              " points for ordinals [" + std::to_string(begin) + ", " +
                              std::to_string(end) + ")");
  }
  return Status::Ok();
}

// Arrival order, then one point per step: the later-logged value of a repeated step wins.
std::vector<MetricPoint> Finish(std::vector<OrdinalPoint> chosen) {
  std::sort(chosen.begin(), chosen.end(),
            [](const OrdinalPoint& a, const OrdinalPoint& b) { return a.ordinal < b.ordinal; });
  std::vector<MetricPoint> out;
  out.reserve(chosen.size());
  uint64_t last_ordinal = 0;
  for (const OrdinalPoint& c : chosen) {
    if (!out.empty() && c.ordinal == last_ordinal) continue;
    if (!out.empty() && out.back().step == c.point.step) {
      out.back() = c.point;
    } else {
      out.push_back(c.point);
    }
    last_ordinal = c.ordinal;
  }
  return out;
}

// LTTB over candidates given as parallel x/y arrays plus a way to fetch candidate i; non-finite
// candidates are surfaced one per pixel so a NaN run stays visible without entering the triangle
// geometry. Returns the chosen points, unordered.
template <typename CandidateAt>
std::vector<OrdinalPoint> SelectLttb(const std::vector<double>& xs, const std::vector<double>& ys,
                                     CandidateAt candidate_at, const std::vector<OrdinalPoint>& nonfinite,
                                     size_t n, const Geometry& geo) {
  std::vector<OrdinalPoint> chosen;
  const std::vector<size_t> keep = LttbSelect(xs, ys, n);
  chosen.reserve(keep.size());
  for (size_t i : keep) chosen.push_back(candidate_at(i));
  if (!nonfinite.empty()) {
    double x_lo = std::numeric_limits<double>::infinity(), x_hi = -x_lo;
    if (!xs.empty()) {
      x_lo = std::min(xs.front(), xs.back());
      x_hi = std::max(xs.front(), xs.back());
    }
    for (const OrdinalPoint& p : nonfinite) {
      x_lo = std::min(x_lo, geo.X(p.point));
      x_hi = std::max(x_hi, geo.X(p.point));
    }
    PixelBuckets pixels(n, x_lo, x_hi);
    for (const OrdinalPoint& p : nonfinite) pixels.AddNonfinite(p, geo.X(p.point));
    for (const OrdinalPoint& p : pixels.Collect(false)) chosen.push_back(p);
  }
  return chosen;
}

// Raw path. `points` are arrival-ordered. `sorted`: steps are non-decreasing and all in range
// (the caller trimmed them); otherwise they are filtered and sorted here.
DownsampleResult FromRaw(std::vector<MetricPoint> points, bool sorted, int64_t step_min,
                         int64_t step_max, const DownsampleOptions& opt, const Geometry& geo) {
  if (!sorted) {
    std::erase_if(points, [&](const MetricPoint& p) { return p.step < step_min || p.step > step_max; });
  }
  DownsampleResult result;
  result.points_in_range = points.size();
  if (!sorted) {
    std::stable_sort(points.begin(), points.end(),
                     [](const MetricPoint& a, const MetricPoint& b) { return a.step < b.step; });
  }
  // Repeated steps are adjacent now, in arrival order: keep the last of each run.
  // Writing starts at the first repeat, so the common case (no repeats) copies nothing.
  size_t w = 1;
  while (w < points.size() && points[w - 1].step != points[w].step) ++w;
  if (points.empty()) w = 0;
  for (size_t r = w; r < points.size(); ++r) {
    if (w > 0 && points[w - 1].step == points[r].step) {
      points[w - 1] = points[r];
    } else {
      points[w++] = points[r];
    }
  }
  points.resize(w);

  const size_t n = opt.target_points;
  if (opt.method == DownsampleMethod::kNone || n >= points.size()) {
    result.points = std::move(points);
    return result;
  }
  if (opt.method == DownsampleMethod::kLttb) {
    std::vector<double> xs, ys;
    xs.reserve(points.size());
    ys.reserve(points.size());
    std::vector<OrdinalPoint> nonfinite;
    std::vector<size_t> finite_index;  // filled only once a non-finite point shifts the indices
    for (size_t i = 0; i < points.size(); ++i) {
      if (!std::isfinite(points[i].value)) {
        if (nonfinite.empty()) {
          finite_index.resize(i);
          for (size_t j = 0; j < i; ++j) finite_index[j] = j;
        }
        nonfinite.push_back({i, points[i]});
        continue;
      }
      if (!nonfinite.empty()) finite_index.push_back(i);
      xs.push_back(geo.X(points[i]));
      ys.push_back(points[i].value);
    }
    auto at = [&](size_t c) {
      const size_t i = nonfinite.empty() ? c : finite_index[c];
      return OrdinalPoint{i, points[i]};
    };
    result.points = Finish(SelectLttb(xs, ys, at, nonfinite, n, geo));
    return result;
  }
  double x_lo = std::numeric_limits<double>::infinity(), x_hi = -x_lo;
  for (const MetricPoint& p : points) {
    x_lo = std::min(x_lo, geo.X(p));
    x_hi = std::max(x_hi, geo.X(p));
  }
  PixelBuckets pixels(PixelCount(opt.method, n), x_lo, x_hi);
  for (size_t i = 0; i < points.size(); ++i) pixels.AddPoint({i, points[i]}, geo.X(points[i]));
  result.points = Finish(pixels.Collect(opt.method == DownsampleMethod::kM4));
  return result;
}

// The buckets that cover level-0 bucket indices [lo, hi) with buckets no coarser than `level`, in
// ordinal order: finer buckets at the ragged ends (like a segment tree), a run of level-`level`
// buckets between them. The run is kept as a level view and an index range, not as pointers, so
// that walking it touches each bucket once, in order: on a lazily loaded pyramid a block is then
// loaded right before its buckets are used, while they are still in the CPU's caches (a first chart
// of 10^7 points loads 2.2 MB of level 1, more than the L2 cache; collecting pointers first loaded
// all of it before reading any, docs/PERFORMANCE.md "Sealed segments in the catalog").
struct BucketCover {
  std::vector<const LodBucket*> left;   // ordinal order
  LodLevel run;                         // buckets [run_begin, run_end) of `level`
  uint64_t run_begin = 0, run_end = 0;
  std::vector<const LodBucket*> right;  // reverse ordinal order

  bool empty() const { return left.empty() && run_begin == run_end && right.empty(); }
  size_t size() const { return left.size() + (run_end - run_begin) + right.size(); }
  const LodBucket& front() const {
    if (!left.empty()) return *left.front();
    return run_begin < run_end ? run[run_begin] : *right.back();
  }
  const LodBucket& back() const {
    if (!right.empty()) return *right.front();
    return run_begin < run_end ? run[run_end - 1] : *left.back();
  }
  template <typename Visit>
  void ForEach(Visit&& visit) const {
    for (const LodBucket* b : left) visit(*b);
    for (uint64_t i = run_begin; i < run_end; ++i) visit(run[i]);
    for (auto it = right.rbegin(); it != right.rend(); ++it) visit(**it);
  }
};

// The last bucket of each level may be partial, so reaching a level's end counts as aligned.
BucketCover CoverBuckets(const LodPyramid& pyr, uint64_t lo, uint64_t hi, size_t level) {
  const uint64_t f = LodPyramid::kFanout;
  BucketCover cover;
  for (size_t k = 0; k < level && lo < hi; ++k) {
    const auto& buckets = pyr.level(k);
    const uint64_t size = buckets.size();
    while (lo < hi && lo % f != 0) cover.left.push_back(&buckets[lo++]);
    while (lo < hi && hi % f != 0 && hi != size) cover.right.push_back(&buckets[--hi]);
    if (lo >= hi) break;
    lo /= f;
    hi = hi == size ? (hi + f - 1) / f : hi / f;
  }
  if (lo < hi) {
    cover.run = pyr.level(level);
    cover.run_begin = lo;
    cover.run_end = hi;
  }
  return cover;
}

Result<DownsampleResult> FromPyramid(const LodPyramid& pyr, const RawPointReader& read, uint64_t b,
                                     uint64_t e, size_t level, const DownsampleOptions& opt,
                                     const Geometry& geo) {
  const uint64_t chunk = LodPyramid::kRawChunkPoints;
  const uint64_t lo = (b + chunk - 1) / chunk;
  const uint64_t hi = e == pyr.count() ? pyr.level(0).size() : e / chunk;
  if (lo >= hi) return Status::Internal("pyramid path chosen for a range inside one chunk");

  // Ragged edges as raw points; everything between them as whole buckets.
  std::vector<MetricPoint> left_raw, right_raw;
  RUNTRACK_RETURN_IF_ERROR(ReadExact(read, b, lo * chunk, &left_raw));
  if (hi * chunk < e) RUNTRACK_RETURN_IF_ERROR(ReadExact(read, hi * chunk, e, &right_raw));
  std::vector<OrdinalPoint> edges;
  edges.reserve(left_raw.size() + right_raw.size());
  for (size_t i = 0; i < left_raw.size(); ++i) edges.push_back({b + i, left_raw[i]});
  const size_t n_left = edges.size();
  for (size_t i = 0; i < right_raw.size(); ++i) edges.push_back({hi * chunk + i, right_raw[i]});
  const BucketCover buckets = CoverBuckets(pyr, lo, hi, level);
  if (buckets.empty()) return Status::Internal("no bucket covers the pyramid range");
  const std::span<const OrdinalPoint> left(edges.data(), n_left);
  const std::span<const OrdinalPoint> right(edges.data() + n_left, edges.size() - n_left);
  const OrdinalPoint& range_first = left.empty() ? buckets.front().first : left.front();
  const OrdinalPoint& range_last = right.empty() ? buckets.back().last : right.back();

  DownsampleResult result;
  result.points_in_range = e - b;
  result.level_used = static_cast<int>(level);

  if (opt.method == DownsampleMethod::kLttb) {
    // Candidates: the range's two ends (LTTB anchors on them) and every bucket's min and max in
    // arrival order; each is added only if it comes after the previous one, which removes repeats.
    std::vector<const OrdinalPoint*> cands;
    std::vector<double> xs, ys;
    const size_t cap = 2 * buckets.size() + edges.size() + 2;
    cands.reserve(cap);
    xs.reserve(cap);
    ys.reserve(cap);
    std::vector<OrdinalPoint> nonfinite;
    auto add = [&](const OrdinalPoint& c) {
      if (!std::isfinite(c.point.value)) {
        nonfinite.push_back(c);
        return;
      }
      if (!cands.empty() && cands.back()->ordinal >= c.ordinal) return;
      cands.push_back(&c);
      xs.push_back(geo.X(c.point));
      ys.push_back(c.point.value);
    };
    if (std::isfinite(range_first.point.value)) add(range_first);
    for (const OrdinalPoint& p : left) add(p);
    buckets.ForEach([&](const LodBucket& bk) {
      if (bk.has_finite()) {
        const bool min_first = bk.min.ordinal <= bk.max.ordinal;
        add(min_first ? bk.min : bk.max);
        add(min_first ? bk.max : bk.min);
      }
      if (bk.nonfinite_count > 0) nonfinite.push_back(bk.first_nonfinite);
    });
    for (const OrdinalPoint& p : right) add(p);
    if (std::isfinite(range_last.point.value)) add(range_last);
    auto at = [&](size_t i) { return *cands[i]; };
    result.points = Finish(SelectLttb(xs, ys, at, nonfinite, opt.target_points, geo));
    return result;
  }

  double x_lo = std::min(geo.X(range_first.point), geo.X(range_last.point));
  double x_hi = std::max(geo.X(range_first.point), geo.X(range_last.point));
  if (geo.axis != XAxis::kStep) {  // wall time need not follow arrival order
    buckets.ForEach([&](const LodBucket& bk) {
      for (double x : {geo.X(bk.first.point), geo.X(bk.last.point)}) {
        x_lo = std::min(x_lo, x);
        x_hi = std::max(x_hi, x);
      }
    });
  }
  PixelBuckets pixels(PixelCount(opt.method, opt.target_points), x_lo, x_hi);
  for (const OrdinalPoint& p : left) pixels.AddPoint(p, geo.X(p.point));
  buckets.ForEach([&](const LodBucket& bk) { pixels.AddBucket(bk, geo.X(bk.first.point)); });
  for (const OrdinalPoint& p : right) pixels.AddPoint(p, geo.X(p.point));
  result.points = Finish(pixels.Collect(opt.method == DownsampleMethod::kM4));
  return result;
}

}  // namespace

Result<DownsampleResult> Downsample(const LodPyramid& pyramid, const RawPointReader& read_raw,
                                    const DownsampleOptions& options) {
  if (options.target_points == 0) return Status::InvalidArgument("target_points must be at least 1");
  if (!read_raw) return Status::InvalidArgument("no raw point reader given");
  const int64_t step_min = options.step_min.value_or(std::numeric_limits<int64_t>::min());
  const int64_t step_max = options.step_max.value_or(std::numeric_limits<int64_t>::max());
  if (step_min > step_max) {
    return Status::InvalidArgument("step_min " + std::to_string(step_min) + " is greater than step_max " +
                                   std::to_string(step_max));
  }
  const Geometry geo{options.x_axis, pyramid.first_wall_time()};
  if (pyramid.count() == 0) return DownsampleResult{};

  std::vector<MetricPoint> raw;
  if (!pyramid.steps_monotonic()) {
    RUNTRACK_RETURN_IF_ERROR(ReadExact(read_raw, 0, pyramid.count(), &raw));
    return FromRaw(std::move(raw), /*sorted=*/false, step_min, step_max, options, geo);
  }

  // Exact ordinal bounds: binary search over chunks, then within the (at most two) edge chunks.
  const OrdinalRange chunks = pyramid.LocateStepRange(step_min, step_max);
  if (chunks.empty()) return DownsampleResult{};
  const uint64_t chunk = LodPyramid::kRawChunkPoints;
  uint64_t b = chunks.begin, e = chunks.end;
  if (options.step_min) {
    RUNTRACK_RETURN_IF_ERROR(ReadExact(read_raw, b, std::min(b + chunk, e), &raw));
    auto it = std::partition_point(raw.begin(), raw.end(), [&](const MetricPoint& p) { return p.step < step_min; });
    b += static_cast<uint64_t>(it - raw.begin());
  }
  if (options.step_max && e > b) {
    const uint64_t last_chunk = std::max(b, (e - 1) / chunk * chunk);
    RUNTRACK_RETURN_IF_ERROR(ReadExact(read_raw, last_chunk, e, &raw));
    auto it = std::partition_point(raw.begin(), raw.end(), [&](const MetricPoint& p) { return p.step <= step_max; });
    e = last_chunk + static_cast<uint64_t>(it - raw.begin());
  }
  if (e <= b) return DownsampleResult{};

  const size_t n = options.target_points;
  const uint64_t len = e - b;
  if (options.method != DownsampleMethod::kNone && (len - 1) / 8 >= n) {
    // len > 8N (written so 8N cannot overflow): look for the coarsest level with >= 4N buckets overlapping [b, e).
    for (size_t k = pyramid.num_levels(); k-- > 0;) {
      const uint64_t span = LodPyramid::BucketSpan(k);
      const uint64_t buckets = (e - 1) / span - b / span + 1;
      if (buckets / 4 >= n) return FromPyramid(pyramid, read_raw, b, e, k, options, geo);
    }
  }
  RUNTRACK_RETURN_IF_ERROR(ReadExact(read_raw, b, e, &raw));
  return FromRaw(std::move(raw), /*sorted=*/true, step_min, step_max, options, geo);
}

}  // namespace runtrack
