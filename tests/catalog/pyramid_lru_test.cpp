// The LOD pyramids of queried series stay within CatalogOptions::pyramid_budget_bytes: past it the
// least recently used ones are dropped and rebuilt when queried again (reliability issue item 9).
#include "catalog/catalog_support.h"

using namespace runtrack;
using namespace runtrack::testing;

namespace {

std::string MakeSeriesRun(Store& store) {
  auto run = NewRun(store);
  for (int s = 1; s <= 50; ++s) REQUIRE(run->Log(s, "loss", 1.0 / s).ok());
  std::string id = run->id();
  REQUIRE(run->Finish().ok());
  return id;
}

std::unique_ptr<Catalog> OpenWithBudget(const std::filesystem::path& root, uint64_t budget) {
  CatalogOptions options;
  options.pyramid_budget_bytes = budget;
  auto catalog = Catalog::Open(root, options);
  REQUIRE(catalog.ok());
  return std::move(catalog).value();
}

void Chart(Catalog& catalog, const std::string& id) {
  DownsampleOptions options;
  options.target_points = 5;
  auto r = catalog.DownsampleMetric(id, "loss", options);
  REQUIRE(r.ok());
}

}  // namespace

TEST_CASE("past the pyramid budget the least recently used pyramid is dropped", "[catalog][pyramid_lru]") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  std::string a = MakeSeriesRun(*store), b = MakeSeriesRun(*store), c = MakeSeriesRun(*store);
  // A budget of one byte keeps only the pyramids of the run being charted.
  auto catalog = OpenWithBudget(dir.path(), 1);
  Index(*catalog);
  Chart(*catalog, a);
  Chart(*catalog, b);
  CHECK(catalog->pyramid_cache_stats().pyramids == 1);  // a's was dropped for b's
  const uint64_t misses = catalog->pyramid_cache_stats().misses;
  Chart(*catalog, a);  // rebuilt, with the same answer path
  CHECK(catalog->pyramid_cache_stats().misses == misses + 1);
  CHECK(catalog->pyramid_cache_stats().pyramids == 1);
  // A query of several metrics of one run never evicts its own pyramids.
  MetricQuery query;
  query.metrics = {"loss"};
  query.downsample = 5;
  CHECK(catalog->QueryMetrics(c, query).ok());
}

TEST_CASE("within the budget every queried pyramid stays", "[catalog][pyramid_lru]") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  std::string a = MakeSeriesRun(*store), b = MakeSeriesRun(*store), c = MakeSeriesRun(*store);
  auto catalog = OpenWithBudget(dir.path(), uint64_t{1} << 30);
  Index(*catalog);
  Chart(*catalog, a);
  Chart(*catalog, b);
  Chart(*catalog, c);
  Chart(*catalog, a);
  CHECK(catalog->pyramid_cache_stats().pyramids == 3);
  CHECK(catalog->pyramid_cache_stats().misses == 3);  // the second chart of a found its pyramid
}
