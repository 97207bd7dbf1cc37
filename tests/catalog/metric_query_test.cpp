// Catalog::QueryMetrics (chart tables from one ingest pass) and Catalog::ReadMetricSince (live
// streams by arrival ordinal).
#include <atomic>
#include <chrono>
#include <cmath>
#include <map>
#include <thread>

#include "catalog/catalog_support.h"

using namespace runtrack;
using namespace runtrack::testing;

namespace {

using Row = std::vector<std::optional<double>>;

// Wall times come from the clock; a pause makes "logged later" unambiguous without asserting on time.
void PauseForClock() { std::this_thread::sleep_for(std::chrono::milliseconds(2)); }

void FlushAndIndex(Run& run, Catalog& catalog) {
  REQUIRE(run.Flush().ok());
  Index(catalog);
}

MetricTable Query(const Catalog& catalog, const std::string& id, const MetricQuery& query) {
  auto table = catalog.QueryMetrics(id, query);
  INFO(table.status().ToString());
  REQUIRE(table.ok());
  REQUIRE(table->rows.values.size() == table->rows.steps.size());
  REQUIRE(table->wall_time.size() == table->rows.steps.size());
  REQUIRE(table->stage_index.size() == table->rows.steps.size());
  REQUIRE(table->stage.size() == table->rows.steps.size());
  return *table;
}

// The stored point of `metric` at `step` (the later-logged one when repeated).
MetricPoint PointAt(const Catalog& catalog, const std::string& id, const std::string& metric, int64_t step) {
  auto series = catalog.ReadMetric(id, metric, step, step);
  REQUIRE(series.ok());
  REQUIRE(series->points.size() == 1);
  return series->points[0];
}

void RequireSameTable(const MetricTable& got, const MetricTable& want) {
  CHECK(got.rows.columns == want.rows.columns);
  REQUIRE(got.rows.steps == want.rows.steps);
  for (size_t r = 0; r < got.rows.steps.size(); ++r) {
    INFO("row " << r << " step " << got.rows.steps[r]);
    REQUIRE(got.rows.values[r] == want.rows.values[r]);
    REQUIRE(got.wall_time[r] == want.wall_time[r]);
    REQUIRE(got.stage[r] == want.stage[r]);
    REQUIRE(got.stage_index[r] == want.stage_index[r]);
  }
}

}  // namespace

