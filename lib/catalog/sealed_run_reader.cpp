// SealedRunReader (runtrack/sealed_run.h): a run's chart and stream queries from its sealed
// objects only. The series are opened through the catalog's own code (SegmentReaderCache,
// OpenSealedBytes, segments::OpenLodPyramid) and tables are assembled by the code QueryMetrics
// uses (metric_table_assembly.h), so the checks and the answers are the catalog's.
#include "runtrack/sealed_run.h"

#include <algorithm>
#include <map>
#include <mutex>

#include <fmt/format.h>

#include "catalog/metric_table_assembly.h"
#include "catalog/run_record.h"
#include "catalog/sealed_object_bytes.h"
#include "catalog/sealed_series.h"
#include "catalog/stored_point.h"
#include "runtrack/validation.h"
#include "segments/lod_blocks.h"
#include "util/validation.h"

namespace runtrack {

namespace {

catalog::SealedSegment EntryOf(const SealedObjectRef& ref) {
  catalog::SealedSegment entry;
  entry.point_count = ref.point_count;
  entry.file_size = ref.segment_size;
  entry.footer_crc32c = ref.footer_crc32c;
  entry.lod_size = ref.lod_size;
  return entry;
}

}  // namespace

class SealedRunReader::Impl {
 public:
  struct Series {
    SealedSeriesInfo info;
    catalog::SealedSegment entry;
  };

  StoreLayout layout;
  std::string run_id;
  std::shared_ptr<const SealedObjectSource> objects;
  std::map<uint32_t, Series> series;  // by series id: the catalog's RunRecord::series order
  std::vector<std::string> stages;
  mutable catalog::SegmentReaderCache readers;
  // Pyramids loaded so far (lazily, like the catalog's); a pyramid is never replaced while this
  // reader lives except after damage, so queries may hold pointers under pyramids_mu shared.
  mutable std::mutex pyramids_mu;
  mutable std::map<uint32_t, std::shared_ptr<LodPyramid>> pyramids;

  Impl(const std::filesystem::path& root) : layout(root) {}

  // RunRecord::FindSeries: the first series by id with that name (rank 0's before other streams').
  const Series* Find(std::string_view name) const {
    for (const auto& [id, s] : series)
      if (s.info.metric == name) return &s;
    return nullptr;
  }

  Status ReadOrdinals(const Series& s, uint64_t begin, uint64_t end, std::vector<MetricPoint>* out) const {
    if (begin >= end) return Status::Ok();
    RUNTRACK_ASSIGN_OR_RETURN(auto reader,
                              readers.Get(layout, run_id, s.info.ref.series, s.entry, objects.get()));
    if (out->empty()) return reader->ReadOrdinals(begin, std::min(end, s.entry.point_count), out);
    std::vector<MetricPoint> part;
    RUNTRACK_RETURN_IF_ERROR(reader->ReadOrdinals(begin, std::min(end, s.entry.point_count), &part));
    out->insert(out->end(), part.begin(), part.end());
    return Status::Ok();
  }

  RawPointReader ReaderOf(const Series& s) const {
    return [this, &s](uint64_t b, uint64_t e, std::vector<MetricPoint>* out) { return ReadOrdinals(s, b, e, out); };
  }

