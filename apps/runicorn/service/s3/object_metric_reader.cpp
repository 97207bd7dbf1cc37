#include "service/s3/object_metric_reader.h"

#include <fmt/format.h>

#include "runtrack/validation.h"

namespace runicorn::service::s3 {

using runtrack::Result;
using runtrack::SealedObjectKind;
using runtrack::Status;
using runtrack::StatusCode;

bool ObjectMetricReader::HeldHere(std::string_view run_id) const {
  auto held = local_runs_.GetRun(run_id);
  return held.ok() || held.status().code() != StatusCode::kNotFound;
}

Result<std::shared_ptr<const runtrack::SealedRunReader>> ObjectMetricReader::Remote(std::string_view run_id) const {
  RUNTRACK_RETURN_IF_ERROR(runtrack::ValidateRunId(run_id));
  auto indexed = index_->ReadRun(run_id);
  if (!indexed.ok()) {
    if (indexed.status().code() == StatusCode::kIOError)
      return Status::Busy(fmt::format("the segment index (PostgreSQL) is unavailable, retry later: {}",
                                      indexed.status().message()));
    return indexed.status();
  }
  if (indexed->status == runtrack::RunStatus::kRunning)
    return Status::FailedPrecondition(fmt::format(
        "run {} is live on the replica that owns it: its newest points are only on that replica's disk, so its "
        "metrics are served there until it ends and is sealed",
        run_id));
  if (indexed->series.empty())
    return Status::FailedPrecondition(fmt::format(
        "run {} is held by another replica and none of its series is in the bucket yet (it is published within "
        "seconds of being sealed); retry later or ask that replica",
        run_id));
  // A key read back from the index is never used: it must be the one this bucket derives.
  for (const IndexedSegment& row : indexed->series) {
    const std::string lod_key = row.info.ref.lod_size == 0 ? "" : objects_->KeyOf(row.info.ref, SealedObjectKind::kLod);
    if (row.segment_key != objects_->KeyOf(row.info.ref, SealedObjectKind::kSegment) || row.lod_key != lod_key)
      return Status::FailedPrecondition(fmt::format(
          "run {} was published to another bucket or prefix ({}), not this viewer's --objects", run_id,
          row.segment_key));
  }
  const std::string id(run_id);
  {
    std::lock_guard lock(mu_);
    auto it = open_.find(id);
    if (it != open_.end() && it->second.rows == indexed->series) {
      lru_.splice(lru_.begin(), lru_, it->second.use);
      return it->second.reader;
    }
  }
  // Opened outside the lock (range GETs): two queries may both open it; the later one is kept.
  std::vector<runtrack::SealedSeriesInfo> series;
  for (const IndexedSegment& row : indexed->series) series.push_back(row.info);
  RUNTRACK_ASSIGN_OR_RETURN(std::shared_ptr<const runtrack::SealedRunReader> reader,
                            runtrack::SealedRunReader::Open(root_, id, std::move(series), source_));
  std::lock_guard lock(mu_);
  if (auto it = open_.find(id); it != open_.end()) {
    lru_.erase(it->second.use);
    open_.erase(it);
  }
  lru_.push_front(id);
  open_[id] = Open{std::move(indexed->series), reader, lru_.begin()};
  while (open_.size() > kMaxOpenRuns) {
    open_.erase(lru_.back());
    lru_.pop_back();
  }
  return reader;
}

Result<runtrack::MetricTable> ObjectMetricReader::QueryMetrics(std::string_view run_id,
                                                               const runtrack::MetricQuery& query,
                                                               const runtrack::MetricReadProgress& progress) const {
  auto table = local_.QueryMetrics(run_id, query, progress);
  if (table.ok() || table.status().code() != StatusCode::kNotFound || HeldHere(run_id)) return table;
  RUNTRACK_ASSIGN_OR_RETURN(auto reader, Remote(run_id));
  return reader->QueryMetrics(query, progress);
}

Result<runtrack::MetricChunk> ObjectMetricReader::ReadMetricSince(std::string_view run_id, std::string_view metric,
                                                                  runtrack::MetricCursor cursor,
                                                                  uint64_t max_points) const {
  auto chunk = local_.ReadMetricSince(run_id, metric, cursor, max_points);
  if (chunk.ok() || chunk.status().code() != StatusCode::kNotFound || HeldHere(run_id)) return chunk;
  RUNTRACK_ASSIGN_OR_RETURN(auto reader, Remote(run_id));
  return reader->ReadMetricSince(metric, cursor, max_points);
}

Result<runtrack::MetricCursor> ObjectMetricReader::MetricCursorAtEnd(std::string_view run_id,
                                                                     std::string_view metric) const {
  auto cursor = local_.MetricCursorAtEnd(run_id, metric);
  if (cursor.ok() || cursor.status().code() != StatusCode::kNotFound || HeldHere(run_id)) return cursor;
  RUNTRACK_ASSIGN_OR_RETURN(auto reader, Remote(run_id));
  return reader->MetricCursorAtEnd(metric);
}

// A multi-process run's per-stream views need its stream table, which only the owner's catalog
// has: a run held elsewhere says so instead of answering with rank 0 alone.
Result<std::vector<runtrack::RunStreamInfo>> ObjectMetricReader::ListStreams(std::string_view run_id) const {
  auto streams = local_.ListStreams(run_id);
  if (streams.ok() || streams.status().code() != StatusCode::kNotFound || HeldHere(run_id)) return streams;
  RUNTRACK_RETURN_IF_ERROR(Remote(run_id).status());
  return Status::FailedPrecondition(
      fmt::format("run {} is held by another replica; its per-process streams are listed there", run_id));
}

Result<std::vector<runtrack::StreamPoints>> ObjectMetricReader::ReadMetricStreams(std::string_view run_id,
                                                                                  std::string_view metric) const {
  auto points = local_.ReadMetricStreams(run_id, metric);
  if (points.ok() || points.status().code() != StatusCode::kNotFound || HeldHere(run_id)) return points;
  RUNTRACK_RETURN_IF_ERROR(Remote(run_id).status());
  return Status::FailedPrecondition(
      fmt::format("run {} is held by another replica; its per-process streams are read there", run_id));
}

}  // namespace runicorn::service::s3
