// Shared set-up for the sealed-segment tests: a run whose values exercise every codec path
// (smooth curve, white noise, NaN payloads, +-Inf, -0.0, denormals, steps that go backwards and
// repeat, stages), and a transcript of every query shape's answer with doubles as bit patterns, so
// "sealed equals unsealed" is one exact string comparison.
#pragma once

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>

#include <fmt/format.h>

#include "catalog/catalog_support.h"

namespace runtrack::testing {

inline CatalogOptions SealingOff() {
  CatalogOptions o;
  o.seal_finished_runs = false;
  return o;
}

inline std::unique_ptr<Catalog> OpenCatalogWith(const std::filesystem::path& root, const CatalogOptions& options) {
  auto catalog = Catalog::Open(root, options);
  INFO(catalog.status().ToString());
  REQUIRE(catalog.ok());
  return std::move(catalog).value();
}

inline double FromBits(uint64_t bits) {
  double d;
  std::memcpy(&d, &bits, 8);
  return d;
}
inline uint64_t Bits(double d) {
  uint64_t u;
  std::memcpy(&u, &d, 8);
  return u;
}

// Values no arithmetic would produce: two NaN payloads (one negative), +-Inf, -0.0, a denormal.
inline const std::vector<double>& SpecialValues() {
  static const std::vector<double> values = {
      FromBits(0x7FF8000000000001ull), FromBits(0xFFF00000DEADBEEFull), std::numeric_limits<double>::infinity(),
      -std::numeric_limits<double>::infinity(), -0.0, std::numeric_limits<double>::denorm_min(), 1.5, -2.25};
  return values;
}

// Logs `points` steps of: loss (float32-rounded smooth curve), noise (N(0,1)), special (the values
// above in turn), each step with stage "train" or, every 10th, "val"; and "backwards", whose steps
// restart at 0 halfway (a resumed run) and repeat each step twice.
inline void LogMixedRun(Run& run, int points, uint64_t seed = 1) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> noise(0, 1);
  for (int i = 0; i < points; ++i) {
    const double loss = static_cast<float>(2.0 * std::exp(-i / 3000.0) + 0.05 * noise(rng));
    const double special = SpecialValues()[i % SpecialValues().size()];
    std::vector<MetricValue> values = {{"loss", loss}, {"noise", noise(rng)}, {"special", special}};
    REQUIRE(run.Log(values, i, i % 10 == 9 ? "val" : "train").ok());
    const int64_t back_step = (i % (points / 2)) / 2;
    REQUIRE(run.Log(back_step, "backwards", static_cast<double>(i)).ok());
  }
}

inline void Put(std::string* out, const MetricPoint& p) {
  *out += fmt::format("{}:{:x}:{:x}:{};", p.step, Bits(p.wall_time), Bits(p.value), p.stage);
}
inline void Put(std::string* out, const std::vector<MetricPoint>& points) {
  *out += fmt::format("[{}]", points.size());
  for (const MetricPoint& p : points) Put(out, p);
  *out += "\n";
}
inline void Put(std::string* out, const MetricTable& t) {
  *out += fmt::format("table rows={} in_range={} total={} ds={} trunc={} next={} cols=", t.rows.steps.size(),
                      t.points_in_range, t.total_steps.value_or(-1), t.downsampled, t.truncated,
                      t.next_step.value_or(-1));
  for (const auto& c : t.rows.columns) *out += c + ",";
  for (size_t r = 0; r < t.rows.steps.size(); ++r) {
    *out += fmt::format("{}@{:x}/{}:", t.rows.steps[r], Bits(t.wall_time[r]), t.stage[r]);
    for (const auto& v : t.rows.values[r]) *out += v ? fmt::format("{:x},", Bits(*v)) : std::string("-,");
  }
  *out += "\n";
}

inline std::string Must(const Status& s) {
  INFO(s.ToString());
  REQUIRE(s.ok());
  return {};
}

