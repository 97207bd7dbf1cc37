// Core storage benchmarks (issue 2). Each figure comes with a baseline measured in the same run:
//   Log            vs appending the same 32-byte record to a std::vector (the floor for any buffer)
//   writer         vs write(2) of the same number of bytes in 1 MiB blocks
//   indexer        vs only reading + checksumming the journal (ReadJournal with an empty callback)
//   list runs      filtered page of 50 vs an unfiltered page of 50, over 10,000 runs
//   chart query    DownsampleMetric (N = 1000) vs reading the whole series back
//
//   ./build/tests/bench_core --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <vector>

#include <fmt/format.h>

#include "journal/journal_format.h"
#include "journal/journal_reader.h"
#include "runtrack/catalog.h"
#include "runtrack/store.h"

namespace fs = std::filesystem;
using namespace runtrack;

namespace {

fs::path ScratchRoot(const char* name) {
  fs::path p = fs::temp_directory_path() / fmt::format("runtrack-bench-{}-{}", name, ::getpid());
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

std::unique_ptr<Run> MakeRun(Store& store) {
  RunOptions o;
  o.flush.flush_interval = std::chrono::milliseconds(200);
  return std::move(store.CreateRun(o)).value();
}

void BM_BaselineVectorAppend(benchmark::State& state) {
  std::vector<journal::PackedPoint> buf;
  int64_t step = 0;
  for (auto _ : state) {
    buf.push_back({1, 0, step++, 0.0, 1.5});
    if (buf.size() == (1u << 20)) buf.clear();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_BaselineVectorAppend);

void BM_RunLogScalar(benchmark::State& state) {
  fs::path root = ScratchRoot("log");
  auto store = std::move(Store::Open(root)).value();
  auto run = MakeRun(*store);
  int64_t step = 0;
  for (auto _ : state) benchmark::DoNotOptimize(run->Log(step++, "loss", 1.5));
  state.SetItemsProcessed(state.iterations());
  (void)run->Finish();
  fs::remove_all(root);
}
BENCHMARK(BM_RunLogScalar);

void BM_RunLogThreeScalars(benchmark::State& state) {
  fs::path root = ScratchRoot("log3");
  auto store = std::move(Store::Open(root)).value();
  auto run = MakeRun(*store);
  int64_t step = 0;
  for (auto _ : state) benchmark::DoNotOptimize(run->Log({{"loss", 1.5}, {"acc", 0.5}, {"lr", 0.1}}, step++));
  state.SetItemsProcessed(state.iterations() * 3);  // per scalar
  (void)run->Finish();
  fs::remove_all(root);
}
BENCHMARK(BM_RunLogThreeScalars);

constexpr int kWriterPoints = 2'000'000;

void BM_BaselineWriteSameBytes(benchmark::State& state) {
  fs::path root = ScratchRoot("write");
  std::string block(1 << 20, 'x');
  size_t total = kWriterPoints * (sizeof(journal::PackedPoint));
  for (auto _ : state) {
    int fd = ::open((root / "f").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    for (size_t done = 0; done < total; done += block.size()) (void)!::write(fd, block.data(), block.size());
    ::fdatasync(fd);
    ::close(fd);
  }
  state.SetItemsProcessed(state.iterations() * kWriterPoints);
  fs::remove_all(root);
}
BENCHMARK(BM_BaselineWriteSameBytes)->Unit(benchmark::kMillisecond)->UseRealTime();

// Logs 2 M points through Run::Log and Finish() (which waits for the journal to be on disk).
void BM_WriterThroughput(benchmark::State& state) {
  fs::path root = ScratchRoot("writer");
  auto store = std::move(Store::Open(root)).value();
  for (auto _ : state) {
    auto run = MakeRun(*store);
    for (int64_t i = 0; i < kWriterPoints; ++i) (void)run->Log(i, "loss", 1.0 / (i + 1));
    (void)run->Finish();
  }
  state.SetItemsProcessed(state.iterations() * kWriterPoints);
  fs::remove_all(root);
}
BENCHMARK(BM_WriterThroughput)->Unit(benchmark::kMillisecond)->UseRealTime();

// A store with one finished run of 2 M points in 4 series, indexed from scratch per iteration.
struct IngestFixture {
  fs::path root = ScratchRoot("ingest");
  std::string run_id;
  IngestFixture() {
    auto store = std::move(Store::Open(root)).value();
    auto run = MakeRun(*store);
    run_id = run->id();
    for (int64_t i = 0; i < kWriterPoints / 4; ++i)
      (void)run->Log({{"loss", 1.0 / (i + 1)}, {"acc", 0.5}, {"lr", 0.1}, {"grad", i * 0.01}}, i);
    (void)run->Finish();
  }
  ~IngestFixture() { fs::remove_all(root); }
};

void BM_BaselineJournalScan(benchmark::State& state) {
  IngestFixture f;
  fs::path journal = f.root / "runs" / f.run_id / "journal";
  for (auto _ : state) {
    uint64_t offset = 0;
    for (;;) {
      auto r = journal::ReadJournal(journal, offset, [](journal::RecordType, std::string_view) { return Status::Ok(); });
      if (r->next_offset == offset) break;
      offset = r->next_offset;
    }
  }
  state.SetItemsProcessed(state.iterations() * kWriterPoints);
}
BENCHMARK(BM_BaselineJournalScan)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_IndexerIngest(benchmark::State& state) {
  IngestFixture f;
  for (auto _ : state) {
    state.PauseTiming();
    fs::remove_all(f.root / "catalog");
    auto catalog = std::move(Catalog::Open(f.root)).value();
    state.ResumeTiming();
    auto report = catalog->Refresh();
    if (!report.ok() || report->points_ingested != kWriterPoints) state.SkipWithError("ingest incomplete");
    state.PauseTiming();
    catalog.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * kWriterPoints);
}
BENCHMARK(BM_IndexerIngest)->Unit(benchmark::kMillisecond)->UseRealTime();

// 10,000 finished runs over 20 projects with primary metrics; listing reads the in-memory index.
struct ListFixture {
  fs::path root = ScratchRoot("list");
  std::unique_ptr<Catalog> catalog;
  ListFixture() {
    auto store = std::move(Store::Open(root)).value();
    for (int i = 0; i < 10000; ++i) {
      RunOptions o;
      o.project = fmt::format("project{}", i % 20);
      o.name = fmt::format("exp{}", i % 7);
      o.tags = {i % 2 ? "gpu" : "cpu"};
      o.flush.flush_interval = std::chrono::hours(1);
      auto run = std::move(store->CreateRun(o)).value();
      (void)run->Log(1, "acc", (i % 1000) / 1000.0);
      (void)run->SetPrimaryMetric("acc", MetricMode::kMax);
      (void)run->Finish();
    }
    catalog = std::move(Catalog::Open(root)).value();
    (void)catalog->Refresh();
  }
  ~ListFixture() {
    catalog.reset();
    fs::remove_all(root);
  }
};
ListFixture* list_fixture = nullptr;

void ListBench(benchmark::State& state, RunQuery q) {
  if (list_fixture == nullptr) list_fixture = new ListFixture();
  for (auto _ : state) {
    auto page = list_fixture->catalog->ListRuns(q);
    if (!page.ok() || page->runs.size() != 50) state.SkipWithError("wrong page size");
    benchmark::DoNotOptimize(page);
  }
}

void BM_BaselineListUnfiltered(benchmark::State& state) {
  RunQuery q;
  q.limit = 50;
  ListBench(state, q);
}
BENCHMARK(BM_BaselineListUnfiltered)->Unit(benchmark::kMicrosecond);

void BM_ListFilteredPage(benchmark::State& state) {
  RunQuery q;
  q.project = "project3";
  q.tags = {"gpu"};
  q.sort_by = "best_metric_value";
  q.limit = 50;
  q.offset = 50;
  ListBench(state, q);
}
BENCHMARK(BM_ListFilteredPage)->Unit(benchmark::kMicrosecond);

void BM_ListSearchPage(benchmark::State& state) {
  RunQuery q;
  q.search = "EXP3";
  q.limit = 50;
  ListBench(state, q);
}
BENCHMARK(BM_ListSearchPage)->Unit(benchmark::kMicrosecond);

// Chart queries through the catalog (RocksDB reads included) on one series of 10^6 / 10^7 points.
// Baseline: reading the whole series back (what Runicorn does on every request before it
// downsamples).
struct SeriesFixture {
  fs::path root;
  std::unique_ptr<Catalog> catalog;
  std::string run_id;
  explicit SeriesFixture(int64_t n) : root(ScratchRoot(fmt::format("series{}", n).c_str())) {
    auto store = std::move(Store::Open(root)).value();
    auto run = MakeRun(*store);
    run_id = run->id();
    for (int64_t i = 0; i < n; ++i) (void)run->Log(i, "y", std::sin(i / 1000.0) + (i % 7) * 0.01);
    (void)run->Finish();
    catalog = std::move(Catalog::Open(root)).value();
    (void)catalog->Refresh();
    (void)catalog->DownsampleMetric(run_id, "y", {});  // build the pyramid outside the timing
  }
  ~SeriesFixture() {
    catalog.reset();
    fs::remove_all(root);
  }
};
std::map<int64_t, std::unique_ptr<SeriesFixture>> series_fixtures;
SeriesFixture& Series(int64_t n) {
  auto& f = series_fixtures[n];
  if (!f) f = std::make_unique<SeriesFixture>(n);
  return *f;
}

void BM_BaselineReadWholeSeries(benchmark::State& state) {
  SeriesFixture& f = Series(state.range(0));
  for (auto _ : state) benchmark::DoNotOptimize(f.catalog->ReadMetric(f.run_id, "y"));
}
BENCHMARK(BM_BaselineReadWholeSeries)->Arg(1'000'000)->Arg(10'000'000)->Unit(benchmark::kMillisecond);

void BM_CatalogDownsample(benchmark::State& state) {
  SeriesFixture& f = Series(state.range(0));
  DownsampleOptions o;
  o.method = state.range(1) == 0 ? DownsampleMethod::kLttb : DownsampleMethod::kM4;
  o.target_points = 1000;
  if (state.range(2) == 10) {  // a 10% range in the middle
    o.step_min = state.range(0) * 45 / 100;
    o.step_max = state.range(0) * 55 / 100;
  }
  for (auto _ : state) {
    auto r = f.catalog->DownsampleMetric(f.run_id, "y", o);
    if (!r.ok()) state.SkipWithError("query failed");
    benchmark::DoNotOptimize(r);
  }
}
// Args: series length, method (0 lttb, 1 m4), range percent.
BENCHMARK(BM_CatalogDownsample)
    ->ArgsProduct({{1'000'000, 10'000'000}, {0, 1}, {100, 10}})
    ->Unit(benchmark::kMicrosecond);

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  delete list_fixture;
  series_fixtures.clear();
  benchmark::Shutdown();
  return 0;
}
