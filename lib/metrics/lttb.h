// Textbook Largest-Triangle-Three-Buckets (Steinarsson 2013) over parallel x/y arrays.
//
// Both the raw path (all points) and the pyramid path (bucket extremes as candidates) use this one
// routine, so the selection rule is identical whichever input it sees.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

namespace runtrack {

// Ascending indices of the points LTTB keeps. threshold >= n keeps every point; threshold 1 keeps
// the first point and threshold 2 the first and last. Values must be finite.
std::vector<size_t> LttbSelect(std::span<const double> x, std::span<const double> y, size_t threshold);

}  // namespace runtrack