// Every query shape's answer for the run, as text. Fails the test on any error.
inline std::string Transcript(Catalog& catalog, const std::string& id) {
  std::string out;
  auto detail = catalog.GetRun(id);
  Must(detail.status());
  for (const MetricInfo& m : detail->metrics)
    out += fmt::format("info {} {} {} {} {} {:x} {:x} {:x}\n", m.name, m.count, m.non_finite_count, m.min_step,
                       m.max_step, Bits(m.min.value_or(0)), Bits(m.max.value_or(0)), Bits(m.last_value));
  for (const char* name : {"loss", "noise", "special", "backwards"}) {
    auto all = catalog.ReadMetric(id, name);
    Must(all.status());
    Put(&out, all->points);
    auto range = catalog.ReadMetric(id, name, 1000, 4321);
    Must(range.status());
    Put(&out, range->points);
    for (DownsampleMethod m : {DownsampleMethod::kLttb, DownsampleMethod::kM4, DownsampleMethod::kMinMax}) {
      DownsampleOptions o;
      o.method = m;
      o.target_points = 300;
      auto ds = catalog.DownsampleMetric(id, name, o);
      Must(ds.status());
      out += fmt::format("ds level={} in_range={}\n", ds->level_used, ds->points_in_range);
      Put(&out, ds->points);
      o.step_min = 777;
      o.step_max = 9001;
      ds = catalog.DownsampleMetric(id, name, o);
      Must(ds.status());
      Put(&out, ds->points);
    }
    // Live-stream reads: from the start in bounded batches, from the middle, and at the end.
    MetricCursor cursor;
    for (int batch = 0; batch < 3; ++batch) {
      auto chunk = catalog.ReadMetricSince(id, name, cursor, 4000);
      Must(chunk.status());
      Put(&out, chunk->points);
      cursor = chunk->cursor;
    }
    auto end = catalog.MetricCursorAtEnd(id, name);
    Must(end.status());
    out += fmt::format("end {}\n", end->position);
    auto middle = catalog.ReadMetricSince(id, name, MetricCursor{end->position / 2 + 5});
    Must(middle.status());
    Put(&out, middle->points);
    auto streams = catalog.ReadMetricStreams(id, name);
    Must(streams.status());
    for (const StreamPoints& s : *streams) {
      out += s.stream;
      Put(&out, s.points);
    }
  }
  MetricQuery raw;  // every metric, every point: the join over raw points
  auto table = catalog.QueryMetrics(id, raw);
  Must(table.status());
  Put(&out, *table);
  MetricQuery page;  // the export pager: max_rows pages continued at next_step
  page.metrics = {"loss", "special"};
  page.max_rows = 7777;
  for (int i = 0; i < 4; ++i) {
    auto t = catalog.QueryMetrics(id, page);
    Must(t.status());
    Put(&out, *t);
    if (!t->next_step) break;
    page.step_min = t->next_step;
  }
  for (DownsampleMethod m : {DownsampleMethod::kLttb, DownsampleMethod::kM4, DownsampleMethod::kMinMax}) {
    MetricQuery q;
    q.downsample = 500;
    q.method = m;
    auto t = catalog.QueryMetrics(id, q);
    Must(t.status());
    Put(&out, *t);
    q.step_min = 2000;
    q.step_max = 15000;
    t = catalog.QueryMetrics(id, q);
    Must(t.status());
    Put(&out, *t);
  }
  return out;
}

// CHECKs two transcripts are equal, showing the first line that differs (they are megabytes).
inline void CheckSameAnswers(const std::string& got, const std::string& want) {
  size_t line = 0, pos = 0;
  while (pos < got.size() && pos < want.size()) {
    size_t a = got.find('\n', pos), b = want.find('\n', pos);
    if (a != b || got.compare(pos, a - pos, want, pos, b - pos) != 0) break;
    pos = a + 1;
    ++line;
  }
  auto excerpt = [&](const std::string& s) { return s.substr(pos, std::min<size_t>(300, s.size() - std::min(pos, s.size()))); };
  INFO("first difference in line " << line << "\n got: " << excerpt(got) << "\nwant: " << excerpt(want));
  CHECK(got.size() == want.size());
  CHECK(pos == got.size());
}

// Bytes of every file under `dir`.
inline uint64_t DirBytes(const std::filesystem::path& dir) {
  uint64_t total = 0;
  std::error_code ec;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir, ec))
    if (e.is_regular_file(ec)) total += e.file_size(ec);
  return total;
}

// Segment and LOD files of the run, by file name.
inline std::vector<std::string> SegmentFiles(const std::filesystem::path& root, const std::string& id) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(StoreLayout(root).segments_dir(id), ec))
    out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace runtrack::testing