TEST_CASE("a chart query joins metrics with different steps into one exact table", "[metric_query]") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  auto run = NewRun(*store);
  auto catalog = OpenCatalog(dir.path());
  REQUIRE(run->Log({{"loss", 1.0}, {"acc", 0.1}}, 0, "train").ok());
  REQUIRE(run->Log(1, "loss", 0.9).ok());
  REQUIRE(run->Log({{"acc", 0.3}}, 2, "eval").ok());
  REQUIRE(run->Log({{"loss", 0.5}}, 3, "train").ok());
  FlushAndIndex(*run, *catalog);
  const std::string id = run->id();

  MetricQuery q;
  q.metrics = {"loss", "acc", "nope", "loss"};
  MetricTable t = Query(*catalog, id, q);
  CHECK(t.rows.columns == std::vector<std::string>{"step", "loss", "acc"});
  CHECK(t.missing_metrics == std::vector<std::string>{"nope"});
  REQUIRE(t.rows.steps == std::vector<int64_t>{0, 1, 2, 3});
  CHECK(t.rows.values[0] == Row{1.0, 0.1});
  CHECK(t.rows.values[1] == Row{0.9, std::nullopt});
  CHECK(t.rows.values[2] == Row{std::nullopt, 0.3});
  CHECK(t.rows.values[3] == Row{0.5, std::nullopt});
  CHECK(t.stage == std::vector<std::string>{"train", "", "eval", "train"});
  for (size_t r = 0; r < t.stage.size(); ++r) CHECK(t.stages.at(t.stage_index[r]) == t.stage[r]);
  CHECK(t.stages.at(0) == "");
  CHECK(t.wall_time[0] == PointAt(*catalog, id, "loss", 0).wall_time);
  CHECK(t.wall_time[1] == PointAt(*catalog, id, "loss", 1).wall_time);
  CHECK(t.wall_time[2] == PointAt(*catalog, id, "acc", 2).wall_time);
  CHECK(t.wall_time[3] == PointAt(*catalog, id, "loss", 3).wall_time);
  CHECK(t.points_in_range == 5);
  CHECK(t.total_steps == 4u);
  CHECK_FALSE(t.downsampled);
  CHECK_FALSE(t.truncated);
  CHECK_FALSE(t.next_step.has_value());

  SECTION("no names means every metric, by name") {
    MetricTable all = Query(*catalog, id, MetricQuery{});
    CHECK(all.rows.columns == std::vector<std::string>{"step", "acc", "loss"});
    CHECK(all.missing_metrics.empty());
    CHECK(all.rows.values[0] == Row{0.1, 1.0});
  }
  SECTION("a step range keeps only the rows inside it") {
    q.step_min = 1;
    q.step_max = 2;
    MetricTable part = Query(*catalog, id, q);
    CHECK(part.rows.steps == std::vector<int64_t>{1, 2});
    CHECK(part.rows.values[0] == Row{0.9, std::nullopt});
    CHECK(part.rows.values[1] == Row{std::nullopt, 0.3});
    CHECK(part.stage == std::vector<std::string>{"", "eval"});
    CHECK(part.points_in_range == 2);
    CHECK(part.total_steps == 2u);
  }
  SECTION("a range that misses the data is an empty table, not an error") {
    q.step_min = 100;
    MetricTable none = Query(*catalog, id, q);
    CHECK(none.rows.steps.empty());
    CHECK(none.rows.columns == std::vector<std::string>{"step", "loss", "acc"});
    CHECK(none.total_steps == 0u);
    CHECK(none.points_in_range == 0);
  }
  SECTION("only unknown names: no columns, all missing") {
    q.metrics = {"x", "y"};
    MetricTable none = Query(*catalog, id, q);
    CHECK(none.rows.columns == std::vector<std::string>{"step"});
    CHECK(none.missing_metrics == std::vector<std::string>{"x", "y"});
    CHECK(none.rows.steps.empty());
  }
  REQUIRE(run->Finish().ok());
}

TEST_CASE("a step logged twice takes value, wall time and stage from the later record", "[metric_query]") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  auto run = NewRun(*store);
  auto catalog = OpenCatalog(dir.path());
  // Within one metric: step 5 first under "train", then again under "eval".
  REQUIRE(run->Log({{"loss", 1.0}}, 5, "train").ok());
  REQUIRE(run->Log({{"loss", 1.5}}, 6, "train").ok());
  PauseForClock();
  REQUIRE(run->Log({{"loss", 2.0}}, 5, "eval").ok());
  // Across metrics: "a" at step 7 under "train", later "b" at step 7 under "eval".
  REQUIRE(run->Log({{"a", 10.0}}, 7, "train").ok());
  PauseForClock();
  REQUIRE(run->Log({{"b", 20.0}}, 7, "eval").ok());
  FlushAndIndex(*run, *catalog);
  const std::string id = run->id();

  MetricQuery q;
  q.metrics = {"loss"};
  MetricTable t = Query(*catalog, id, q);
  REQUIRE(t.rows.steps == std::vector<int64_t>{5, 6});
  CHECK(t.rows.values[0] == Row{2.0});
  CHECK(t.stage == std::vector<std::string>{"eval", "train"});
  CHECK(t.wall_time[0] == PointAt(*catalog, id, "loss", 5).wall_time);
  CHECK(t.points_in_range == 3);
  CHECK(t.total_steps == 2u);

  for (std::vector<std::string> order : {std::vector<std::string>{"a", "b"}, std::vector<std::string>{"b", "a"}}) {
    q.metrics = order;
    MetricTable ab = Query(*catalog, id, q);
    REQUIRE(ab.rows.steps == std::vector<int64_t>{7});
    CHECK(ab.rows.values[0] == (order[0] == "a" ? Row{10.0, 20.0} : Row{20.0, 10.0}));
    CHECK(ab.stage == std::vector<std::string>{"eval"});  // b was logged later, whatever the column order
    CHECK(ab.wall_time[0] == PointAt(*catalog, id, "b", 7).wall_time);
  }

  SECTION("the same holds when the query is downsampled") {
    q.metrics = {"loss", "a", "b"};
    q.downsample = 1000;
    MetricTable d = Query(*catalog, id, q);
    REQUIRE(d.rows.steps == std::vector<int64_t>{5, 6, 7});
    CHECK(d.stage == std::vector<std::string>{"eval", "train", "eval"});
    CHECK(d.rows.values[0] == Row{2.0, std::nullopt, std::nullopt});
    CHECK(d.downsampled);  // the superseded repeat of step 5 is not returned
    CHECK_FALSE(d.total_steps.has_value());
  }
  REQUIRE(run->Finish().ok());
}

