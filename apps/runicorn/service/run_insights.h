// Read-side use cases Runicorn's UI asks for beyond listing and charts: the artifacts a run made
// and used, the run behind an artifact (training metrics, performance history), the SDK's
// environment capture, a run's progress, the analytics overview and a liveness re-check.
//
// Thread safety: every method may run concurrently with any other.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "runtrack/artifacts.h"
#include "runtrack/catalog.h"
#include "runtrack/layout.h"
#include "service/artifact_service.h"
#include "service/run_folder_files.h"
#include "service/storage.h"

namespace runicorn::service {

struct RunArtifacts {
  // Versions that still exist; a reference to a permanently deleted version is left out.
  std::vector<runtrack::ArtifactVersionInfo> created, used;
};

// The run that produced an artifact version (GET /api/artifacts/{name}/training-metrics).
struct TrainingRun {
  runtrack::RunDetail run;
  double artifact_created_at = 0;
};

struct VersionPerformance {
  runtrack::ArtifactVersionInfo version;
  runtrack::RunDetail run;  // the producing run
};

struct EnvironmentCapture {
  bool available = false;
  boost::json::object environment;  // environment.json as the SDK wrote it (non-finite -> null)
};

struct AnalyticsOverview {
  uint64_t total_runs = 0;     // soft-deleted ones included
  uint64_t active_runs = 0;    // not soft-deleted
  uint64_t deleted_runs = 0;
  uint64_t running_runs = 0;
  uint64_t finished_runs = 0, ended_runs = 0;  // ended: finished, failed or interrupted
  double total_duration_seconds = 0;           // over ended runs with an end time
  uint64_t timed_runs = 0;
  uint64_t metric_points = 0;
  uint64_t store_bytes = 0;    // every regular file under the store root
  uint64_t catalog_bytes = 0;  // the RocksDB catalog's files
  double query_ms = 0;         // how long listing the runs took for this overview
};

struct StatusCheck {
  uint64_t checked = 0;  // runs that were running before the check
  uint64_t updated = 0;  // of those, how many are no longer running
};

// The catalog's LOD pyramid cache (the charts' cache), for /api/health and /api/metrics/cache/stats.
struct CacheStats {
  bool enabled = false;
  uint64_t size = 0, hits = 0, misses = 0;
};

// What only the store's indexer can do; attached by the process that holds the catalog.
class CatalogMaintenance {
 public:
  virtual ~CatalogMaintenance() = default;
  // Re-reads every journal now and marks runs whose writer died (what the indexer does in the
  // background).
  virtual runtrack::Status Recheck() = 0;
  virtual CacheStats Cache() const = 0;
};

class RunInsights {
 public:
  RunInsights(const RunCatalog& runs, ArtifactService& artifacts, const runtrack::StoreLayout& layout)
      : runs_(runs), artifacts_(artifacts), layout_(layout), folders_(layout) {}

  // With a shared back end: the environment of a run whose folder is not on this disk is read from
  // what its replica published (RunFileSource), byte-identical to the owner's answer. Set before
  // serving.
  void UseRemoteFiles(std::shared_ptr<const RunFileSource> files) { folders_.UseRemoteFiles(std::move(files)); }

  // NotFound "Run not found" / InvalidArgument for a malformed id, as RunService::Get.
  runtrack::Result<RunArtifacts> Artifacts(const std::string& run_id) const;
  // `version` unset: the latest version. nullopt when the version names no run the catalog knows.
  runtrack::Result<std::optional<TrainingRun>> TrainingMetrics(const std::string& name, std::optional<int> version,
                                                               std::optional<runtrack::ArtifactType> type) const;
  // Every ready version whose producing run the catalog knows, oldest first.
  runtrack::Result<std::vector<VersionPerformance>> PerformanceHistory(
      const std::string& name, std::optional<runtrack::ArtifactType> type) const;
  // The run must exist; available=false when it has no (readable) environment.json: none, a link,
  // larger than kMaxEnvironmentBytes, not a JSON object — and, for another replica's run, while
  // it is live or not published yet (FailedPrecondition from the source: what this replica
  // answered before it could read the bucket). A damaged object (Corruption) or PostgreSQL down
  // (Busy) is an error.
  runtrack::Result<EnvironmentCapture> Environment(const std::string& run_id) const;
  // environment.json is written by Runicorn's SDK (a few KiB of pip freeze); anything far larger
  // is not one, and is not worth reading into a response.
  static constexpr uint64_t kMaxEnvironmentBytes = 16u << 20;
  runtrack::Result<runtrack::RunDetail> Progress(const std::string& run_id) const;
  runtrack::Result<AnalyticsOverview> Overview() const;
  // FailedPrecondition when no maintenance is attached (a CLI process without the catalog).
  runtrack::Result<StatusCheck> CheckStatus(CatalogMaintenance* maintenance) const;

 private:
  runtrack::Result<runtrack::RunDetail> GetRun(const std::string& run_id) const;

  const RunCatalog& runs_;
  ArtifactService& artifacts_;
  const runtrack::StoreLayout& layout_;
  RunFolderFiles folders_;
};

}  // namespace runicorn::service
