#include <system_error>

#include <boost/json/serialize.hpp>
#include <fmt/format.h>
#include <rocksdb/write_batch.h>

#include "util/json.h"
#include "catalog/catalog_impl.h"
#include "catalog/keys.h"
#include "util/files.h"
#include "util/validation.h"

namespace runtrack {
namespace fs = std::filesystem;
using catalog::RunRecord;

namespace {

Result<std::shared_ptr<const RunRecord>> FindExisting(const Catalog::Impl& impl, std::string_view id) {
  RUNTRACK_RETURN_IF_ERROR(ValidateRunId(id));
  auto r = impl.Find(id);
  if (!r) return Status::NotFound(fmt::format("run {} not found", id));
  return r;
}

// Stores `next` and publishes it.
Status Save(Catalog::Impl& impl, std::shared_ptr<RunRecord> next) {
  rocksdb::WriteBatch batch;
  batch.Put(catalog::RunKey(next->summary_row.id), util::SerializeJson(catalog::ToJson(*next)));
  RUNTRACK_RETURN_IF_ERROR(impl.Commit(&batch));
  impl.Publish(std::move(next));
  return Status::Ok();
}

}  // namespace

Status Catalog::SoftDelete(std::string_view run_id) {
  RUNTRACK_RETURN_IF_ERROR(impl_->CheckWritable());  // before the marker or folder changes
  std::lock_guard writer(impl_->writer_mu);
  RUNTRACK_ASSIGN_OR_RETURN(auto current, FindExisting(*impl_, run_id));
  if (current->summary_row.deleted_at) return Status::Ok();  // already in the recycle bin
  double now = util::NowSeconds();
  // The marker file is the source of truth, so a rebuilt catalog still knows the run is deleted.
  RUNTRACK_RETURN_IF_ERROR(util::WriteFileAtomic(impl_->layout().deleted_marker(run_id), fmt::format("{:.6f}\n", now)));
  auto next = std::make_shared<RunRecord>(*current);
  next->summary_row.deleted_at = now;
  return Save(*impl_, std::move(next));
}

Status Catalog::Restore(std::string_view run_id) {
  RUNTRACK_RETURN_IF_ERROR(impl_->CheckWritable());  // before the marker or folder changes
  std::lock_guard writer(impl_->writer_mu);
  RUNTRACK_ASSIGN_OR_RETURN(auto current, FindExisting(*impl_, run_id));
  if (!current->summary_row.deleted_at)
    return Status::FailedPrecondition(fmt::format("run {} is not in the recycle bin", run_id));
  std::error_code ec;
  fs::remove(impl_->layout().deleted_marker(run_id), ec);
  if (ec) return Status::IOError(fmt::format("remove deleted marker of {}: {}", run_id, ec.message()));
  auto next = std::make_shared<RunRecord>(*current);
  next->summary_row.deleted_at.reset();
  return Save(*impl_, std::move(next));
}

Status Catalog::PermanentDelete(std::string_view run_id) {
  RUNTRACK_RETURN_IF_ERROR(impl_->CheckWritable());  // before the marker or folder changes
  // A run being sealed gets files in its folder without writer_mu: wait for that (same order).
  std::lock_guard sealing(impl_->seal_mu);
  std::lock_guard writer(impl_->writer_mu);
  RUNTRACK_ASSIGN_OR_RETURN(auto current, FindExisting(*impl_, run_id));
  if (current->summary_row.status == RunStatus::kRunning)
    return Status::FailedPrecondition(fmt::format("run {} is still running", run_id));
  // Catalog entries go first: if removing the folder then fails, the next Refresh() re-indexes
  // the folder instead of leaving catalog entries that point at nothing.
  rocksdb::WriteBatch batch;
  for (const std::string& prefix : {catalog::RunPointsPrefix(run_id), catalog::LogPrefix(run_id),
                                    catalog::SealedPrefix(run_id)})
    batch.DeleteRange(prefix, catalog::PrefixEnd(prefix));
  batch.Delete(catalog::RunKey(run_id));
  RUNTRACK_RETURN_IF_ERROR(impl_->Commit(&batch));
  {
    std::unique_lock lod(impl_->lod_mu);
    std::erase_if(impl_->pyramids, [&](const auto& entry) { return entry.first.first == run_id; });
    std::unique_lock lock(impl_->mu);
    impl_->runs.erase(impl_->runs.find(run_id));
  }
  impl_->segment_readers.DropRun(run_id);  // their files go with the folder
  std::error_code ec;
  fs::remove_all(impl_->run_dir(run_id), ec);
  if (ec) return Status::IOError(fmt::format("remove run folder of {}: {}", run_id, ec.message()));
  return Status::Ok();
}

}  // namespace runtrack
