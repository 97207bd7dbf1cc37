#include <fmt/format.h>
#include <rocksdb/iterator.h>

#include "catalog/catalog_impl.h"
#include "catalog/keys.h"
#include "catalog/stored_point.h"
#include "metrics/downsample.h"
#include "util/validation.h"

namespace runtrack {
using catalog::kChunkPoints;

Status Catalog::Impl::ReadOrdinals(std::string_view run_id, uint32_t series, uint64_t begin, uint64_t end,
                                   std::vector<MetricPoint>* out) const {
  if (begin >= end) return Status::Ok();
  std::string upper_key = catalog::PrefixEnd(catalog::SeriesPrefix(run_id, series));
  rocksdb::Slice upper(upper_key);
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(ro));
  auto first_chunk = static_cast<uint32_t>(begin / kChunkPoints);
  uint64_t ordinal = uint64_t{first_chunk} * kChunkPoints;
  std::vector<MetricPoint> chunk;
  for (it->Seek(catalog::ChunkKey(run_id, series, first_chunk)); it->Valid() && ordinal < end; it->Next()) {
    chunk.clear();
    catalog::DecodeChunk(it->value().ToStringView(), &chunk);
    for (const MetricPoint& p : chunk) {
      if (ordinal >= begin && ordinal < end) out->push_back(p);
      ++ordinal;
    }
  }
  return RocksStatus(it->status(), "read metric chunks");
}

namespace {

// Builds the pyramid of a series from its stored points. Requires lod_mu held exclusively, so no
// ingest pass commits between reading the published count and the chunks.
Result<LodPyramid*> BuildPyramid(const Catalog::Impl& impl, const std::string& run_id, uint32_t series) {
  auto record = impl.Find(run_id);
  if (!record) return Status::NotFound(fmt::format("run {} not found", run_id));
  auto it = record->series.find(series);
  if (it == record->series.end()) return Status::NotFound("series vanished");
  auto pyramid = std::make_unique<LodPyramid>();
  constexpr uint64_t kBatch = 64 * kChunkPoints;
  std::vector<MetricPoint> points;
  for (uint64_t begin = 0; begin < it->second.count; begin += kBatch) {
    points.clear();
    uint64_t end = std::min(it->second.count, begin + kBatch);
    RUNTRACK_RETURN_IF_ERROR(impl.ReadOrdinals(run_id, series, begin, end, &points));
    if (points.size() != end - begin)
      return Status::Corruption(fmt::format("series {} of run {} holds {} points, expected {}", series,
                                            run_id, begin + points.size(), it->second.count));
    pyramid->Append(points);
  }
  LodPyramid* raw = pyramid.get();
  impl.pyramids[{run_id, series}] = std::move(pyramid);
  return raw;
}

}  // namespace

Result<DownsampleResult> Catalog::DownsampleMetric(std::string_view run_id, std::string_view metric,
                                                   const DownsampleOptions& options) const {
  RUNTRACK_RETURN_IF_ERROR(util::CheckRunId(run_id));
  auto record = impl_->Find(run_id);
  if (!record) return Status::NotFound(fmt::format("run {} not found", run_id));
  const catalog::SeriesState* series = record->FindSeries(metric);
  if (series == nullptr)
    return Status::NotFound(fmt::format("run {} has no metric '{}'", run_id,
                                        util::IsValidUtf8(metric) ? metric : "<binary>"));
  const std::pair<std::string, uint32_t> key{std::string(run_id), series->id};
  {
    std::shared_lock lod(impl_->lod_mu);
    auto it = impl_->pyramids.find(key);
    if (it != impl_->pyramids.end()) {
      return Downsample(*it->second, [&](uint64_t b, uint64_t e, std::vector<MetricPoint>* out) {
        return impl_->ReadOrdinals(run_id, key.second, b, e, out);
      }, options);
    }
  }
  {
    std::unique_lock lod(impl_->lod_mu);
    if (impl_->pyramids.find(key) == impl_->pyramids.end())
      RUNTRACK_RETURN_IF_ERROR(BuildPyramid(*impl_, key.first, key.second).status());
  }
  return DownsampleMetric(run_id, metric, options);  // now served under the shared lock
}

}  // namespace runtrack
