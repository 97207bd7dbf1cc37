#include <cmath>
#include <random>

#include "catalog/catalog_support.h"
#include "metrics/downsample.h"

using namespace runtrack;
using namespace runtrack::testing;

namespace {

// The same query answered from an in-memory pyramid over the same points: the catalog must give
// exactly this, whatever mix of ingest passes, reopenings and lazy pyramid builds preceded it.
DownsampleResult Expected(const std::vector<MetricPoint>& points, const DownsampleOptions& options) {
  LodPyramid pyramid;
  pyramid.Append(points);
  auto r = Downsample(pyramid, [&](uint64_t b, uint64_t e, std::vector<MetricPoint>* out) {
    out->insert(out->end(), points.begin() + b, points.begin() + e);
    return Status::Ok();
  }, options);
  REQUIRE(r.ok());
  return *r;
}

void RequireSame(const DownsampleResult& got, const DownsampleResult& want) {
  REQUIRE(got.points.size() == want.points.size());
  CHECK(got.points_in_range == want.points_in_range);
  CHECK(got.level_used == want.level_used);
  for (size_t i = 0; i < got.points.size(); ++i) {
    REQUIRE(got.points[i].step == want.points[i].step);
    REQUIRE(got.points[i].value == want.points[i].value);
    REQUIRE(got.points[i].wall_time == want.points[i].wall_time);
  }
}

std::vector<MetricPoint> Logged(Catalog& catalog, const std::string& id) {
  auto all = catalog.ReadMetric(id, "y");
  REQUIRE(all.ok());
  return all->points;  // strictly increasing steps here, so this is the arrival order too
}

}  // namespace

TEST_CASE("catalog downsampling equals the in-memory answer across live ingest passes") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  auto run = NewRun(*store);
  auto catalog = OpenCatalog(dir.path());
  std::mt19937_64 rng(7);
  std::normal_distribution<double> noise(0, 1);
  int64_t step = 0;
  std::vector<DownsampleOptions> queries;
  for (DownsampleMethod m : {DownsampleMethod::kLttb, DownsampleMethod::kM4, DownsampleMethod::kMinMax,
                             DownsampleMethod::kNone}) {
    DownsampleOptions o;
    o.method = m;
    o.target_points = 200;
    queries.push_back(o);
    o.step_min = 30000;
    o.step_max = 170000;
    queries.push_back(o);
  }
  for (int pass = 0; pass < 4; ++pass) {
    for (int i = 0; i < 50000; ++i, ++step) REQUIRE(run->Log(step, "y", std::sin(step / 500.0) + 0.1 * noise(rng)).ok());
    REQUIRE(run->Flush().ok());
    Index(*catalog);
    auto points = Logged(*catalog, run->id());
    REQUIRE(points.size() == static_cast<size_t>(step));
    for (const auto& q : queries) {
      auto got = catalog->DownsampleMetric(run->id(), "y", q);
      REQUIRE(got.ok());
      RequireSame(*got, Expected(points, q));
    }
  }
  auto big = catalog->DownsampleMetric(run->id(), "y", queries[0]);
  CHECK(big->level_used >= 0);  // 200k points for N = 200: answered from the pyramid
  REQUIRE(run->Finish().ok());

  // After reopening, the pyramid is rebuilt lazily from stored points: same answers.
  catalog.reset();
  catalog = OpenCatalog(dir.path());
  auto points = Logged(*catalog, run->id());
  for (const auto& q : queries) RequireSame(*catalog->DownsampleMetric(run->id(), "y", q), Expected(points, q));
}

TEST_CASE("a spike and a dip in a 1 M point series survive catalog downsampling") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  auto run = NewRun(*store);
  const int64_t n = 1'000'000, spike = 123457, dip = 876543;
  for (int64_t i = 0; i < n; ++i) {
    double v = std::sin(i / 1000.0);
    if (i == spike) v = 1e6;
    if (i == dip) v = -1e6;
    REQUIRE(run->Log(i, "y", v).ok());
  }
  REQUIRE(run->Finish().ok());
  auto catalog = OpenCatalog(dir.path());
  Index(*catalog);
  for (DownsampleMethod m : {DownsampleMethod::kLttb, DownsampleMethod::kM4}) {
    DownsampleOptions o;
    o.method = m;
    o.target_points = 1000;
    auto r = catalog->DownsampleMetric(run->id(), "y", o);
    REQUIRE(r.ok());
    CHECK(r->points.size() <= 1000);
    bool saw_spike = false, saw_dip = false;
    for (const auto& p : r->points) {
      saw_spike = saw_spike || (p.step == spike && p.value == 1e6);
      saw_dip = saw_dip || (p.step == dip && p.value == -1e6);
    }
    CHECK(saw_spike);
    CHECK(saw_dip);
  }
}

TEST_CASE("catalog downsampling reports bad queries and unknown series") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  auto run = NewRun(*store);
  REQUIRE(run->Log(1, "y", 1).ok());
  REQUIRE(run->Finish().ok());
  auto catalog = OpenCatalog(dir.path());
  Index(*catalog);
  DownsampleOptions zero;
  zero.target_points = 0;
  CHECK(catalog->DownsampleMetric(run->id(), "y", zero).status().code() == StatusCode::kInvalidArgument);
  CHECK(catalog->DownsampleMetric(run->id(), "nope", {}).status().message() ==
        fmt::format("run {} has no metric 'nope'", run->id()));
  CHECK(catalog->DownsampleMetric("../x", "y", {}).status().code() == StatusCode::kInvalidArgument);
  DownsampleOptions outside;
  outside.step_min = 100;
  auto empty = catalog->DownsampleMetric(run->id(), "y", outside);
  REQUIRE(empty.ok());
  CHECK(empty->points.empty());
}