  // The series' pyramid: from its LOD object (lazily), else rebuilt from the segment's points,
  // exactly as Catalog::Impl::BuildPyramid does for a sealed series.
  Result<std::shared_ptr<LodPyramid>> Pyramid(const Series& s) const {
    std::lock_guard lock(pyramids_mu);
    auto it = pyramids.find(s.info.ref.series);
    if (it != pyramids.end()) return it->second;
    std::shared_ptr<LodPyramid> pyramid;
    if (s.entry.lod_size != 0) {
      std::string where;
      auto bytes = catalog::OpenSealedBytes(layout, objects.get(), run_id, s.info.ref.series, s.entry,
                                            SealedObjectKind::kLod, &where);
      if (bytes.ok() && (*bytes)->size() == s.entry.lod_size) {
        auto opened = segments::OpenLodPyramid(std::shared_ptr<const segments::ByteSource>(std::move(bytes).value()),
                                               ReaderOf(s));
        if (opened.ok() && opened->count() == s.entry.point_count)
          pyramid = std::make_shared<LodPyramid>(std::move(opened).value());
      }
    }
    if (!pyramid) {
      // No usable LOD object: the points themselves, in the catalog's batches.
      pyramid = std::make_shared<LodPyramid>();
      constexpr uint64_t kBatch = 64 * catalog::kChunkPoints;
      std::vector<MetricPoint> points;
      for (uint64_t begin = 0; begin < s.entry.point_count; begin += kBatch) {
        points.clear();
        const uint64_t end = std::min(s.entry.point_count, begin + kBatch);
        RUNTRACK_RETURN_IF_ERROR(ReadOrdinals(s, begin, end, &points));
        if (points.size() != end - begin)
          return Status::Corruption(fmt::format("series '{}' of run {} holds {} points, expected {}", s.info.metric,
                                                run_id, begin + points.size(), s.entry.point_count));
        pyramid->Append(points);
      }
    }
    pyramids[s.info.ref.series] = pyramid;
    return pyramid;
  }

  // A lazily loaded block that could be neither read nor rebuilt made an answer wrong: the answer
  // is dropped, and so is the pyramid (the next query starts from the LOD object again).
  Status CheckLoaded(const Series& s, const LodPyramid& pyramid) const {
    Status damage = pyramid.load_status();
    if (damage.ok()) return damage;
    std::lock_guard lock(pyramids_mu);
    auto it = pyramids.find(s.info.ref.series);
    if (it != pyramids.end() && it->second.get() == &pyramid) pyramids.erase(it);
    return damage;
  }

