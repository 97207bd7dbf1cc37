#include <algorithm>

#include <fmt/format.h>
#include <rocksdb/db.h>
#include <rocksdb/iterator.h>

#include "catalog/catalog_impl.h"
#include "catalog/keys.h"
#include "catalog/sealed_object_bytes.h"
#include "catalog/stored_point.h"
#include "metrics/downsample.h"
#include "segments/byte_source.h"
#include "segments/lod_blocks.h"
#include "util/validation.h"

namespace runtrack {
using catalog::kChunkPoints;

namespace {

// Appends the records of ordinals [begin, end) held by one stored chunk that starts at ordinal
// `first`; decodes only those, so reading a few new points of a full chunk stays cheap.
void TakeFromChunk(std::string_view data, uint64_t first, uint64_t begin, uint64_t end,
                   std::vector<MetricPoint>* out) {
  const uint64_t stored = data.size() / catalog::kStoredPointSize;
  const uint64_t from = begin > first ? std::min(stored, begin - first) : 0;
  const uint64_t to = end > first ? std::min(stored, end - first) : 0;
  if (from < to)
    catalog::DecodeChunk(data.substr(from * catalog::kStoredPointSize, (to - from) * catalog::kStoredPointSize), out);
}

// Appends points [begin, end) of a series from its stored chunks in RocksDB.
Status ReadStoredChunks(rocksdb::DB* db, std::string_view run_id, uint32_t series, uint64_t begin, uint64_t end,
                        std::vector<MetricPoint>* out) {
  if (begin >= end) return Status::Ok();
  auto first_chunk = static_cast<uint32_t>(begin / kChunkPoints);
  auto last_chunk = static_cast<uint32_t>((end - 1) / kChunkPoints);
  out->reserve(out->size() + (end - begin));
  if (last_chunk - first_chunk < 2) {
    // A point lookup stops at the newest place holding the key (the memtable, for a tail chunk
    // just rewritten), while an iterator positions itself in every sorted run of the database; so
    // short reads (live streams, the edges of a downsampling range) cost the same in any database.
    rocksdb::PinnableSlice data;
    for (uint32_t chunk = first_chunk; chunk <= last_chunk; ++chunk) {
      data.Reset();
      rocksdb::Status s = db->Get(rocksdb::ReadOptions(), db->DefaultColumnFamily(),
                                  catalog::ChunkKey(run_id, series, chunk), &data);
      if (s.IsNotFound()) break;  // the caller sees fewer points than it asked for
      RUNTRACK_RETURN_IF_ERROR(RocksStatus(s, "read metric chunk"));
      TakeFromChunk(data.ToStringView(), uint64_t{chunk} * kChunkPoints, begin, end, out);
    }
    return Status::Ok();
  }
  std::string upper_key = catalog::PrefixEnd(catalog::SeriesPrefix(run_id, series));
  rocksdb::Slice upper(upper_key);
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(ro));
  uint64_t ordinal = uint64_t{first_chunk} * kChunkPoints;
  for (it->Seek(catalog::ChunkKey(run_id, series, first_chunk)); it->Valid() && ordinal < end; it->Next()) {
    std::string_view data = it->value().ToStringView();
    TakeFromChunk(data, ordinal, begin, end, out);
    ordinal += data.size() / catalog::kStoredPointSize;
  }
  return RocksStatus(it->status(), "read metric chunks");
}

}  // namespace

// Ordinals below a sealed series' point_count come from its segment, the rest (a sealed run
// that got more points) from stored chunks. The record is looked up at call time, not taken
// from the caller: a run sealed since the caller found it has no stored chunks any more, so a
// short read is retried once against the newly published record.
Status Catalog::Impl::ReadOrdinals(std::string_view run_id, uint32_t series, uint64_t begin, uint64_t end,
                                   std::vector<MetricPoint>* out) const {
  if (begin >= end) return Status::Ok();
  const size_t before = out->size();
  std::optional<catalog::SealedSegment> seen;
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::shared_ptr<const catalog::RunRecord> record = Find(run_id);
    const catalog::SealedSegment* sealed = record ? record->FindSealed(series) : nullptr;
    if (attempt == 1 && (sealed ? std::optional(*sealed) : std::nullopt) == seen) break;  // nothing changed
    seen = sealed ? std::optional(*sealed) : std::nullopt;
    out->resize(before);
    uint64_t split = begin;
    if (sealed != nullptr && begin < sealed->end_ordinal()) {
      split = std::min(end, sealed->end_ordinal());
      RUNTRACK_ASSIGN_OR_RETURN(auto reader, segment_readers.Get(layout(), run_id, series, *sealed,
                                                                     options.sealed_objects.get()));
      if (out->empty()) {
        RUNTRACK_RETURN_IF_ERROR(reader->ReadOrdinals(begin, split, out));  // decoded in place
      } else {
        std::vector<MetricPoint> part;
        RUNTRACK_RETURN_IF_ERROR(reader->ReadOrdinals(begin, split, &part));
        out->insert(out->end(), part.begin(), part.end());
      }
    }
    RUNTRACK_RETURN_IF_ERROR(ReadStoredChunks(db.get(), run_id, series, split, end, out));
    if (out->size() - before == end - begin) break;
  }
  return Status::Ok();
}