TEST_CASE("a downsampled chart query equals the per-metric downsampling joined on step", "[metric_query]") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  auto run = NewRun(*store);
  auto catalog = OpenCatalog(dir.path());
  for (int64_t step = 0; step < 20000; ++step) {
    const char* stage = step < 10000 ? "warmup" : "train";
    if (step % 3 == 0) {
      REQUIRE(run->Log({{"y", std::sin(step / 300.0)}, {"z", std::cos(step / 70.0)}}, step, stage).ok());
    } else {
      REQUIRE(run->Log({{"y", std::sin(step / 300.0)}}, step, stage).ok());
    }
  }
  FlushAndIndex(*run, *catalog);
  const std::string id = run->id();

  for (DownsampleMethod method : {DownsampleMethod::kLttb, DownsampleMethod::kM4, DownsampleMethod::kMinMax}) {
    for (std::optional<int64_t> lo : {std::optional<int64_t>{}, std::optional<int64_t>{4321}}) {
      MetricQuery q;
      q.metrics = {"z", "y"};
      q.downsample = 150;
      q.method = method;
      q.step_min = lo;
      MetricTable t = Query(*catalog, id, q);

      DownsampleOptions o;
      o.target_points = 150;
      o.method = method;
      o.step_min = lo;
      std::vector<std::pair<std::string, DownsampleResult>> per_metric;
      uint64_t in_range = 0;
      for (const char* name : {"z", "y"}) {
        auto r = catalog->DownsampleMetric(id, name, o);
        REQUIRE(r.ok());
        in_range += r->points_in_range;
        per_metric.emplace_back(name, *r);
      }
      MetricRows want = BuildMetricRows(per_metric);
      CHECK(t.rows.columns == want.columns);
      REQUIRE(t.rows.steps == want.steps);
      CHECK(t.rows.values == want.values);
      CHECK(t.points_in_range == in_range);
      CHECK(t.downsampled);
      CHECK_FALSE(t.total_steps.has_value());
      CHECK(t.rows.steps.size() < 2 * 150 + 10);
      for (size_t r = 0; r < t.rows.steps.size(); ++r) {
        const int64_t step = t.rows.steps[r];
        CHECK(t.stage[r] == (step < 10000 ? "warmup" : "train"));
        // The row's time is that of a point the join chose at this step.
        const std::string from = t.rows.values[r][1] ? "y" : "z";
        CHECK(t.wall_time[r] == PointAt(*catalog, id, from, step).wall_time);
      }
    }
  }

  SECTION("a target larger than the range returns every point, and the exact step count") {
    MetricQuery q;
    q.metrics = {"y", "z"};
    q.downsample = 1000;
    q.step_min = 100;
    q.step_max = 299;
    MetricTable t = Query(*catalog, id, q);
    CHECK_FALSE(t.downsampled);
    CHECK(t.total_steps == 200u);
    CHECK(t.rows.steps.size() == 200);
    CHECK(t.points_in_range == 200 + 66);  // y at every step, z at 102, 105, ..., 297
  }
  REQUIRE(run->Finish().ok());
}