  Result<const Series*> FindForStream(std::string_view metric) const {
    const Series* s = Find(metric);
    if (s == nullptr)
      return Status::NotFound(fmt::format("run {} has no metric '{}' (yet)", run_id,
                                          util::IsValidUtf8(metric) ? metric : "<binary>"));
    return s;
  }
};

SealedRunReader::SealedRunReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SealedRunReader::~SealedRunReader() = default;

Result<std::unique_ptr<SealedRunReader>> SealedRunReader::Open(const std::filesystem::path& root, std::string run_id,
                                                               std::vector<SealedSeriesInfo> series,
                                                               std::shared_ptr<const SealedObjectSource> objects) {
  RUNTRACK_RETURN_IF_ERROR(ValidateRunId(run_id));
  if (series.empty()) return Status::NotFound(fmt::format("run {} has no sealed series", run_id));
  auto impl = std::make_unique<Impl>(root);
  impl->run_id = run_id;
  impl->objects = std::move(objects);
  for (SealedSeriesInfo& info : series) {
    if (info.ref.run_id != run_id)
      return Status::InvalidArgument(fmt::format("series of run {} listed for run {}", info.ref.run_id, run_id));
    const uint32_t id = info.ref.series;
    Impl::Series s{std::move(info), {}};
    s.entry = EntryOf(s.info.ref);
    if (!impl->series.emplace(id, std::move(s)).second)
      return Status::InvalidArgument(fmt::format("series {} of run {} listed twice", id, run_id));
  }
  // The stage names: each segment's dictionary is the run's stage names when it was sealed, padded
  // with "" for ids no record named; the run's are the longest one without that padding.
  for (const auto& [id, s] : impl->series) {
    RUNTRACK_ASSIGN_OR_RETURN(auto reader,
                              impl->readers.Get(impl->layout, run_id, id, s.entry, impl->objects.get()));
    if (reader->info().series_name != s.info.metric)
      return Status::Corruption(fmt::format("segment of series {} of run {} holds metric '{}', the index says '{}'",
                                            id, run_id,
                                            util::IsValidUtf8(reader->info().series_name) ? reader->info().series_name
                                                                                           : "<binary>",
                                            util::IsValidUtf8(s.info.metric) ? s.info.metric : "<binary>"));
    const std::vector<std::string>& dictionary = reader->info().stages;
    if (dictionary.size() > impl->stages.size()) impl->stages = dictionary;
  }
  while (impl->stages.size() > 1 && impl->stages.back().empty()) impl->stages.pop_back();
  if (impl->stages.empty()) impl->stages.push_back("");
  return std::unique_ptr<SealedRunReader>(new SealedRunReader(std::move(impl)));
}

const std::vector<std::string>& SealedRunReader::stages() const { return impl_->stages; }

Result<MetricTable> SealedRunReader::QueryMetrics(const MetricQuery& query, const MetricReadProgress& progress) const {
  RUNTRACK_RETURN_IF_ERROR(catalog::CheckMetricQuery(query));
  MetricTable table;
  // Catalog::QueryMetrics' ResolveSeries over the index's series.
  std::vector<const Impl::Series*> chosen;
  if (query.metrics.empty()) {
    for (const auto& [id, s] : impl_->series)
      if (catalog::StreamOrdinalOf(id) == 0 || impl_->Find(s.info.metric) == &s) chosen.push_back(&s);
    std::sort(chosen.begin(), chosen.end(),
              [](const Impl::Series* a, const Impl::Series* b) { return a->info.metric < b->info.metric; });
  } else {
    for (const std::string& name : query.metrics) {
      const Impl::Series* s = impl_->Find(name);
      if (s == nullptr) {
        if (std::find(table.missing_metrics.begin(), table.missing_metrics.end(), name) == table.missing_metrics.end())
          table.missing_metrics.push_back(name);
      } else if (std::find(chosen.begin(), chosen.end(), s) == chosen.end()) {
        chosen.push_back(s);
      }
    }
  }
  std::vector<std::shared_ptr<LodPyramid>> held;  // kept alive while the table is assembled
  std::vector<catalog::TableSeries> series;
  for (const Impl::Series* s : chosen) {
    RUNTRACK_ASSIGN_OR_RETURN(auto pyramid, impl_->Pyramid(*s));
    series.push_back({s->info.metric, pyramid.get(), impl_->ReaderOf(*s)});
    held.push_back(std::move(pyramid));
  }
  RUNTRACK_RETURN_IF_ERROR(catalog::AssembleMetricTable(series, impl_->stages, query, progress, &table));
  for (size_t i = 0; i < chosen.size(); ++i) RUNTRACK_RETURN_IF_ERROR(impl_->CheckLoaded(*chosen[i], *held[i]));
  return table;
}

Result<MetricChunk> SealedRunReader::ReadMetricSince(std::string_view metric, MetricCursor cursor,
                                                     uint64_t max_points) const {
  RUNTRACK_ASSIGN_OR_RETURN(const Impl::Series* s, impl_->FindForStream(metric));
  const uint64_t count = s->entry.point_count;
  if (cursor.position > count)
    return Status::FailedPrecondition(fmt::format(
        "cursor at point {} is beyond the end of metric '{}' of run {} ({} points): the series was "
        "re-created; start again from the beginning or from MetricCursorAtEnd",
        cursor.position, s->info.metric, impl_->run_id, count));
  const uint64_t end = cursor.position + std::min(count - cursor.position, max_points);
  MetricChunk chunk;
  RUNTRACK_RETURN_IF_ERROR(impl_->ReadOrdinals(*s, cursor.position, end, &chunk.points));
  if (chunk.points.size() != end - cursor.position)
    return Status::Corruption(fmt::format("metric '{}' of run {} holds {} points from {}, expected {}", s->info.metric,
                                          impl_->run_id, chunk.points.size(), cursor.position, end - cursor.position));
  chunk.stages = impl_->stages;
  chunk.cursor.position = end;
  return chunk;
}

Result<MetricCursor> SealedRunReader::MetricCursorAtEnd(std::string_view metric) const {
  RUNTRACK_ASSIGN_OR_RETURN(const Impl::Series* s, impl_->FindForStream(metric));
  return MetricCursor{s->entry.point_count};
}

}  // namespace runtrack
