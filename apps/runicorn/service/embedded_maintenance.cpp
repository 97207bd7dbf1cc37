#include "service/embedded_maintenance.h"

namespace runicorn::service {

// Refresh() may run concurrently with the viewer's indexer: the catalog serialises writers.
runtrack::Status EmbeddedMaintenance::Recheck() {
  auto catalog = storage_.current_catalog();
  if (!catalog) return runtrack::Status::IOError("the catalog is being re-opened; retry shortly");
  return catalog->Refresh().status();
}

CacheStats EmbeddedMaintenance::Cache() const {
  auto catalog = storage_.current_catalog();
  runtrack::PyramidCacheStats s = catalog ? catalog->pyramid_cache_stats() : runtrack::PyramidCacheStats{};
  return CacheStats{true, s.pyramids, s.hits, s.misses};
}

}  // namespace runicorn::service