// Opens a sealed series' LOD object, checked against the size its index entry recorded: the local
// file, or from `objects` (CatalogOptions::sealed_objects) when the file is missing here. The one
// place a LOD object is opened.
static Result<std::shared_ptr<const segments::ByteSource>> OpenLodObject(const StoreLayout& layout,
                                                                         const SealedObjectSource* objects,
                                                                         std::string_view run_id, uint32_t series,
                                                                         const catalog::SealedSegment& sealed) {
  std::string where;
  RUNTRACK_ASSIGN_OR_RETURN(std::unique_ptr<segments::ByteSource> bytes,
                            catalog::OpenSealedBytes(layout, objects, run_id, series, sealed, SealedObjectKind::kLod, &where));
  if (bytes->size() != sealed.lod_size) {
    return Status::Corruption(fmt::format("LOD object {} has {} bytes, its index entry says {}", where, bytes->size(),
                                          sealed.lod_size));
  }
  return std::shared_ptr<const segments::ByteSource>(std::move(bytes));
}

// The pyramid of a sealed series from its LOD object, loaded lazily: the footer and the coarse
// levels now, other blocks when a query first touches them (a damaged block is then rebuilt from
// the segment's points). nullopt when there is no LOD object or what is read now cannot be used
// (damaged, other constants, another count), and the caller rebuilds from the points.
static std::optional<LodPyramid> LoadSealedPyramid(const Catalog::Impl& impl, const std::string& run_id,
                                                   uint32_t series, const catalog::SealedSegment& sealed) {
  if (sealed.lod_size == 0) return std::nullopt;
  auto source = OpenLodObject(impl.layout(), impl.options.sealed_objects.get(), run_id, series, sealed);
  if (!source.ok()) return std::nullopt;
  // Only the sealed ordinals: a damaged block never covers points appended after sealing.
  LodPointReader from_segment = [&impl, run_id, series](uint64_t b, uint64_t e, std::vector<MetricPoint>* out) {
    return impl.ReadOrdinals(run_id, series, b, e, out);
  };
  auto pyramid = segments::OpenLodPyramid(std::move(source).value(), std::move(from_segment));
  if (!pyramid.ok() || pyramid->count() != sealed.point_count) return std::nullopt;
  return std::move(pyramid).value();
}

// Requires lod_mu held exclusively, so no ingest pass commits between reading the published count
// and the chunks.
Status Catalog::Impl::BuildPyramid(const std::string& run_id, uint32_t series) const {
  if (pyramids.count({run_id, series}) != 0) return Status::Ok();
  auto record = Find(run_id);
  if (!record) return Status::NotFound(fmt::format("run {} not found", run_id));
  auto it = record->series.find(series);
  if (it == record->series.end()) return Status::NotFound("series vanished");
  auto pyramid = std::make_unique<LodPyramid>();
  // A sealed series starts from its persisted LOD object (a few KB per 10^4 points) instead of
  // reading every point; only points past the sealed count are appended.
  uint64_t loaded = 0;
  if (const catalog::SealedSegment* sealed = record->FindSealed(series);
      sealed != nullptr && sealed->point_count <= it->second.count) {
    if (auto restored = LoadSealedPyramid(*this, run_id, series, *sealed)) {
      *pyramid = std::move(*restored);
      loaded = sealed->point_count;
    }
  }
  // Appends the series' points from ordinal `from` up to the published count.
  auto append_points = [&](LodPyramid& into, uint64_t from) -> Status {
    constexpr uint64_t kBatch = 64 * kChunkPoints;
    std::vector<MetricPoint> points;
    for (uint64_t begin = from; begin < it->second.count; begin += kBatch) {
      points.clear();
      uint64_t end = std::min(it->second.count, begin + kBatch);
      RUNTRACK_RETURN_IF_ERROR(ReadOrdinals(run_id, series, begin, end, &points));
      if (points.size() != end - begin)
        return Status::Corruption(fmt::format("series {} of run {} holds {} points, expected {}", series, run_id,
                                              begin + points.size(), it->second.count));
      into.Append(points);
    }
    return Status::Ok();
  };
  RUNTRACK_RETURN_IF_ERROR(append_points(*pyramid, loaded));
  // Appending to a restored pyramid loads all its blocks; one that could not be loaded (nor
  // rebuilt) leaves the pyramid unusable: start over from the points.
  if (!pyramid->load_status().ok()) {
    pyramid = std::make_unique<LodPyramid>();
    RUNTRACK_RETURN_IF_ERROR(append_points(*pyramid, 0));
  }
  pyramids[{run_id, series}] = std::move(pyramid);
  TouchPyramid({run_id, series});
  EvictPyramids(run_id);
  return Status::Ok();
}

