// Forgetting a run that was replaced wholesale by a compacted copy from another store (SSH pull
// sync: runtrack/compacted_run.h). The catalog had indexed the partly pulled copy by its journal
// offsets; those offsets mean nothing in the compacted journal that replaced it, so the run's
// entries go (as in PermanentDelete, but the folder stays) and the same Refresh() pass indexes
// the run from scratch, exactly as a catalog rebuilt after a deletion would.
#include <filesystem>

#include <rocksdb/write_batch.h>

#include "catalog/catalog_impl.h"
#include "catalog/keys.h"
#include "journal/journal_compaction.h"

namespace runtrack {
namespace fs = std::filesystem;

Result<bool> Catalog::Impl::ForgetReplacedRun(std::string_view id, const catalog::RunRecord& current) {
  // A partly pulled copy is still arriving (running), was judged crashed after the receiver's
  // lease, or had no whole header yet: only those are looked at, so final runs cost nothing here.
  const std::string& reason = current.summary_row.exit_reason;
  if (current.summary_row.status != RunStatus::kRunning && reason != "process_not_found" &&
      !reason.starts_with("journal_unreadable"))
    return false;
  std::error_code ec;
  const fs::path marker = layout().reindex_marker(id);
  if (!fs::exists(marker, ec)) return false;
  // The installer writes the marker before it renames the compacted journal in: until then the
  // journal is still the copy that was indexed, and forgetting would only index it again.
  RUNTRACK_ASSIGN_OR_RETURN(auto compacted, journal::ReadCompactionMarker(layout().journal_path(id)));
  if (!compacted) return false;
  rocksdb::WriteBatch batch;
  for (const std::string& prefix :
       {catalog::RunPointsPrefix(id), catalog::LogPrefix(id), catalog::SealedPrefix(id)})
    batch.DeleteRange(prefix, catalog::PrefixEnd(prefix));
  batch.Delete(catalog::RunKey(id));
  RUNTRACK_RETURN_IF_ERROR(Commit(&batch));
  {
    std::unique_lock lod(lod_mu);
    std::erase_if(pyramids, [&](const auto& entry) { return entry.first.first == id; });
    std::unique_lock lock(mu);
    if (auto it = runs.find(id); it != runs.end()) runs.erase(it);
  }
  segment_readers.DropRun(id);
  // Lost in a crash, it is found again by the status check above (the run is final once it is
  // indexed again) or, failing that, costs one stat per pass of a crashed run.
  fs::remove(marker, ec);
  return true;
}

}  // namespace runtrack
