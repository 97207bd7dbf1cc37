// Catalog::ReadMetricSince / MetricCursorAtEnd: incremental reads of one series for live streams.
//
// A cursor is an arrival ordinal. Stored chunks are append-only (the partly filled last chunk is
// rewritten with the same leading points plus new ones), so the points at ordinals below the
// published count never change and can be read without holding the ingest lock: the published
// record's count bounds what is returned, and a pass committing meanwhile only adds points past it.
// Cost: one record lookup, one seek, and decoding exactly the new points.
#include <algorithm>

#include <fmt/format.h>

#include "catalog/catalog_impl.h"
#include "runtrack/validation.h"
#include "util/validation.h"

namespace runtrack {
using catalog::RunRecord;
using catalog::SeriesState;

namespace {

struct SeriesRef {
  std::shared_ptr<const RunRecord> record;
  const SeriesState* series = nullptr;
};

Result<SeriesRef> FindSeries(const Catalog::Impl& impl, std::string_view run_id, std::string_view metric) {
  RUNTRACK_RETURN_IF_ERROR(ValidateRunId(run_id));
  SeriesRef ref;
  ref.record = impl.Find(run_id);
  if (!ref.record) return Status::NotFound(fmt::format("run {} not found", run_id));
  ref.series = ref.record->FindSeries(metric);
  if (ref.series == nullptr)
    return Status::NotFound(fmt::format("run {} has no metric '{}' (yet)", run_id,
                                        util::IsValidUtf8(metric) ? metric : "<binary>"));
  return ref;
}

}  // namespace

Result<MetricChunk> Catalog::ReadMetricSince(std::string_view run_id, std::string_view metric,
                                             MetricCursor cursor, uint64_t max_points) const {
  RUNTRACK_ASSIGN_OR_RETURN(SeriesRef ref, FindSeries(*impl_, run_id, metric));
  const uint64_t count = ref.series->count;
  const uint64_t end =
      cursor.position <= count ? cursor.position + std::min(count - cursor.position, max_points) : count;
  if (cursor.position > count)
    return Status::FailedPrecondition(fmt::format(
        "cursor at point {} is beyond the end of metric '{}' of run {} ({} points): the series was "
        "re-created; start again from the beginning or from MetricCursorAtEnd",
        cursor.position, ref.series->name, run_id, count));
  MetricChunk chunk;
  RUNTRACK_RETURN_IF_ERROR(impl_->ReadOrdinals(run_id, ref.series->id, cursor.position, end, &chunk.points));
  if (chunk.points.size() != end - cursor.position) {
    if (!impl_->Find(run_id)) return Status::NotFound(fmt::format("run {} was deleted", run_id));
    return Status::Corruption(fmt::format("metric '{}' of run {} holds {} points from {}, expected {}",
                                          ref.series->name, run_id, chunk.points.size(), cursor.position,
                                          end - cursor.position));
  }
  chunk.stages = StageNames(*ref.record);
  chunk.cursor.position = end;
  return chunk;
}

Result<MetricCursor> Catalog::MetricCursorAtEnd(std::string_view run_id, std::string_view metric) const {
  RUNTRACK_ASSIGN_OR_RETURN(SeriesRef ref, FindSeries(*impl_, run_id, metric));
  return MetricCursor{ref.series->count};
}

}  // namespace runtrack
