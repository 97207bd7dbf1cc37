// The narrow storage interfaces the services are written against. The embedded back end (RocksDB
// catalog + artifact files, embedded_storage.h) implements them today; a second back end
// (PostgreSQL + object storage) implements the same three without touching a service or handler.
//
// Thread safety: implementations must allow every method from any number of threads at once.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtrack/artifacts.h"
#include "runtrack/catalog.h"
#include "runtrack/metric_query.h"
#include "runtrack/status.h"

namespace runicorn::service {

// The run index: listing, detail, text logs and the run lifecycle. Ids reaching it are validated.
class RunCatalog {
 public:
  virtual ~RunCatalog() = default;
  virtual runtrack::Result<runtrack::RunPage> ListRuns(const runtrack::RunQuery& query) const = 0;
  virtual runtrack::Result<runtrack::RunDetail> GetRun(std::string_view run_id) const = 0;
  virtual runtrack::Result<std::string> ReadLog(std::string_view run_id, uint64_t offset) const = 0;
  virtual runtrack::Status SoftDelete(std::string_view run_id) = 0;
  virtual runtrack::Status Restore(std::string_view run_id) = 0;
  virtual runtrack::Status PermanentDelete(std::string_view run_id) = 0;
  // Files the run's folder holds (journal, lock, media/...), symlinks not followed.
  virtual runtrack::Result<uint64_t> CountRunFiles(std::string_view run_id) const = 0;
};

// Metric points: chart queries answered from one snapshot (see runtrack/metric_query.h), and
// incremental reads for live streams whose cost grows with the new points only.
class MetricReader {
 public:
  virtual ~MetricReader() = default;
  virtual runtrack::Result<runtrack::MetricTable> QueryMetrics(std::string_view run_id,
                                                               const runtrack::MetricQuery& query,
                                                               const runtrack::MetricReadProgress& progress) const = 0;
  // At most `max_points` points (see Catalog::ReadMetricSince).
  virtual runtrack::Result<runtrack::MetricChunk> ReadMetricSince(std::string_view run_id, std::string_view metric,
                                                                  runtrack::MetricCursor cursor,
                                                                  uint64_t max_points) const = 0;
  virtual runtrack::Result<runtrack::MetricCursor> MetricCursorAtEnd(std::string_view run_id,
                                                                     std::string_view metric) const = 0;
  // A multi-process run's streams and one metric's points per stream (docs/REMOTE.md "Streams").
  // Back ends without streams answer FailedPrecondition.
  virtual runtrack::Result<std::vector<runtrack::RunStreamInfo>> ListStreams(std::string_view) const {
    return runtrack::Status::FailedPrecondition("this catalog back end has no per-process streams");
  }
  virtual runtrack::Result<std::vector<runtrack::StreamPoints>> ReadMetricStreams(std::string_view,
                                                                                  std::string_view) const {
    return runtrack::Status::FailedPrecondition("this catalog back end has no per-process streams");
  }
};

// Artifact versions, their files, aliases, lineage and chunk collection. Names reaching it are
// validated.
class ArtifactRepository {
 public:
  virtual ~ArtifactRepository() = default;
  virtual runtrack::Result<std::vector<runtrack::ArtifactSummary>> ListArtifacts(
      std::optional<runtrack::ArtifactType> type) = 0;
  virtual runtrack::Result<runtrack::ArtifactStats> Stats() = 0;
  virtual runtrack::Result<std::vector<runtrack::ArtifactVersionInfo>> ListVersions(std::string_view name,
                                                                                   bool include_deleted) = 0;
  virtual runtrack::Result<runtrack::ArtifactVersionInfo> GetVersion(std::string_view name, int version) = 0;
  virtual runtrack::Result<runtrack::ArtifactFileList> ListFiles(std::string_view name, int version) = 0;
  // Resolves a spec ("name", "name:vN", "name:alias") without recording lineage.
  virtual runtrack::Result<runtrack::ArtifactHandle> Resolve(std::string_view spec) = 0;
  virtual runtrack::Result<runtrack::LineageGraph> Lineage(std::string_view name, int version, int max_depth) = 0;
  virtual runtrack::Status Delete(std::string_view name, int version, runtrack::DeleteMode mode) = 0;
  virtual runtrack::Status Restore(std::string_view name, int version) = 0;
  virtual runtrack::Result<std::map<std::string, int>> Aliases(std::string_view name) = 0;
  virtual runtrack::Status SetAlias(std::string_view name, std::string_view alias, int version) = 0;
  virtual runtrack::Status RemoveAlias(std::string_view name, std::string_view alias) = 0;
  virtual runtrack::Result<runtrack::GcReport> Gc(std::chrono::seconds grace,
                                                  const runtrack::ProgressCallback& progress) = 0;
};

}  // namespace runicorn::service
