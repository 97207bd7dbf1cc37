#include "service/embedded_storage.h"

#include "runtrack/store.h"

namespace runicorn::service {
using runtrack::Result;
using runtrack::Status;

Result<std::unique_ptr<EmbeddedStorage>> EmbeddedStorage::Open(const std::filesystem::path& root) {
  RUNTRACK_ASSIGN_OR_RETURN(auto store, runtrack::Store::Open(root));
  RUNTRACK_ASSIGN_OR_RETURN(auto catalog, runtrack::Catalog::Open(store->root()));
  RUNTRACK_ASSIGN_OR_RETURN(auto artifacts, store->artifacts());
  return std::unique_ptr<EmbeddedStorage>(
      new EmbeddedStorage(std::move(catalog), std::make_unique<FileArtifactRepository>(std::move(artifacts))));
}

Result<runtrack::RunPage> EmbeddedStorage::ListRuns(const runtrack::RunQuery& query) const {
  return catalog_->ListRuns(query);
}
Result<runtrack::RunDetail> EmbeddedStorage::GetRun(std::string_view run_id) const { return catalog_->GetRun(run_id); }
Result<std::string> EmbeddedStorage::ReadLog(std::string_view run_id, uint64_t offset) const {
  return catalog_->ReadLog(run_id, offset);
}
Status EmbeddedStorage::SoftDelete(std::string_view run_id) { return catalog_->SoftDelete(run_id); }
Status EmbeddedStorage::Restore(std::string_view run_id) { return catalog_->Restore(run_id); }
Status EmbeddedStorage::PermanentDelete(std::string_view run_id) { return catalog_->PermanentDelete(run_id); }

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
  return catalog_->QueryMetrics(run_id, query, progress);
}
Result<runtrack::MetricChunk> EmbeddedStorage::ReadMetricSince(std::string_view run_id, std::string_view metric,
                                                               runtrack::MetricCursor cursor) const {
  return catalog_->ReadMetricSince(run_id, metric, cursor);
}
Result<runtrack::MetricCursor> EmbeddedStorage::MetricCursorAtEnd(std::string_view run_id,
                                                                  std::string_view metric) const {
  return catalog_->MetricCursorAtEnd(run_id, metric);
}

}  // namespace runicorn::service
