// Run: the writer side of one experiment run, used by a training process.
//
// A Run appends everything it is told (metric points, summary updates, text, status) to an
// in-memory buffer; a background thread writes the buffer to the run's journal
// (<root>/runs/<id>/journal) every `flush_interval` or when it grows past `flush_bytes`. The
// training loop therefore never waits on disk. Nothing here touches the RocksDB catalog: a
// `Catalog` (see catalog.h) ingests journals, possibly in another process.
//
// Thread safety: every method may be called from any number of threads at once. Calls are
// serialised by one internal mutex held only for an in-memory append, so the order of two racing
// Log() calls in the journal is the order in which they took that mutex; points logged with an
// automatic step by racing threads get distinct, increasing steps.
//
// Lifetime: a Run holds an exclusive flock on <run dir>/lock while it lives; a Catalog treats a
// run whose lock is free and that recorded no final status as crashed (`failed`,
// exit_reason "process_not_found"). A Run destroyed without Finish() flushes everything it was
// given and records status `interrupted` (exit_reason "not_finished"), so a program that forgets to
// call Finish() loses nothing and is not mistaken for a crash.
#pragma once

#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/object.hpp>

#include "runtrack/status.h"

namespace runtrack {

class Artifact;
class ArtifactHandle;

enum class RunStatus { kRunning, kFinished, kFailed, kInterrupted };

// "running", "finished", "failed", "interrupted".
std::string_view RunStatusName(RunStatus status);
// Parses one of the names above; anything else is InvalidArgument naming the valid values.
Result<RunStatus> ParseRunStatus(std::string_view name);

enum class MetricMode { kMax, kMin };
std::string_view MetricModeName(MetricMode mode);  // "max" / "min"
Result<MetricMode> ParseMetricMode(std::string_view name);

using MetricValue = std::pair<std::string_view, double>;

class Run {
 public:
  Run(const Run&) = delete;
  Run& operator=(const Run&) = delete;
  // Without a prior Finish(): flushes and records `interrupted` (see the file comment).
  ~Run();

  const std::string& id() const;
  const std::string& project() const;
  const std::string& name() const;
  const std::filesystem::path& dir() const;  // <root>/runs/<id>
  // The v0.6 run path (RunOptions::path) when one was given, and the alias ("" when none).
  const std::optional<std::string>& path() const;
  const std::string& alias() const;

  // Logs one point at an explicit step; later automatic steps continue from `step` + 1.
  Status Log(int64_t step, std::string_view metric, double value);

  // Logs several metrics at one step. Without `step`, the run's step counter is incremented
  // (the first automatic step is 1); with it, the counter is set to `step` (Runicorn's rule).
  // `stage` ("train", "eval", ...) is stored with every point; empty means none. All names are
  // validated before anything is stored: one bad name rejects the whole call.
  Status Log(std::span<const MetricValue> values, std::optional<int64_t> step = std::nullopt,
             std::string_view stage = {});
  Status Log(std::initializer_list<MetricValue> values, std::optional<int64_t> step = std::nullopt,
             std::string_view stage = {}) {
    return Log(std::span<const MetricValue>(values.begin(), values.size()), step, stage);
  }

  // Merges `values` into the run summary (later keys win).
  Status Summary(const boost::json::object& values);
  // Declares the metric whose best value (max or min over finite points) ranks this run.
  Status SetPrimaryMetric(std::string_view metric, MetricMode mode);
  // Appends a line of text to the run's log (a trailing newline is added when missing).
  Status LogText(std::string_view line);
  // Runicorn v0.6's run assets (<run dir>/assets.json, docs/FORMATS.md): what the run's code,
  // config, datasets, pretrained weights and outputs were. `section` "code" and "config" replace
  // that object; "datasets" and "pretrained" append `entry`; "outputs" replaces the entry with
  // the same "key" (or appends). The file is replaced atomically (temp + rename), so a reader
  // sees the old or the new document, never a torn one; calls are serialised per Run.
  Status RecordAsset(std::string_view section, const boost::json::object& entry);
  // Records that this run produced / used an artifact version (lineage; see artifacts.h).
  Status RecordArtifact(std::string_view relation, std::string_view name, std::string_view type,
                        int version);

  // Stores `artifact` as its next version in this run's store (see artifacts.h) and records that
  // this run produced it. Returns the version number. Blocks while files are chunked and hashed.
  Result<int> LogArtifact(const Artifact& artifact);
  // Resolves "name", "name:latest", "name:vN" or "name:<alias>", records that this run used it,
  // and returns a handle to download or read its files.
  Result<ArtifactHandle> UseArtifact(std::string_view spec);

  // Writes everything logged so far to the journal and fsyncs it; blocks until done.
  Status Flush();
  // Records the final status (kFinished, kFailed or kInterrupted), flushes, fsyncs and releases
  // the run lock. Every later call on this Run returns FailedPrecondition.
  Status Finish(RunStatus status = RunStatus::kFinished);
  Status Finish(std::string_view status);

  // The first write error of the background flusher, or ok.
  Status background_error() const;

  class Impl;
  explicit Run(std::unique_ptr<Impl> impl);

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace runtrack