TEST_CASE("chart queries reject bad input with a clear error", "[metric_query]") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  auto run = NewRun(*store);
  auto catalog = OpenCatalog(dir.path());
  REQUIRE(run->Log(1, "y", 1.0).ok());
  FlushAndIndex(*run, *catalog);
  const std::string id = run->id();

  MetricQuery q;
  CHECK(catalog->QueryMetrics("../../etc", q).status().code() == StatusCode::kInvalidArgument);
  CHECK(catalog->QueryMetrics("20240101_000000_abcdef", q).status().code() == StatusCode::kNotFound);
  q.downsample = 0;
  CHECK(catalog->QueryMetrics(id, q).status().code() == StatusCode::kInvalidArgument);
  q.downsample = 10;
  q.max_rows = 5;
  auto both = catalog->QueryMetrics(id, q);
  CHECK(both.status().code() == StatusCode::kInvalidArgument);
  CHECK(both.status().message().find("max_rows") != std::string::npos);
  q = MetricQuery{};
  q.step_min = 5;
  q.step_max = 4;
  CHECK(catalog->QueryMetrics(id, q).status().code() == StatusCode::kInvalidArgument);
  REQUIRE(run->Finish().ok());
}

TEST_CASE("max_rows pages concatenate to exactly the unpaged table", "[metric_query]") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  auto run = NewRun(*store);
  auto catalog = OpenCatalog(dir.path());
  // Metrics with different step sets and changing stages. "a" repeats step 100 at the very end, so
  // its steps go backwards (answered by sorting); "d" repeats steps right away, so its steps never
  // go backwards (answered by the streamed merge); "b" and "c" are plain.
  for (int64_t step = 0; step < 2500; ++step) {
    const char* stage = (step / 400) % 2 == 0 ? "train" : "eval";
    REQUIRE(run->Log({{"a", double(step)}}, step * 2, stage).ok());
    if (step % 3 == 0) REQUIRE(run->Log({{"b", -double(step)}}, step * 2 + 1, stage).ok());
    if (step % 5 == 0) REQUIRE(run->Log({{"c", 0.5 * double(step)}}, step * 2, "test").ok());
    if (step % 7 == 0) {
      REQUIRE(run->Log({{"d", double(step)}}, step * 2 + 1, "train").ok());
      PauseForClock();
      REQUIRE(run->Log({{"d", double(step) + 0.25}}, step * 2 + 1, "redo").ok());
    }
  }
  REQUIRE(run->Log({{"a", 42.0}}, 100, "redo").ok());
  FlushAndIndex(*run, *catalog);
  const std::string id = run->id();

  for (std::vector<std::string> metrics : {std::vector<std::string>{"a", "b", "c"},
                                           std::vector<std::string>{"b", "c", "d"}}) {
    INFO("metrics " << metrics[0] << metrics[1] << metrics[2]);
    MetricQuery all;
    all.metrics = metrics;
    all.step_min = 10;
    const MetricTable whole = Query(*catalog, id, all);
    REQUIRE(whole.total_steps == whole.rows.steps.size());
    REQUIRE(whole.rows.steps.size() > 1000);  // several pages
    CHECK_FALSE(whole.truncated);
    CHECK_FALSE(whole.downsampled);

    // A target above the point count downsamples nothing: the per-metric path gives the same table.
    MetricQuery everything = all;
    everything.downsample = 1'000'000;
    const MetricTable unreduced = Query(*catalog, id, everything);
    RequireSameTable(unreduced, whole);
    CHECK(unreduced.points_in_range == whole.points_in_range);

    MetricTable joined;
    MetricQuery page = all;
    page.max_rows = 333;
    int pages = 0;
    for (;;) {
      MetricTable t = Query(*catalog, id, page);
      ++pages;
      // total_steps counts the distinct steps from this page's step_min on, so pages can say "of N".
      const auto left = std::count_if(whole.rows.steps.begin(), whole.rows.steps.end(),
                                      [&](int64_t s) { return s >= *page.step_min; });
      REQUIRE(t.total_steps == static_cast<uint64_t>(left));
      REQUIRE(t.rows.steps.size() <= 333);
      joined.rows.columns = t.rows.columns;
      joined.rows.steps.insert(joined.rows.steps.end(), t.rows.steps.begin(), t.rows.steps.end());
      joined.rows.values.insert(joined.rows.values.end(), t.rows.values.begin(), t.rows.values.end());
      joined.wall_time.insert(joined.wall_time.end(), t.wall_time.begin(), t.wall_time.end());
      joined.stage.insert(joined.stage.end(), t.stage.begin(), t.stage.end());
      joined.stage_index.insert(joined.stage_index.end(), t.stage_index.begin(), t.stage_index.end());
      if (!t.truncated) {
        CHECK_FALSE(t.next_step.has_value());
        break;
      }
      REQUIRE(t.rows.steps.size() == 333);
      REQUIRE(t.next_step.has_value());
      REQUIRE(*t.next_step > t.rows.steps.back());
      page.step_min = t.next_step;
    }
    CHECK(pages == static_cast<int>((whole.rows.steps.size() + 332) / 333));
    RequireSameTable(joined, whole);
  }

  MetricQuery q;
  q.metrics = {"a", "b", "c", "d"};
  q.step_min = 85;
  q.step_max = 100;
  MetricTable t = Query(*catalog, id, q);
  REQUIRE(t.rows.steps.front() == 85);
  REQUIRE(t.rows.steps.back() == 100);
  // Step 85: "b" and the first "d" came earlier than the second "d" (42.25, "redo").
  CHECK(t.rows.values.front() == Row{std::nullopt, -42.0, std::nullopt, 42.25});
  CHECK(t.stage.front() == "redo");
  CHECK(t.wall_time.front() == PointAt(*catalog, id, "d", 85).wall_time);
  // Step 100: "a" was logged again last (42, "redo"); "c" at step 100 was logged earlier.
  CHECK(t.rows.values.back() == Row{42.0, std::nullopt, 25.0, std::nullopt});
  CHECK(t.stage.back() == "redo");
  CHECK(t.wall_time.back() == PointAt(*catalog, id, "a", 100).wall_time);
  REQUIRE(run->Finish().ok());
}

