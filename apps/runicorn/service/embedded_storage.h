// The embedded back end: the store's RocksDB catalog behind RunCatalog and MetricReader, and its
// artifact files behind ArtifactRepository (file_artifacts.h). Opening it makes this process the
// catalog's one indexer.
//
// The catalog sits behind a shared_ptr that ReopenCatalog() swaps under a lock: every call takes
// the current catalog for its duration, so a service never sees a closed one, and a catalog whose
// files were deleted (or whose disk filled up) is replaced without restarting the process.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>

#include "runtrack/artifacts.h"
#include "runtrack/catalog.h"
#include "service/file_artifacts.h"
#include "service/ingest_health.h"
#include "service/storage.h"

namespace runicorn::service {

class EmbeddedStorage final : public RunCatalog, public MetricReader {
 public:
  // Opens (creating if needed) the store at `root`: kBusy when another process holds its catalog.
  // `options` are kept for ReopenCatalog() (the viewer sets read_only_on_full_disk).
  static runtrack::Result<std::unique_ptr<EmbeddedStorage>> Open(const std::filesystem::path& root,
                                                                 const runtrack::CatalogOptions& options = {});

  // The catalog as of now. Valid until ReopenCatalog(); a process that may reopen (the viewer's
  // indexer) holds current_catalog() instead.
  runtrack::Catalog& catalog() { return *current_catalog(); }
  // Held for the length of one call; a reopen waits for calls in flight. Null only after a
  // ReopenCatalog() that failed to open the folder at all (the RunCatalog/MetricReader methods
  // then answer IOError until a later reopen succeeds).
  std::shared_ptr<runtrack::Catalog> current_catalog() const;
  // Closes the catalog and opens it again from its folder (rebuilding it from the journals when
  // the folder is gone: the caller then Refresh()es). Waits up to `drain` for calls in flight on
  // the old catalog to finish (RocksDB lets one handle per process hold the folder); on failure
  // the old catalog stays in place and the error is returned.
  runtrack::Status ReopenCatalog(std::chrono::milliseconds drain = std::chrono::seconds(5));
  FileArtifactRepository& artifacts() { return *artifacts_; }
  const std::filesystem::path& root() const { return root_; }
  // Kept current by the viewer's indexer; stays "starting" where nothing indexes (the CLI).
  IngestHealth& ingest_health() const { return ingest_health_; }

  // RunCatalog
  runtrack::Result<runtrack::RunPage> ListRuns(const runtrack::RunQuery& query) const override;
  runtrack::Result<runtrack::RunDetail> GetRun(std::string_view run_id) const override;
  runtrack::Result<std::string> ReadLog(std::string_view run_id, uint64_t offset) const override;
  runtrack::Status SoftDelete(std::string_view run_id) override;
  runtrack::Status Restore(std::string_view run_id) override;
  runtrack::Status PermanentDelete(std::string_view run_id) override;
  runtrack::Result<uint64_t> CountRunFiles(std::string_view run_id) const override;

  // MetricReader
  runtrack::Result<runtrack::MetricTable> QueryMetrics(std::string_view run_id, const runtrack::MetricQuery& query,
                                                       const runtrack::MetricReadProgress& progress) const override;
  runtrack::Result<runtrack::MetricChunk> ReadMetricSince(std::string_view run_id, std::string_view metric,
                                                          runtrack::MetricCursor cursor,
                                                          uint64_t max_points) const override;
  runtrack::Result<runtrack::MetricCursor> MetricCursorAtEnd(std::string_view run_id,
                                                             std::string_view metric) const override;
  runtrack::Result<std::vector<runtrack::RunStreamInfo>> ListStreams(std::string_view run_id) const override;
  runtrack::Result<std::vector<runtrack::StreamPoints>> ReadMetricStreams(std::string_view run_id,
                                                                          std::string_view metric) const override;

 private:
  EmbeddedStorage(std::unique_ptr<runtrack::Catalog> catalog, std::unique_ptr<FileArtifactRepository> artifacts,
                  runtrack::CatalogOptions options)
      : root_(catalog->root()), options_(options), catalog_(std::move(catalog)), artifacts_(std::move(artifacts)) {}
  runtrack::Result<std::shared_ptr<runtrack::Catalog>> Live() const;

  std::filesystem::path root_;
  runtrack::CatalogOptions options_;
  mutable std::mutex catalog_mu_;  // guards the pointer catalog_, not the catalog
  std::shared_ptr<runtrack::Catalog> catalog_;
  std::unique_ptr<FileArtifactRepository> artifacts_;
  mutable IngestHealth ingest_health_;
};

}  // namespace runicorn::service
