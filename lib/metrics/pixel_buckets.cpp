#include "metrics/pixel_buckets.h"

#include <cmath>

namespace runtrack {

PixelBuckets::PixelBuckets(size_t pixels, double x_lo, double x_hi)
    : pixels_(pixels == 0 ? 1 : pixels), x_lo_(x_lo) {
  const double width = x_hi - x_lo;
  scale_ = width > 0 ? static_cast<double>(pixels_.size()) / width : 0.0;
}

PixelBuckets::Pixel& PixelBuckets::PixelAt(double x) {
  const double t = (x - x_lo_) * scale_;
  if (!(t > 0)) return pixels_.front();  // also catches NaN x
  size_t i = static_cast<size_t>(t);
  return pixels_[i < pixels_.size() ? i : pixels_.size() - 1];
}

void PixelBuckets::AddPoint(const OrdinalPoint& p, double x) {
  Pixel& px = PixelAt(x);
  if (!px.any || p.ordinal < px.first.ordinal) px.first = p;
  if (!px.any || p.ordinal > px.last.ordinal) px.last = p;
  px.any = true;
  const double v = p.point.value;
  if (!std::isfinite(v)) {
    if (!px.has_nonfinite || p.ordinal < px.nonfinite.ordinal) px.nonfinite = p;
    px.has_nonfinite = true;
    return;
  }
  if (!px.has_finite || v < px.min.point.value) px.min = p;
  if (!px.has_finite || v > px.max.point.value) px.max = p;
  px.has_finite = true;
}

void PixelBuckets::AddBucket(const LodBucket& b, double x) {
  if (b.count == 0) return;
  Pixel& px = PixelAt(x);
  if (!px.any || b.first.ordinal < px.first.ordinal) px.first = b.first;
  if (!px.any || b.last.ordinal > px.last.ordinal) px.last = b.last;
  px.any = true;
  if (b.nonfinite_count > 0 && (!px.has_nonfinite || b.first_nonfinite.ordinal < px.nonfinite.ordinal)) {
    px.nonfinite = b.first_nonfinite;
    px.has_nonfinite = true;
  }
  if (b.has_finite()) {
    if (!px.has_finite || b.min.point.value < px.min.point.value) px.min = b.min;
    if (!px.has_finite || b.max.point.value > px.max.point.value) px.max = b.max;
    px.has_finite = true;
  }
}

void PixelBuckets::AddNonfinite(const OrdinalPoint& p, double x) {
  Pixel& px = PixelAt(x);
  if (!px.has_nonfinite || p.ordinal < px.nonfinite.ordinal) px.nonfinite = p;
  px.has_nonfinite = true;
}

std::vector<OrdinalPoint> PixelBuckets::Collect(bool with_first_last) const {
  std::vector<OrdinalPoint> out;
  for (const Pixel& px : pixels_) {
    if (with_first_last && px.any) {
      out.push_back(px.first);
      out.push_back(px.last);
    }
    if (px.has_finite) {
      out.push_back(px.min);
      out.push_back(px.max);
    }
    if (px.has_nonfinite) out.push_back(px.nonfinite);
  }
  return out;
}

}  // namespace runtrack