TEST_CASE("every chart answer comes from one ingest pass while a writer and an indexer run", "[metric_query]") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  auto run = NewRun(*store);
  auto catalog = OpenCatalog(dir.path());
  const std::string id = run->id();
  // "a" and "b" are always logged in one call at the same step, so every pass holds both or
  // neither of a step (a pass can only end inside a call at its very last step).
  constexpr int64_t kSteps = 60000;
  // Catch2 assertions are not thread-safe: the helper threads count failures, checked at the end.
  std::atomic<bool> writing{true}, stop{false};
  std::atomic<int> writer_errors{0}, indexer_errors{0};
  std::thread writer([&] {
    for (int64_t step = 0; step < kSteps && !stop; ++step) {
      if (!run->Log({{"a", double(step)}, {"b", -double(step)}}, step).ok()) ++writer_errors;
      if (step % 1500 == 0 && !run->Flush().ok()) ++writer_errors;
    }
    if (!run->Flush().ok()) ++writer_errors;
    writing = false;
  });
  std::thread indexer([&] {
    while (writing)
      if (!catalog->Refresh().ok()) ++indexer_errors;
    if (!catalog->Refresh().ok()) ++indexer_errors;
  });
  // A failed REQUIRE below leaves the scope by exception: stop and join the threads first.
  struct Joiner {
    std::atomic<bool>& stop;
    std::thread &a, &b;
    ~Joiner() {
      stop = true;
      if (a.joinable()) a.join();
      if (b.joinable()) b.join();
    }
  } joiner{stop, writer, indexer};
  MetricQuery q;
  q.metrics = {"a", "b"};
  size_t answers = 0, previous_rows = 0, rows = 0;
  bool done = false;
  while (!done) {
    done = !writing;  // one more answer after the writer stopped
    auto t = catalog->QueryMetrics(id, q);
    if (!t.ok() && t.status().code() == StatusCode::kNotFound) continue;  // not indexed yet
    REQUIRE(t.ok());
    ++answers;
    rows = t->rows.steps.size();
    REQUIRE(rows >= previous_rows);  // passes only add
    previous_rows = rows;
    REQUIRE(t->total_steps == rows);
    for (size_t r = 0; r < rows; ++r) {
      REQUIRE(t->rows.steps[r] == static_cast<int64_t>(r));
      const Row& v = t->rows.values[r];
      if (r + 1 < rows) {
        INFO("step " << r << " of " << rows);
        REQUIRE(v[0].has_value());
        REQUIRE(v[1].has_value());
      }
      if (v[0]) REQUIRE(*v[0] == double(r));
      if (v[1]) REQUIRE(*v[1] == -double(r));
    }
    if (rows > 0) {  // the pass may end between the two points of its last step, never further apart
      REQUIRE((t->rows.values.back()[0].has_value() || t->rows.values.back()[1].has_value()));
    }
  }
  writer.join();
  indexer.join();
  REQUIRE(writer_errors == 0);
  REQUIRE(indexer_errors == 0);
  auto last = catalog->QueryMetrics(id, q);
  REQUIRE(last.ok());
  CHECK(last->rows.steps.size() == static_cast<size_t>(kSteps));
  CHECK(answers > 1);
  REQUIRE(run->Finish().ok());
}

