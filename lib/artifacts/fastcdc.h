// FastCDC content-defined chunking (Xia et al., USENIX ATC'16) with normalized chunking level 2.
//
// A boundary depends only on the bytes just before it (a 64-byte gear-hash window) and on the
// distance from the previous boundary, so inserting or deleting bytes moves boundaries only near
// the edit: the rest of the file cuts into the same chunks and deduplicates.
//
// The gear table and masks are part of the on-disk contract: the same parameters must cut the same
// bytes identically forever, or new versions stop sharing chunks with old ones. Thread-safe
// (immutable after construction).
#pragma once

#include <cstddef>
#include <cstdint>

#include "runtrack/artifacts.h"

namespace runtrack::artifacts {

class FastCdc {
 public:
  // InvalidArgument unless 64 <= min < avg < max <= 64 MiB.
  static Status Validate(const ChunkingOptions& options);
  explicit FastCdc(const ChunkingOptions& options);

  // Length of the chunk that starts at `data`, given `n` available bytes. Only meaningful when
  // n >= max_size() or the data ends at data + n (the last chunk of a file).
  size_t FindCut(const uint8_t* data, size_t n) const;

  size_t min_size() const { return min_; }
  size_t avg_size() const { return avg_; }
  size_t max_size() const { return max_; }

 private:
  size_t min_, avg_, max_;
  uint64_t mask_small_;  // harder to match before avg_: fewer tiny chunks
  uint64_t mask_large_;  // easier to match after avg_: fewer huge chunks
};

}  // namespace runtrack::artifacts
