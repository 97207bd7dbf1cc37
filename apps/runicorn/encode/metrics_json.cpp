// The metric tables of the API (metrics_step, metrics, v2 metrics/fast, export JSON), written
// straight into one string: a 10,000-row table is one pass over the rows with each column's key
// escaped once, instead of a boost::json::object per row serialized afterwards (see
// tests/benchmarks/bench_metrics_json.cpp for the ratio).
#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <string_view>

#include "encode/api_json.h"
#include "encode/json_writer.h"
#include "runtrack/json_codec.h"

namespace runicorn::encode {
namespace bj = boost::json;

namespace {

enum class ColumnKind { kStep, kMetric, kStage, kTime };

struct Column {
  ColumnKind kind;
  std::string name;
  size_t metric = 0;  // kMetric: index into values[r]
};

// Columns a metric may not take: the row's own step, time and stage (as in Runicorn, where the
// time and stage injected into every record overwrite a logged key of that name).
bool Reserved(std::string_view name) { return name == "global_step" || name == "time" || name == "stage"; }

std::vector<Column> MetricColumns(const service::MetricTable& table) {
  std::vector<Column> out;
  for (size_t i = 1; i < table.rows.columns.size(); ++i)
    if (!Reserved(table.rows.columns[i])) out.push_back({ColumnKind::kMetric, table.rows.columns[i], i - 1});
  return out;
}

// metrics_step's columns: "global_step", then, without a metrics= filter, every other column
// sorted by name (Runicorn's order, stage and time included); with one, the metrics in the order
// asked for, then "stage" and "time".
std::vector<Column> StepLayout(const service::MetricTableQuery& query, const service::MetricTable& table) {
  std::vector<Column> cols = MetricColumns(table);
  cols.push_back({ColumnKind::kStage, "stage"});
  cols.push_back({ColumnKind::kTime, "time"});
  if (query.metrics.empty())
    std::stable_sort(cols.begin(), cols.end(), [](const Column& a, const Column& b) { return a.name < b.name; });
  cols.insert(cols.begin(), Column{ColumnKind::kStep, "global_step"});
  return cols;
}

void AppendInt(std::string& out, int64_t v) {
  char buf[24];
  out.append(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
}

// "columns":[...] ; returns each column's `"name":` key, for AppendRows.
std::vector<std::string> AppendColumns(std::string& out, const std::vector<Column>& cols) {
  out += "\"columns\":[";
  std::vector<std::string> keys;
  keys.reserve(cols.size());
  for (size_t c = 0; c < cols.size(); ++c) {
    if (c != 0) out += ',';
    AppendJsonString(out, cols[c].name);
    std::string key;
    AppendJsonString(key, cols[c].name);
    key += ':';
    keys.push_back(std::move(key));
  }
  out += ']';
  return keys;
}

// The rows' objects, comma-separated (a leading comma unless `first_rows`); `t0` is subtracted
// from the row's wall time.
void AppendRows(std::string& out, const std::vector<Column>& cols, const std::vector<std::string>& keys,
                const service::MetricTable& table, double t0, bool first_rows) {
  std::vector<std::string> stages;  // each stage's value, written once
  stages.reserve(table.stages.size());
  for (const std::string& s : table.stages) {
    std::string v;
    if (s.empty()) v = "null";
    else AppendJsonString(v, s);
    stages.push_back(std::move(v));
  }
  const auto& rows = table.rows;
  out.reserve(out.size() + rows.steps.size() * (cols.size() * 24 + 4));
  for (size_t r = 0; r < rows.steps.size(); ++r) {
    if (r != 0 || !first_rows) out += ',';
    out += '{';
    for (size_t c = 0; c < cols.size(); ++c) {
      if (c != 0) out += ',';
      out += keys[c];
      switch (cols[c].kind) {
        case ColumnKind::kStep: AppendInt(out, rows.steps[r]); break;
        case ColumnKind::kMetric: {
          const std::optional<double>& v = rows.values[r][cols[c].metric];
          if (v) AppendJsonNumber(out, *v);
          else out += "null";
          break;
        }
        case ColumnKind::kStage: {
          const uint32_t s = table.stage_index[r];
          out += s < stages.size() ? stages[s] : std::string("null");
          break;
        }
        case ColumnKind::kTime: AppendJsonNumber(out, table.wall_time[r] - t0); break;
      }
    }
    out += '}';
  }
}

// "columns" and "rows" (without the enclosing braces) of one whole table.
void AppendColumnsAndRows(std::string& out, const std::vector<Column>& cols, const service::MetricTable& table,
                          double t0) {
  const std::vector<std::string> keys = AppendColumns(out, cols);
  out += ",\"rows\":[";
  AppendRows(out, cols, keys, table, t0, true);
  out += ']';
}

void AppendKey(std::string& out, std::string_view key) {
  out += ',';
  AppendJsonString(out, key);
  out += ':';
}

void AppendStrings(std::string& out, const std::vector<std::string>& list) {
  out += '[';
  for (size_t i = 0; i < list.size(); ++i) {
    if (i != 0) out += ',';
    AppendJsonString(out, list[i]);
  }
  out += ']';
}

void AppendOptionalInt(std::string& out, const std::optional<int64_t>& v) {
  if (v) AppendInt(out, *v);
  else out += "null";
}

// Runicorn's "total" and "sampled", then our own facts about the query.
void AppendFacts(std::string& out, const service::MetricTableQuery& q, const service::MetricTable& t) {
  AppendKey(out, "total");
  if (t.total_steps) AppendInt(out, static_cast<int64_t>(*t.total_steps));
  else out += "null";  // downsampled: counting distinct steps would read every point in range
  AppendKey(out, "sampled");
  AppendInt(out, static_cast<int64_t>(t.rows.steps.size()));
  AppendKey(out, "total_points");
  AppendInt(out, static_cast<int64_t>(t.points_in_range));
  AppendKey(out, "downsampled");
  out += t.downsampled ? "true" : "false";
  AppendKey(out, "downsample");
  AppendOptionalInt(out, q.downsample ? std::optional<int64_t>(static_cast<int64_t>(*q.downsample)) : std::nullopt);
  AppendKey(out, "method");
  AppendJsonString(out, q.downsample ? runtrack::DownsampleMethodName(q.method) : std::string_view("none"));
  AppendKey(out, "missing_metrics");
  AppendStrings(out, t.missing_metrics);
  AppendKey(out, "truncated");
  out += t.truncated ? "true" : "false";
  AppendKey(out, "next_step");
  AppendOptionalInt(out, t.next_step);
}

}  // namespace

std::string MetricsStep(const service::MetricTableQuery& query, const service::MetricTable& table) {
  std::string out = "{";
  AppendColumnsAndRows(out, StepLayout(query, table), table, 0.0);
  AppendFacts(out, query, table);
  out += '}';
  return out;
}

std::string MetricsRelativeTime(const service::MetricTableQuery& query, const service::MetricTable& table) {
  double t0 = std::numeric_limits<double>::infinity();
  for (double t : table.wall_time) t0 = std::min(t0, t);
  std::vector<Column> cols = MetricColumns(table);
  cols.insert(cols.begin(), {{ColumnKind::kTime, "time"}, {ColumnKind::kStep, "global_step"}});
  cols.push_back({ColumnKind::kStage, "stage"});
  std::string out = "{";
  AppendColumnsAndRows(out, cols, table, t0);
  AppendFacts(out, query, table);
  out += '}';
  return out;
}

std::string MetricsFast(const service::MetricTableQuery& query, const service::MetricTable& table,
                        double query_time_ms) {
  std::vector<Column> cols = MetricColumns(table);
  cols.insert(cols.begin(), Column{ColumnKind::kStep, "global_step"});
  std::string out = "{";
  AppendColumnsAndRows(out, cols, table, 0.0);
  AppendKey(out, "total_points");
  AppendInt(out, static_cast<int64_t>(table.points_in_range));
  AppendKey(out, "applied_filters");
  bj::value range = nullptr;
  if (query.step_min || query.step_max)
    range = bj::object{{"min", query.step_min ? bj::value(*query.step_min) : bj::value(nullptr)},
                       {"max", query.step_max ? bj::value(*query.step_max) : bj::value(nullptr)}};
  bj::array applied;
  for (size_t i = 1; i < table.rows.columns.size(); ++i) applied.emplace_back(table.rows.columns[i]);
  AppendJson(out, bj::object{{"metrics", std::move(applied)},
                             {"step_range", std::move(range)},
                             {"downsampled", table.downsampled},
                             {"method", query.downsample ? runtrack::DownsampleMethodName(query.method)
                                                         : std::string_view("none")}});
  AppendKey(out, "missing_metrics");
  AppendStrings(out, table.missing_metrics);
  AppendKey(out, "truncated");
  out += table.truncated ? "true" : "false";
  AppendKey(out, "next_step");
  AppendOptionalInt(out, table.next_step);
  AppendKey(out, "query_time_ms");
  AppendJsonNumber(out, query_time_ms);
  out += '}';
  return out;
}

// An export's columns are metrics_step's without a metrics= filter: every page of one export has
// the same metrics (MetricPager), so every page derives the same layout.
std::string ExportJsonHead(const runtrack::RunDetail& detail, const service::MetricTable& first_page,
                           const runtrack::StoreLayout& layout, double exported_at) {
  std::string out = "{\"format_version\":1,\"exported_at\":";
  AppendJsonNumber(out, exported_at);
  out += ",\"run\":";
  AppendJson(out, runtrack::json::RunDetail(detail, layout));
  out += ",\"metrics\":{";
  AppendColumns(out, StepLayout(service::MetricTableQuery{}, first_page));
  out += ",\"rows\":[";
  return out;
}

void AppendExportJsonRows(const service::MetricTable& page, bool first_rows, std::string& out) {
  const std::vector<Column> cols = StepLayout(service::MetricTableQuery{}, page);
  std::string ignored;
  const std::vector<std::string> keys = AppendColumns(ignored, cols);
  AppendRows(out, cols, keys, page, 0.0, first_rows);
}

}  // namespace runicorn::encode
