// Catalog: the indexed, queryable view of a store, kept in RocksDB under <root>/catalog.
//
// The catalog is derived data: everything in it comes from run journals and run folders, so a
// deleted catalog is rebuilt by the next Refresh(). Exactly one process may hold it open (RocksDB
// allows one read-write process); that process is the indexer: it calls Refresh() to ingest new
// journal records (incrementally, from a per-run offset stored atomically with the data it
// produced, so re-ingesting is idempotent) and to mark crashed runs. A second Open() anywhere
// fails with StatusCode::kBusy.
//
// Thread safety: all methods may be called concurrently from any threads. Queries run under a
// shared lock; Refresh() and deletions take it exclusively for one run's worth of work at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/object.hpp>

#include "runtrack/downsample.h"
#include "runtrack/metric_point.h"
#include "runtrack/metric_query.h"
#include "runtrack/run.h"
#include "runtrack/sealed_objects.h"
#include "runtrack/sealed_run.h"
#include "runtrack/status.h"

namespace runtrack {

struct CatalogOptions {
  // Read at most this many journal bytes per run per Refresh() pass, so one huge journal does not
  // hold the catalog lock for long; Refresh() loops until every journal is drained.
  // Refresh() also takes runs in turns of one step each (round robin), so a run that writes fast
  // delays another run's points by one step of each other run, never by a whole backlog.
  uint64_t max_ingest_bytes_per_step = 4u << 20;
  // Memory the LOD pyramids of queried series may keep; past it the least recently used pyramids
  // are dropped (and rebuilt, O(length), when queried again). 0 = unbounded.
  uint64_t pyramid_budget_bytes = 256u << 20;
  // While a Refresh() pass still drains a backlog, runs it already drained are looked at again
  // this often, so a slow writer's new points do not wait for the end of a long pass.
  std::chrono::milliseconds revisit_interval{250};
  // Seal finished runs (docs/FORMATS-segments.md "In the catalog"): once a run's status is final
  // and its journals are read, a background thread moves each series' points out of RocksDB into
  // a compressed segment file plus a LOD object under the run's folder, which queries then read.
  // Started at Open() too, so a store indexed by an older build is upgraded run by run. false:
  // points stay in RocksDB (the pre-segment layout); SealFinishedRuns() still seals on request.
  bool seal_finished_runs = true;
  // Compact the journal of a sealed run (docs/FORMATS.md "Compacted journal"): once its segments
  // are committed, the journal is rewritten without its Points records (the points live in the
  // segments; a rebuilt catalog re-indexes them from there), which is what brings a finished run
  // to a few bytes per point on disk. Only a single-stream run whose journal ends with its own
  // Status record, is undamaged, fully read, not written or received any more and, when this node
  // ships it, fully acknowledged; and only once the journal has not changed for
  // `journal_compaction_delay` (a recent run may still get resends). false: journals stay as
  // written (rebuilding the catalog then also re-creates damaged segments from them).
  bool compact_journals = true;
  std::chrono::seconds journal_compaction_delay{600};
  // When the catalog cannot be opened read-write for lack of space (RocksDB writes a new MANIFEST
  // and WAL on open, so a disk with no byte free refuses it), open it read-only instead of
  // failing: queries answer from what was committed (an empty catalog when none exists yet), and
  // every write (Refresh, Resume, deletions) fails with kBusy; read_only_reason() says why. The
  // holder re-opens it once there is space (the viewer's indexer does). Off by default: a CLI
  // command should rather fail than show a catalog it cannot bring up to date.
  bool read_only_on_full_disk = false;
  // Where sealed segment and LOD objects missing from runs/<id>/segments/ are read from (a team's
  // bucket: docs/SCALE-OUT.md "Sealed segments in the bucket"); null: only the local files. Its
  // bytes are checked like a file's, so it can cause an error but never a wrong point.
  std::shared_ptr<const SealedObjectSource> sealed_objects;
};

// What one SealFinishedRuns() call did.
struct SealReport {
  uint64_t runs_sealed = 0;
  uint64_t series_sealed = 0;
  uint64_t points_sealed = 0;
  // Journals rewritten without their points (CatalogOptions::compact_journals), and the bytes
  // that saved.
  uint64_t journals_compacted = 0;
  uint64_t journal_bytes_removed = 0;
  // Runs that could not be sealed (they stay readable from RocksDB and are retried later).
  uint64_t runs_failed = 0;
  std::string last_error;
};

// Called by Refresh() after each step that ingested something and after each run drained: runs
// drained so far, runs found. Points of the steps so far are visible to queries when it is called.
using RefreshProgress = std::function<void(uint64_t runs_done, uint64_t runs_total)>;

struct ArtifactRef {
  std::string name;
  std::string type;
  int version = 0;
};

// The LOD pyramid cache behind chart queries (QueryMetrics, DownsampleMetric).
struct PyramidCacheStats {
  uint64_t pyramids = 0;  // series whose pyramid is in memory
  // Pyramid lookups by queries since Open(): found, or absent (built, then looked up again, which
  // counts as a hit too).
  uint64_t hits = 0;
  uint64_t misses = 0;
};

// One row of a run listing.
struct RunSummary {
  std::string id;
  std::string project;
  std::string name;
  RunStatus status = RunStatus::kRunning;
  // Why a run ended when it did not finish normally: "process_not_found" (the writer died),
  // "io_error: <reason>" (its journal could not be written, e.g. a full disk),
  // "journal_unreadable: <reason>" (the journal header is damaged or of an unknown format).
  std::string exit_reason;
  double created_at = 0;                   // Unix seconds
  double updated_at = 0;                   // wall time of the newest record ingested
  std::optional<double> ended_at;
  std::optional<double> deleted_at;        // set while the run is soft-deleted
  int64_t pid = 0;
  std::string hostname;
  std::vector<std::string> tags;
  std::string best_metric_name;            // the primary metric; empty when none is set
  std::string best_metric_mode;            // "max" / "min"
  std::optional<double> best_metric_value; // over finite points of the primary metric
  std::optional<int64_t> best_metric_step;
  int artifacts_created_count = 0;
  int artifacts_used_count = 0;
  // Runicorn v0.6's run path and alias (RunOptions); unset / empty for a v0.5 run.
  std::optional<std::string> path;
  std::string alias;
};

struct MetricInfo {
  std::string name;
  uint64_t count = 0;              // points stored, duplicates of a step included
  uint64_t non_finite_count = 0;   // NaN / +-Inf points
  int64_t first_step = 0, last_step = 0;  // of the first and last point logged
  int64_t min_step = 0, max_step = 0;     // smallest and largest step seen
  std::optional<double> min, max;  // over finite values
  double last_value = 0;
};

struct RunDetail {
  RunSummary run;
  boost::json::object config;
  boost::json::object summary;
  std::vector<MetricInfo> metrics;  // sorted by name
  // Names of the stages points were logged with: MetricPoint::stage indexes this ("" at 0).
  std::vector<std::string> stages = {""};
  std::optional<int64_t> min_step, max_step;  // over all metrics
  uint64_t log_bytes = 0;
  std::vector<ArtifactRef> artifacts_created, artifacts_used;
  // Damaged bytes were found in the journal. Ingestion skips them and reads on from the next
  // valid record, so the run keeps everything written after the damage (docs/RELIABILITY.md).
  bool journal_corrupt = false;
  std::optional<uint64_t> journal_corrupt_offset;  // byte offset where the first damage begins
  uint64_t journal_skipped_bytes = 0;              // damaged bytes passed over
};

// Filters are ANDed; an empty/unset filter matches everything.
struct RunQuery {
  std::string project;
  std::string name;
  std::vector<RunStatus> statuses;      // any of
  std::vector<std::string> tags;        // all of
  std::string search;                   // case-insensitive substring of id, project, name or a tag
  std::optional<double> created_after;  // inclusive, Unix seconds
  std::optional<double> created_before; // inclusive
  std::optional<double> best_metric_min;  // inclusive; runs without a best value never match
  std::optional<double> best_metric_max;
  bool include_deleted = false;
  bool deleted_only = false;
  // created_at (default), updated_at, best_metric_value or status; anything else is an error.
  std::string sort_by = "created_at";
  bool descending = true;
  uint64_t offset = 0;
  uint64_t limit = 0;  // 0 = no limit
};

struct RunPage {
  uint64_t total = 0;  // rows matching the filters, before offset/limit
  std::vector<RunSummary> runs;
};

struct IndexReport {
  uint64_t runs_discovered = 0;
  uint64_t runs_updated = 0;
  uint64_t points_ingested = 0;
  uint64_t runs_marked_crashed = 0;
  // Journals found damaged for the first time in this pass (damage skipped, or header unreadable).
  uint64_t corrupt_journals = 0;
  // Runs that could not be indexed this pass (e.g. an unreadable journal); the others still were.
  uint64_t runs_failed = 0;
  std::string last_error;
  // One entry per run that failed: (run id, why).
  std::vector<std::pair<std::string, std::string>> run_errors;
};

// One process of a multi-process run (docs/REMOTE.md "Streams"): stream "0" is rank 0, which
// owns the run's status and summary; the others are ingested from journal.<stream>.
struct RunStreamInfo {
  std::string stream;
  bool ended = false;   // its final record was ingested ("0": the run's status is final)
  uint64_t points = 0;  // points of all its metrics
};
// One stream's points of a metric, in logging order (repeated steps as logged).
struct StreamPoints {
  std::string stream;
  std::vector<MetricPoint> points;
};

class Catalog {
 public:
  // Opens (creating if needed) <root>/catalog and loads the run index. `root` must be a store root
  // (see Store::Open).
  static Result<std::unique_ptr<Catalog>> Open(const std::filesystem::path& root,
                                                const CatalogOptions& options = {});
  ~Catalog();

