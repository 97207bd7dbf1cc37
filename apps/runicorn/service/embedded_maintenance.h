// CatalogMaintenance over the embedded RocksDB catalog: a status re-check is one Refresh() (which
// ingests new records and marks runs whose writer died), and the cache is its LOD pyramids.
// Only the process that holds the catalog (the viewer) has one.
#pragma once

#include "runtrack/catalog.h"
#include "service/embedded_storage.h"
#include "service/run_insights.h"

namespace runicorn::service {

class EmbeddedMaintenance final : public CatalogMaintenance {
 public:
  // Holds the storage, not its catalog: the viewer's indexer may re-open the catalog (a deleted
  // catalog folder), so each call takes the current one.
  explicit EmbeddedMaintenance(const EmbeddedStorage& storage) : storage_(storage) {}
  runtrack::Status Recheck() override;
  CacheStats Cache() const override;

 private:
  const EmbeddedStorage& storage_;
};

}  // namespace runicorn::service