TEST_CASE("ReadMetricSince chunks concatenate to the series in logging order across passes", "[metric_since]") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  auto run = NewRun(*store);
  auto catalog = OpenCatalog(dir.path());
  const std::string id = run->id();
  // Batch sizes cross the 1024-point stored chunks in every way: inside the partly filled last
  // chunk (rewritten each pass), exactly up to a boundary, across one and across several.
  const std::vector<int> batches = {1, 5, 1017, 1, 1024, 1023, 2, 3000, 0, 1, 4096, 7};
  MetricCursor cursor;
  std::vector<MetricPoint> streamed;
  int64_t step = 0;
  for (int n : batches) {
    for (int i = 0; i < n; ++i, ++step)
      REQUIRE(run->Log({{"y", double(step) * 0.5}}, step, step % 2 ? "odd" : "even").ok());
    FlushAndIndex(*run, *catalog);
    auto chunk = catalog->ReadMetricSince(id, "y", cursor);
    INFO(chunk.status().ToString());
    REQUIRE(chunk.ok());
    REQUIRE(chunk->points.size() == static_cast<size_t>(n));
    REQUIRE(chunk->cursor.position == cursor.position + static_cast<uint64_t>(n));
    streamed.insert(streamed.end(), chunk->points.begin(), chunk->points.end());
    cursor = chunk->cursor;
    for (const MetricPoint& p : chunk->points)
      REQUIRE(chunk->stages.at(p.stage) == (p.step % 2 ? "odd" : "even"));
  }
  auto all = catalog->ReadMetric(id, "y");  // strictly increasing steps: step order is logging order
  REQUIRE(all.ok());
  REQUIRE(streamed.size() == all->points.size());
  for (size_t i = 0; i < streamed.size(); ++i) {
    REQUIRE(streamed[i].step == all->points[i].step);
    REQUIRE(streamed[i].value == all->points[i].value);
    REQUIRE(streamed[i].wall_time == all->points[i].wall_time);
    REQUIRE(streamed[i].stage == all->points[i].stage);
  }
  auto at_end = catalog->MetricCursorAtEnd(id, "y");
  REQUIRE(at_end.ok());
  CHECK(*at_end == cursor);
  auto nothing = catalog->ReadMetricSince(id, "y", cursor);
  REQUIRE(nothing.ok());
  CHECK(nothing->points.empty());
  CHECK(nothing->cursor == cursor);
  REQUIRE(run->Finish().ok());

  SECTION("a cursor stays valid after the catalog is rebuilt from the journals") {
    catalog.reset();
    std::filesystem::remove_all(dir.path() / "catalog");
    catalog = OpenCatalog(dir.path());
    Index(*catalog);
    auto again = catalog->ReadMetricSince(id, "y", MetricCursor{cursor.position - 3});
    REQUIRE(again.ok());
    REQUIRE(again->points.size() == 3);
    CHECK(again->points[0].step == streamed[streamed.size() - 3].step);
    CHECK(again->points[2].wall_time == streamed.back().wall_time);
  }
}

