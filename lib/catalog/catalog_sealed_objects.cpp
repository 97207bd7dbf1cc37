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

}  // namespace runtrack