void Catalog::Impl::TouchPyramid(const std::pair<std::string, uint32_t>& key) const {
  std::lock_guard lock(lru_mu);
  pyramid_used[key] = ++use_clock;
}

namespace {
// A lazily loaded pyramid counts the blocks it has loaded so far.
uint64_t PyramidBytes(const LodPyramid& pyramid) { return pyramid.memory_bytes(); }
}  // namespace

void Catalog::Impl::EvictPyramids(std::string_view keep_run) const {
  if (options.pyramid_budget_bytes == 0) return;
  uint64_t total = 0;
  for (const auto& [key, pyramid] : pyramids) total += PyramidBytes(*pyramid);
  if (total <= options.pyramid_budget_bytes) return;
  std::lock_guard lock(lru_mu);
  std::erase_if(pyramid_used, [&](const auto& entry) { return pyramids.count(entry.first) == 0; });
  std::vector<std::pair<uint64_t, std::pair<std::string, uint32_t>>> by_age;
  for (const auto& [key, stamp] : pyramid_used)
    if (key.first != keep_run) by_age.emplace_back(stamp, key);
  std::sort(by_age.begin(), by_age.end());
  for (const auto& [stamp, key] : by_age) {
    if (total <= options.pyramid_budget_bytes) break;
    auto it = pyramids.find(key);
    if (it == pyramids.end()) continue;
    total -= std::min(total, PyramidBytes(*it->second));
    pyramids.erase(it);
    pyramid_used.erase(key);
  }
}

PyramidCacheStats Catalog::pyramid_cache_stats() const {
  PyramidCacheStats stats;
  {
    std::shared_lock lod(impl_->lod_mu);
    stats.pyramids = impl_->pyramids.size();
  }
  stats.hits = impl_->pyramid_hits.load(std::memory_order_relaxed);
  stats.misses = impl_->pyramid_misses.load(std::memory_order_relaxed);
  return stats;
}

Result<DownsampleResult> Catalog::DownsampleMetric(std::string_view run_id, std::string_view metric,
                                                   const DownsampleOptions& options) const {
  RUNTRACK_RETURN_IF_ERROR(ValidateRunId(run_id));
  auto record = impl_->Find(run_id);
  if (!record) return Status::NotFound(fmt::format("run {} not found", run_id));
  const catalog::SeriesState* series = record->FindSeries(metric);
  if (series == nullptr)
    return Status::NotFound(fmt::format("run {} has no metric '{}'", run_id,
                                        util::IsValidUtf8(metric) ? metric : "<binary>"));
  const std::pair<std::string, uint32_t> key{std::string(run_id), series->id};
  const LodPyramid* broken = nullptr;
  Status damage;
  {
    std::shared_lock lod(impl_->lod_mu);
    auto it = impl_->pyramids.find(key);
    if (it != impl_->pyramids.end()) {
      impl_->pyramid_hits.fetch_add(1, std::memory_order_relaxed);
      impl_->TouchPyramid(key);
      auto result = Downsample(*it->second, [&](uint64_t b, uint64_t e, std::vector<MetricPoint>* out) {
        return impl_->ReadOrdinals(run_id, key.second, b, e, out);
      }, options);
      // A LOD block that could be neither read nor rebuilt from the segment (damaged there too):
      // the answer must not hide it.
      damage = it->second->load_status();
      if (damage.ok()) return result;
      broken = it->second.get();
    }
  }
  if (broken != nullptr) {
    // Dropped, so the next query starts from the LOD object again: charts from intact blocks work.
    std::unique_lock lod(impl_->lod_mu);
    auto it = impl_->pyramids.find(key);
    if (it != impl_->pyramids.end() && it->second.get() == broken) impl_->pyramids.erase(it);
    return damage;
  }
  impl_->pyramid_misses.fetch_add(1, std::memory_order_relaxed);
  {
    std::unique_lock lod(impl_->lod_mu);
    RUNTRACK_RETURN_IF_ERROR(impl_->BuildPyramid(key.first, key.second));
  }
  return DownsampleMetric(run_id, metric, options);  // now served under the shared lock
}

}  // namespace runtrack
