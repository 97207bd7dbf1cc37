// The embedded back end: the store's RocksDB catalog behind RunCatalog and MetricReader, and its
// artifact files behind ArtifactRepository (file_artifacts.h). Opening it makes this process the
// catalog's one indexer.
#pragma once

#include <filesystem>
#include <memory>

#include "runtrack/artifacts.h"
#include "runtrack/catalog.h"
#include "service/file_artifacts.h"
#include "service/storage.h"

namespace runicorn::service {

class EmbeddedStorage final : public RunCatalog, public MetricReader {
 public:
  // Opens (creating if needed) the store at `root`: kBusy when another process holds its catalog.
  static runtrack::Result<std::unique_ptr<EmbeddedStorage>> Open(const std::filesystem::path& root);

  runtrack::Catalog& catalog() { return *catalog_; }
  FileArtifactRepository& artifacts() { return *artifacts_; }
  const std::filesystem::path& root() const { return catalog_->root(); }

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
                                                          runtrack::MetricCursor cursor) const override;
  runtrack::Result<runtrack::MetricCursor> MetricCursorAtEnd(std::string_view run_id,
                                                             std::string_view metric) const override;

 private:
  EmbeddedStorage(std::unique_ptr<runtrack::Catalog> catalog, std::unique_ptr<FileArtifactRepository> artifacts)
      : catalog_(std::move(catalog)), artifacts_(std::move(artifacts)) {}
  std::unique_ptr<runtrack::Catalog> catalog_;
  std::unique_ptr<FileArtifactRepository> artifacts_;
};

}  // namespace runicorn::service