  const std::filesystem::path& root() const;

  // Ingests every journal's new records and marks crashed runs (lock free, no final status) as
  // failed with exit_reason "process_not_found". A live run is never marked.
  Result<IndexReport> Refresh(const RefreshProgress& progress = {});
  // OK while the files this catalog opened are still its files; FailedPrecondition once its folder
  // was deleted or replaced (the caller re-opens, which rebuilds it from the journals).
  Status CheckFiles() const;
  // After a write failed (e.g. a full disk) RocksDB refuses writes until told to retry; this asks
  // it to, and fails while the cause persists.
  Status Resume();
  // Non-empty when this catalog was opened read-only (CatalogOptions::read_only_on_full_disk):
  // why, e.g. "no space left on device". Fixed for the life of the object.
  const std::string& read_only_reason() const;
  bool read_only() const { return !read_only_reason().empty(); }

  Result<RunPage> ListRuns(const RunQuery& query) const;
  Result<RunDetail> GetRun(std::string_view run_id) const;
  // The run's streams: "0" first, then the others by name (catalog_streams.cpp).
  Result<std::vector<RunStreamInfo>> ListStreams(std::string_view run_id) const;
  // A metric's points per stream that logged it ("0" first, then by name). NotFound when no stream
  // has it. Every other query by metric name reads rank 0's series (another stream's when rank 0
  // never logged that name).
  Result<std::vector<StreamPoints>> ReadMetricStreams(std::string_view run_id, std::string_view metric) const;
  // All points of one metric, or those with step_min <= step <= step_max, sorted by step; when a
  // step was logged more than once the later value wins.
  Result<MetricSeries> ReadMetric(std::string_view run_id, std::string_view metric,
                                  std::optional<int64_t> step_min = std::nullopt,
                                  std::optional<int64_t> step_max = std::nullopt) const;
  // One metric downsampled for a chart (see downsample.h): O(target points) per query once the
  // series' LOD pyramid is built; the first query of a series since Open() builds it from the
  // stored points (O(length)), after which ingestion keeps it current.
  Result<DownsampleResult> DownsampleMetric(std::string_view run_id, std::string_view metric,
                                            const DownsampleOptions& options) const;
  // Several metrics of one run as one table for a chart (see metric_query.h). The run record, the
  // metric list and every metric's points come from ONE ingest pass: no pass commits while the
  // query reads, so two metrics always logged together never come back from different passes.
  // Cost: O(downsample target) per metric once the series' LOD pyramids are built (the first query
  // of a series since Open() builds its pyramid, O(length)); without `downsample`, O(points in
  // range) time and, unless a metric's steps go backwards, memory for the rows returned only (page
  // with max_rows). Ingest passes wait while a query reads. NotFound for an unknown run; unknown
  // metric names are listed in missing_metrics; bad ranges or options are InvalidArgument.
  Result<MetricTable> QueryMetrics(std::string_view run_id, const MetricQuery& query,
                                   const MetricReadProgress& progress = {}) const;
  // The points of one metric stored after `cursor`, in logging order, and the cursor after them.
  // Cost O(new points) (plus at most one partly read stored chunk), independent of the series
  // length; meant for live streams that poll. Points are those of the last published ingest pass.
  // NotFound for an unknown run or a metric the run has not logged yet (a stream retries later,
  // from the default cursor). FailedPrecondition when the cursor is beyond the series' end (the
  // series is not the one the cursor was taken from, e.g. the run was deleted and re-created).
  // At most `max_points` points are returned (a stream's bounded batch); the cursor then points
  // at the first one left, so the next call continues there.
  Result<MetricChunk> ReadMetricSince(std::string_view run_id, std::string_view metric,
                                      MetricCursor cursor = {}, uint64_t max_points = UINT64_MAX) const;
  // A cursor at the current end of the series, so a stream can start with "only new points".
  // Errors as ReadMetricSince.
  Result<MetricCursor> MetricCursorAtEnd(std::string_view run_id, std::string_view metric) const;
  // The run's text log from byte `offset` on.
  Result<std::string> ReadLog(std::string_view run_id, uint64_t offset = 0) const;
  // Seals every run that is final and not yet sealed, now, in this thread (the background thread
  // of CatalogOptions::seal_finished_runs does the same; running both at once is safe). A run is
  // either sealed whole (its index entries written and its stored points deleted in one batch,
  // after its files are durable) or left as it was. Errors of single runs are counted in the
  // report; the others are still sealed.
  Result<SealReport> SealFinishedRuns();
  // Returns once the background sealing thread has nothing left to do (at once without it).
  void WaitForSealing() const;
  // Every sealed series of every run the catalog holds (soft-deleted ones included: they can be
  // restored), as its index records it: what `runicorn viewer --objects` publishes to the bucket
  // and keeps listed as live for `gc --objects`.
  Result<std::vector<SealedObjectRef>> ListSealedObjects() const;
  // ListSealedObjects with each series' metric name and first/last step: what a shared segment
  // index records (runtrack/sealed_run.h, docs/SCALE-OUT.md "Segment index in PostgreSQL").
  Result<std::vector<SealedSeriesInfo>> ListSealedSeries() const;
  // Counters of the pyramid cache (for a viewer's /api/health and /api/metrics/cache/stats).
  PyramidCacheStats pyramid_cache_stats() const;

  // Soft delete hides a run from listings (it stays on disk and restorable); the mark is also
  // written to <run dir>/deleted so a rebuilt catalog keeps it.
  Status SoftDelete(std::string_view run_id);
  Status Restore(std::string_view run_id);
  // Removes the run's folder (journal, media) and every catalog entry. A run that is still
  // running is refused with FailedPrecondition.
  Status PermanentDelete(std::string_view run_id);

  class Impl;

 private:
  explicit Catalog(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace runtrack
