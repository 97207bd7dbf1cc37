// Catalog::pyramid_cache_stats(): the counters behind a viewer's /api/health "cache".
#include "catalog/catalog_support.h"

using namespace runtrack;
using namespace runtrack::testing;

TEST_CASE("pyramid cache counts a cold lookup as a miss and every warm one as a hit", "[catalog][pyramid_cache]") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  auto run = NewRun(*store);
  for (int s = 1; s <= 20; ++s) REQUIRE(run->Log(s, "loss", 1.0 / s).ok());
  REQUIRE(run->Log(1, "acc", 0.5).ok());
  const std::string id = run->id();
  REQUIRE(run->Finish().ok());
  auto catalog = OpenCatalog(dir.path());
  Index(*catalog);

  PyramidCacheStats fresh = catalog->pyramid_cache_stats();
  CHECK(fresh.pyramids == 0);
  CHECK(fresh.hits == 0);
  CHECK(fresh.misses == 0);

  MetricQuery query;
  query.metrics = {"loss", "acc"};
  query.downsample = 5;
  REQUIRE(catalog->QueryMetrics(id, query).ok());
  // Two absent pyramids (2 misses), built, then both found on the retry (2 hits).
  PyramidCacheStats first = catalog->pyramid_cache_stats();
  CHECK(first.pyramids == 2);
  CHECK(first.misses == 2);
  CHECK(first.hits == 2);

  REQUIRE(catalog->QueryMetrics(id, query).ok());
  DownsampleOptions options;
  options.target_points = 5;
  REQUIRE(catalog->DownsampleMetric(id, "loss", options).ok());
  PyramidCacheStats warm = catalog->pyramid_cache_stats();
  CHECK(warm.pyramids == 2);
  CHECK(warm.misses == 2);
  CHECK(warm.hits == 5);

  // An unknown run looks nothing up.
  CHECK(catalog->QueryMetrics("20260101_000000_abcdef", query).status().code() == StatusCode::kNotFound);
  CHECK(catalog->pyramid_cache_stats().hits == 5);
  CHECK(catalog->pyramid_cache_stats().misses == 2);
}
