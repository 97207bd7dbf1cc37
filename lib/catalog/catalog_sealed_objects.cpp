// Catalog::ListSealedObjects: what a publisher copies to a shared bucket, and what that bucket's
// garbage collector must keep for this store.
#include "catalog/catalog_impl.h"
#include "catalog/sealed_object_bytes.h"

namespace runtrack {

Result<std::vector<SealedObjectRef>> Catalog::ListSealedObjects() const {
  std::vector<SealedObjectRef> out;
  std::shared_lock lock(impl_->mu);
  for (const auto& [id, record] : impl_->runs)
    for (const auto& [series, segment] : record->sealed) out.push_back(catalog::MakeSealedObjectRef(id, series, segment));
  return out;
}

Result<std::vector<SealedSeriesInfo>> Catalog::ListSealedSeries() const {
  std::vector<SealedSeriesInfo> out;
  std::shared_lock lock(impl_->mu);
  for (const auto& [id, record] : impl_->runs)
    for (const auto& [series, segment] : record->sealed) {
      SealedSeriesInfo info;
      info.ref = catalog::MakeSealedObjectRef(id, series, segment);
      if (auto it = record->series.find(series); it != record->series.end()) {
        info.metric = it->second.name;
        info.first_step = it->second.first_step;
        info.last_step = it->second.last_step;
      }
      out.push_back(std::move(info));
    }
  return out;
}

}  // namespace runtrack
