#include "service/embedded_storage.h"

#include <thread>

#include "runtrack/store.h"

namespace runicorn::service {
using runtrack::Result;
using runtrack::Status;

Result<std::unique_ptr<EmbeddedStorage>> EmbeddedStorage::Open(const std::filesystem::path& root,
                                                               const runtrack::CatalogOptions& options) {
  RUNTRACK_ASSIGN_OR_RETURN(auto store, runtrack::Store::Open(root));
  RUNTRACK_ASSIGN_OR_RETURN(auto catalog, runtrack::Catalog::Open(store->root(), options));
  RUNTRACK_ASSIGN_OR_RETURN(auto artifacts, store->artifacts());
  return std::unique_ptr<EmbeddedStorage>(new EmbeddedStorage(
      std::move(catalog), std::make_unique<FileArtifactRepository>(std::move(artifacts)), options));
}

std::shared_ptr<runtrack::Catalog> EmbeddedStorage::current_catalog() const {
  std::lock_guard lock(catalog_mu_);
  return catalog_;
}

Result<std::shared_ptr<runtrack::Catalog>> EmbeddedStorage::Live() const {
  auto catalog = current_catalog();
  if (!catalog) return Status::IOError("the catalog is being re-opened; retry shortly");
  return catalog;
}

Status EmbeddedStorage::ReopenCatalog(std::chrono::milliseconds drain) {
  // Held throughout, so no new call picks up the old catalog while it is being closed; calls
  // already holding it finish on it (its reads stay valid: RocksDB keeps deleted files open).
  std::lock_guard lock(catalog_mu_);
  const auto deadline = std::chrono::steady_clock::now() + drain;
  while (catalog_.use_count() > 1) {
    if (std::chrono::steady_clock::now() >= deadline)
      return Status::Busy("catalog calls in flight did not finish; reopen retried later");
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  catalog_.reset();  // RocksDB allows one open handle per folder and process
  auto reopened = runtrack::Catalog::Open(root_, options_);
  if (!reopened.ok()) {
    // Keep a catalog in place so callers get answers, not a null: try the folder once more (it
    // may only have been the new open that failed), else give up to the caller's retry.
    auto again = runtrack::Catalog::Open(root_, options_);
    if (again.ok()) catalog_ = std::move(*again);
    return reopened.status();
  }
  catalog_ = std::move(*reopened);
  return Status::Ok();
}

Result<runtrack::RunPage> EmbeddedStorage::ListRuns(const runtrack::RunQuery& query) const {
  RUNTRACK_ASSIGN_OR_RETURN(auto catalog, Live());
  return catalog->ListRuns(query);
}
Result<runtrack::RunDetail> EmbeddedStorage::GetRun(std::string_view run_id) const {
  RUNTRACK_ASSIGN_OR_RETURN(auto catalog, Live());
  return catalog->GetRun(run_id); }
Result<std::string> EmbeddedStorage::ReadLog(std::string_view run_id, uint64_t offset) const {
  RUNTRACK_ASSIGN_OR_RETURN(auto catalog, Live());
  return catalog->ReadLog(run_id, offset);
}
Status EmbeddedStorage::SoftDelete(std::string_view run_id) {
  RUNTRACK_ASSIGN_OR_RETURN(auto catalog, Live());
  return catalog->SoftDelete(run_id); }
Status EmbeddedStorage::Restore(std::string_view run_id) {
  RUNTRACK_ASSIGN_OR_RETURN(auto catalog, Live());
  return catalog->Restore(run_id); }
Status EmbeddedStorage::PermanentDelete(std::string_view run_id) {
  RUNTRACK_ASSIGN_OR_RETURN(auto catalog, Live());
  return catalog->PermanentDelete(run_id); }

Result<uint64_t> EmbeddedStorage::CountRunFiles(std::string_view run_id) const {
  uint64_t count = 0;
  std::error_code ec;
  namespace fs = std::filesystem;
  for (auto it = fs::recursive_directory_iterator(runtrack::StoreLayout(root()).run_dir(run_id), ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
    if (it->is_regular_file(ec)) ++count;
  return count;
}

Result<runtrack::MetricTable> EmbeddedStorage::QueryMetrics(std::string_view run_id, const runtrack::MetricQuery& query,
                                                             const runtrack::MetricReadProgress& progress) const {
  RUNTRACK_ASSIGN_OR_RETURN(auto catalog, Live());
  return catalog->QueryMetrics(run_id, query, progress);
}
Result<runtrack::MetricChunk> EmbeddedStorage::ReadMetricSince(std::string_view run_id, std::string_view metric,
                                                               runtrack::MetricCursor cursor,
                                                               uint64_t max_points) const {
  RUNTRACK_ASSIGN_OR_RETURN(auto catalog, Live());
  return catalog->ReadMetricSince(run_id, metric, cursor, max_points);
}
Result<runtrack::MetricCursor> EmbeddedStorage::MetricCursorAtEnd(std::string_view run_id,
                                                                  std::string_view metric) const {
  RUNTRACK_ASSIGN_OR_RETURN(auto catalog, Live());
  return catalog->MetricCursorAtEnd(run_id, metric);
}
Result<std::vector<runtrack::RunStreamInfo>> EmbeddedStorage::ListStreams(std::string_view run_id) const {
  RUNTRACK_ASSIGN_OR_RETURN(auto catalog, Live());
  return catalog->ListStreams(run_id);
}
Result<std::vector<runtrack::StreamPoints>> EmbeddedStorage::ReadMetricStreams(std::string_view run_id,
                                                                               std::string_view metric) const {
  RUNTRACK_ASSIGN_OR_RETURN(auto catalog, Live());
  return catalog->ReadMetricStreams(run_id, metric);
}

}  // namespace runicorn::service
