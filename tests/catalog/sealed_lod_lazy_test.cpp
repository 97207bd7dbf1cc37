// A sealed series' pyramid is loaded lazily from its LOD object after a restart: a block found
// damaged only when a chart first needs it is rebuilt from the segment (same answers), and when the
// segment cannot give those points either the chart is Corruption, never a wrong answer.
#include <fstream>

#include "catalog/sealed_support.h"

using namespace runtrack;
using namespace runtrack::testing;
namespace fs = std::filesystem;

namespace {

constexpr int kPoints = 150'000;  // level 0: 1172 buckets in 3 blocks; level 1: 147; LOD ~80 KB

std::vector<DownsampleOptions> Charts() {
  std::vector<DownsampleOptions> charts;
  auto add = [&](size_t n, std::optional<int64_t> lo, std::optional<int64_t> hi, DownsampleMethod m) {
    DownsampleOptions o;
    o.target_points = n;
    o.step_min = lo;
    o.step_max = hi;
    o.method = m;
    charts.push_back(o);
  };
  for (DownsampleMethod m : {DownsampleMethod::kLttb, DownsampleMethod::kM4}) {
    add(100, std::nullopt, std::nullopt, m);  // level 0, every block
    add(30, std::nullopt, std::nullopt, m);   // level 1
    add(10, 1000, 5000, m);                   // inside level-0 block 0
    add(50, 60'000, 90'000, m);               // across the border of level-0 blocks 0 and 1
    add(5, kPoints - 900, std::nullopt, m);   // the right edge
  }
  return charts;
}

std::string Answers(Catalog& catalog, const std::string& id) {
  std::string out;
  for (const DownsampleOptions& o : Charts()) {
    auto ds = catalog.DownsampleMetric(id, "loss", o);
    Must(ds.status());
    out += fmt::format("ds level={} in_range={}\n", ds->level_used, ds->points_in_range);
    Put(&out, ds->points);
  }
  return out;
}

fs::path OnlyFile(const fs::path& root, const std::string& id, const std::string& ext) {
  std::vector<fs::path> found;
  for (const auto& e : fs::directory_iterator(StoreLayout(root).segments_dir(id)))
    if (e.path().extension() == ext) found.push_back(e.path());
  REQUIRE(found.size() == 1);
  return found[0];
}

void FlipByte(const fs::path& file, uint64_t at) {
  std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(static_cast<std::streamoff>(at));
  char c = 0;
  f.read(&c, 1);
  c = static_cast<char>(c ^ 0x20);
  f.seekp(static_cast<std::streamoff>(at));
  f.write(&c, 1);
}

}  // namespace

TEST_CASE("a LOD block damaged after sealing is rebuilt from the segment when a chart needs it",
          "[sealed][lod_lazy]") {
  TempDir dir;
  std::string id;
  {
    auto store = OpenStore(dir.path());
    auto run = NewRun(*store);
    id = run->id();
    std::mt19937_64 rng(3);
    std::normal_distribution<double> noise(0, 1);
    for (int i = 0; i < kPoints; ++i) {
      const double v = i == 77'777 ? std::numeric_limits<double>::quiet_NaN() : std::exp(-i / 30000.0) + 0.1 * noise(rng);
      REQUIRE(run->Log(i, "loss", v).ok());
    }
    REQUIRE(run->Finish().ok());
  }
  Index(*OpenCatalogWith(dir.path(), SealingOff()));
  std::string before;
  {
    auto catalog = OpenCatalogWith(dir.path(), SealingOff());
    before = Answers(*catalog, id);
    REQUIRE(catalog->SealFinishedRuns().ok());
  }
  {
    auto catalog = OpenCatalogWith(dir.path(), SealingOff());
    CheckSameAnswers(Answers(*catalog, id), before);  // intact: the lazy path
  }
  // A third into the object is inside level 0's second block (level 0 is stored first and is half
  // of the object); open reads only the last ~5 KB, so the damage is found by the first chart.
  const fs::path lod = OnlyFile(dir.path(), id, ".lod");
  REQUIRE(fs::file_size(lod) > 48 * 1024);
  FlipByte(lod, fs::file_size(lod) / 3);
  {
    auto catalog = OpenCatalogWith(dir.path(), SealingOff());
    CheckSameAnswers(Answers(*catalog, id), before);
  }
  // The segment is gone too: the block cannot be rebuilt, and the whole-series chart that needs it
  // says so instead of answering from empty buckets.
  fs::resize_file(OnlyFile(dir.path(), id, ".seg"), 100);
  auto catalog = OpenCatalogWith(dir.path(), SealingOff());
  auto ds = catalog->DownsampleMetric(id, "loss", Charts()[0]);
  CHECK(ds.status().code() == StatusCode::kCorruption);
  CHECK(ds.status().message().starts_with("LOD level 0 block 1 fails its CRC-32C check; rebuilding it from the raw "
                                          "points failed: corruption: segment "));
  // A chart from blocks that are intact still answers (level 1 and the coarse levels).
  auto level1 = catalog->DownsampleMetric(id, "loss", Charts()[1]);
  INFO(level1.status().ToString());
  CHECK(level1.ok());
  // The metrics table (metrics_step) reads the same pyramid: the same Corruption, never a table
  // built from empty buckets, and a table from intact blocks still answers.
  MetricQuery table_query;
  table_query.metrics = {"loss"};
  table_query.downsample = 100;
  for (int attempt = 0; attempt < 2; ++attempt) {  // the damaged pyramid is dropped, not kept
    auto table = catalog->QueryMetrics(id, table_query);
    CHECK(table.status().code() == StatusCode::kCorruption);
    CHECK(table.status().message().starts_with("LOD level 0 block 1 fails its CRC-32C check; rebuilding it from the "
                                               "raw points failed: corruption: segment "));
  }
  table_query.downsample = 30;
  auto intact = catalog->QueryMetrics(id, table_query);
  INFO(intact.status().ToString());
  REQUIRE(intact.ok());
  CHECK(intact->rows.steps.size() >= 30);
}
