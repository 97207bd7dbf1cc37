// PixelBuckets: splits an x interval into equal-width pixel buckets and remembers, per pixel, the
// first/last points by arrival, the finite min/max, and the first non-finite point. M4 and MinMax
// are read straight off it; LTTB uses it only to surface non-finite points (one per pixel).
#pragma once

#include <cstddef>
#include <vector>

#include "metrics/lod_pyramid.h"

namespace runtrack {

class PixelBuckets {
 public:
  // x values outside [x_lo, x_hi] are clamped into the first/last pixel.
  PixelBuckets(size_t pixels, double x_lo, double x_hi);

  void AddPoint(const OrdinalPoint& p, double x);
  // A whole bucket lands in the pixel of `x` (the x of its first point): the bucket's extremes are
  // kept either way, at worst one pixel off near a pixel border.
  void AddBucket(const LodBucket& b, double x);
  void AddNonfinite(const OrdinalPoint& p, double x);

  // Per non-empty pixel: first and last (if with_first_last), min and max, first non-finite.
  // Unordered and possibly repeating a point (e.g. first == min).
  std::vector<OrdinalPoint> Collect(bool with_first_last) const;

 private:
  struct Pixel {
    bool any = false, has_finite = false, has_nonfinite = false;
    OrdinalPoint first, last, min, max, nonfinite;
  };
  Pixel& PixelAt(double x);

  std::vector<Pixel> pixels_;
  double x_lo_, scale_;
};

}  // namespace runtrack