TEST_CASE("ReadMetricSince returns repeated and backward steps as logged", "[metric_since]") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  auto run = NewRun(*store);
  auto catalog = OpenCatalog(dir.path());
  const std::string id = run->id();
  REQUIRE(run->Log({{"y", 1.0}}, 10, "train").ok());
  FlushAndIndex(*run, *catalog);
  // A stream that starts now sees only what comes next.
  auto start = catalog->MetricCursorAtEnd(id, "y");
  REQUIRE(start.ok());
  CHECK(start->position == 1);
  REQUIRE(run->Log({{"y", 2.0}}, 11, "train").ok());
  REQUIRE(run->Log({{"y", 3.0}}, 5, "eval").ok());   // backwards (resumed from a checkpoint)
  REQUIRE(run->Log({{"y", 4.0}}, 11, "eval").ok());  // repeated
  REQUIRE(run->Log({{"y", NAN}}, 12).ok());
  FlushAndIndex(*run, *catalog);
  auto chunk = catalog->ReadMetricSince(id, "y", *start);
  REQUIRE(chunk.ok());
  REQUIRE(chunk->points.size() == 4);
  const std::vector<std::pair<int64_t, std::string>> want = {{11, "train"}, {5, "eval"}, {11, "eval"}, {12, ""}};
  for (size_t i = 0; i < want.size(); ++i) {
    CHECK(chunk->points[i].step == want[i].first);
    CHECK(chunk->stages.at(chunk->points[i].stage) == want[i].second);
  }
  CHECK(chunk->points[0].value == 2.0);
  CHECK(chunk->points[2].value == 4.0);
  CHECK(std::isnan(chunk->points[3].value));
  CHECK(chunk->cursor.position == 5);
  auto from_start = catalog->ReadMetricSince(id, "y");
  REQUIRE(from_start.ok());
  CHECK(from_start->points.size() == 5);
  CHECK(from_start->points[0].value == 1.0);
  REQUIRE(run->Finish().ok());
}

TEST_CASE("ReadMetricSince reports unknown runs and metrics and cursors past the end", "[metric_since]") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  auto run = NewRun(*store);
  auto catalog = OpenCatalog(dir.path());
  const std::string id = run->id();
  REQUIRE(run->Log(1, "y", 1.0).ok());
  REQUIRE(run->Log(2, "y", 2.0).ok());
  FlushAndIndex(*run, *catalog);
  CHECK(catalog->ReadMetricSince("../x", "y").status().code() == StatusCode::kInvalidArgument);
  CHECK(catalog->ReadMetricSince("20240101_000000_abcdef", "y").status().code() == StatusCode::kNotFound);
  CHECK(catalog->MetricCursorAtEnd("20240101_000000_abcdef", "y").status().code() == StatusCode::kNotFound);
  auto later = catalog->ReadMetricSince(id, "not_yet");
  CHECK(later.status().code() == StatusCode::kNotFound);
  CHECK(later.status().message().find("not_yet") != std::string::npos);
  CHECK(catalog->MetricCursorAtEnd(id, "not_yet").status().code() == StatusCode::kNotFound);
  auto beyond = catalog->ReadMetricSince(id, "y", MetricCursor{3});
  CHECK(beyond.status().code() == StatusCode::kFailedPrecondition);
  CHECK(beyond.status().message().find("beyond the end") != std::string::npos);
  auto exact_end = catalog->ReadMetricSince(id, "y", MetricCursor{2});
  REQUIRE(exact_end.ok());
  CHECK(exact_end->points.empty());
  REQUIRE(run->Finish().ok());
}
