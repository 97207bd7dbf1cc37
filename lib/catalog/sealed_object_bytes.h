// Where the catalog reads a sealed series' object from: the run's own segments/ folder, or, when
// the file is missing there and CatalogOptions::sealed_objects is set, that source (the team's
// bucket), by byte ranges. Used at the two places a sealed object is opened
// (SegmentReaderCache::Get, the LOD load in catalog_downsample.cpp), so every read path —
// QueryMetrics, DownsampleMetric, ReadMetric, ReadMetricSince, streams — works on a store that
// has the catalog entry but not the file.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "catalog/sealed_series.h"
#include "runtrack/layout.h"
#include "runtrack/sealed_objects.h"
#include "segments/byte_source.h"

namespace runtrack::catalog {

SealedObjectRef MakeSealedObjectRef(std::string_view run_id, uint32_t series, const SealedSegment& segment);

// The object's bytes: the local file when it exists (NotFound from the file is only an error
// when `objects` is null), else a RemoteObjectBytes over `objects`. `*where` names what was
// opened, for messages (the path, or "<path> (missing here) from s3://...").
Result<std::unique_ptr<segments::ByteSource>> OpenSealedBytes(const StoreLayout& layout,
                                                              const SealedObjectSource* objects,
                                                              std::string_view run_id, uint32_t series,
                                                              const SealedSegment& segment, SealedObjectKind kind,
                                                              std::string* where);

// A sealed object read by ranges from a SealedObjectSource. size() is the index entry's size (a
// remote object of another size fails the trailer and footer checks, or is short: Corruption).
// The last kTailBytes are fetched with the first read that touches them and kept: that read is
// SegmentReader::Open's trailer read, so the footer read that follows (a 10^7-point segment's
// footer is ~98 KB) and the coarse LOD levels (stored last) cost no further request. A read
// elsewhere fetches at least kReadAheadBytes from its offset and keeps that window (one per
// object), so reads that walk forward in small pieces — the lazy LOD loader fetches a level one
// 512-bucket block (~115 KB) at a time, a stream pages through a segment — cost one request per
// window instead of one per piece (bench_s3_segments: a cold chart of a 10^7-point series went from
// 21 GETs, 333 ms, to 4 GETs, 30 ms). Memory: at most kTailBytes + kReadAheadBytes per object (reads of a window or more are
// fetched as they are, not kept).
//
// Thread safety: ReadAt may be called from any number of threads at once.
class RemoteObjectBytes final : public segments::ByteSource {
 public:
  static constexpr uint64_t kTailBytes = 256 << 10;
  static constexpr uint64_t kReadAheadBytes = 1 << 20;

  // `objects` must outlive this (the catalog's options hold it for the catalog's life).
  RemoteObjectBytes(const SealedObjectSource* objects, SealedObjectRef ref, SealedObjectKind kind,
                    std::string local_path)
      : objects_(objects), ref_(std::move(ref)), kind_(kind), local_path_(std::move(local_path)) {}

  uint64_t size() const override { return ref_.size_of(kind_); }
  Status ReadAt(uint64_t offset, uint64_t length, std::string* out) const override;

 private:
  Status Fetch(uint64_t offset, uint64_t length, std::string* out) const;

  const SealedObjectSource* objects_;
  SealedObjectRef ref_;
  SealedObjectKind kind_;
  std::string local_path_;
  mutable std::mutex tail_mu_;
  mutable bool tail_loaded_ = false;  // guarded by tail_mu_; tail_ is immutable once set
  mutable std::string tail_;
  mutable std::mutex window_mu_;
  mutable uint64_t window_start_ = 0;  // guarded by window_mu_, as window_
  mutable std::string window_;
};

}  // namespace runtrack::catalog
