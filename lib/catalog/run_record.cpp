#include "catalog/run_record.h"

#include <cstdlib>

#include <boost/json.hpp>

namespace runtrack::catalog {
namespace json = boost::json;

void SeriesState::Add(const MetricPoint& p) {
  if (count == 0) {
    first_step = min_step = max_step = p.step;
  } else {
    if (p.step <= last_step) strictly_increasing = false;
    min_step = std::min(min_step, p.step);
    max_step = std::max(max_step, p.step);
  }
  last_step = p.step;
  last_value = p.value;
  ++count;
  if (!std::isfinite(p.value)) {
    ++non_finite;
    return;
  }
  if (p.value < min) { min = p.value; min_at = p.step; }
  if (p.value > max) { max = p.value; max_at = p.step; }
}

const SeriesState* RunRecord::FindSeries(std::string_view name) const {
  for (const auto& [id, s] : series)
    if (s.name == name) return &s;
  return nullptr;
}

void RunRecord::UpdateBest() {
  RunSummary& row = summary_row;
  row.best_metric_name = primary_metric;
  row.best_metric_mode = primary_metric.empty() ? "" : std::string(MetricModeName(primary_mode));
  row.best_metric_value.reset();
  row.best_metric_step.reset();
  const SeriesState* s = primary_metric.empty() ? nullptr : FindSeries(primary_metric);
  if (s == nullptr || !s->has_finite()) return;
  bool max = primary_mode == MetricMode::kMax;
  row.best_metric_value = max ? s->max : s->min;
  row.best_metric_step = max ? s->max_at : s->min_at;
}

namespace {

// JSON cannot hold +-Inf; an empty series keeps min/max infinite, so they are stored as null.
json::value FiniteOrNull(double v) { return std::isfinite(v) ? json::value(v) : json::value(nullptr); }
double NumberOr(const json::object& o, std::string_view key, double fallback) {
  auto it = o.find(key);
  if (it == o.end() || !it->value().is_number()) return fallback;
  return it->value().to_number<double>();
}
int64_t IntOr(const json::object& o, std::string_view key, int64_t fallback) {
  auto it = o.find(key);
  if (it == o.end()) return fallback;
  if (it->value().is_int64()) return it->value().get_int64();
  if (it->value().is_uint64()) return static_cast<int64_t>(it->value().get_uint64());
  if (it->value().is_double()) return static_cast<int64_t>(it->value().get_double());
  return fallback;
}
std::string StringOr(const json::object& o, std::string_view key, std::string fallback = {}) {
  auto it = o.find(key);
  if (it == o.end() || !it->value().is_string()) return fallback;
  return std::string(it->value().get_string());
}
json::value Optional(const std::optional<double>& v) { return v ? json::value(*v) : json::value(nullptr); }
std::optional<double> OptionalNumber(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || !it->value().is_number()) return std::nullopt;
  return it->value().to_number<double>();
}

json::array ArtifactsToJson(const std::vector<ArtifactRef>& refs) {
  json::array out;
  for (const auto& r : refs) out.push_back(json::object{{"name", r.name}, {"type", r.type}, {"version", r.version}});
  return out;
}
std::vector<ArtifactRef> ArtifactsFromJson(const json::object& o, std::string_view key) {
  std::vector<ArtifactRef> out;
  auto it = o.find(key);
  if (it == o.end() || !it->value().is_array()) return out;
  for (const auto& v : it->value().get_array()) {
    if (!v.is_object()) continue;
    const auto& a = v.get_object();
    out.push_back({StringOr(a, "name"), StringOr(a, "type"), static_cast<int>(IntOr(a, "version", 0))});
  }
  return out;
}

}  // namespace

json::object ToJson(const RunRecord& r) {
  const RunSummary& row = r.summary_row;
  json::array tags;
  for (const auto& t : row.tags) tags.emplace_back(t);
  json::array series;
  for (const auto& [id, s] : r.series) {
    series.push_back(json::object{
        {"id", s.id}, {"name", s.name}, {"count", s.count}, {"non_finite", s.non_finite},
        {"first_step", s.first_step}, {"last_step", s.last_step}, {"min_step", s.min_step},
        {"max_step", s.max_step}, {"min", FiniteOrNull(s.min)}, {"max", FiniteOrNull(s.max)},
        {"min_at", s.min_at}, {"max_at", s.max_at}, {"last_value", FiniteOrNull(s.last_value)},
        {"strictly_increasing", s.strictly_increasing}});
  }
  json::object stages;
  for (const auto& [id, name] : r.stage_names) stages[std::to_string(id)] = name;
  json::object out{
      {"id", row.id}, {"project", row.project}, {"name", row.name},
      {"status", RunStatusName(row.status)}, {"exit_reason", row.exit_reason},
      {"created_at", row.created_at}, {"updated_at", row.updated_at},
      {"ended_at", Optional(row.ended_at)}, {"deleted_at", Optional(row.deleted_at)},
      {"pid", row.pid}, {"hostname", row.hostname}, {"tags", std::move(tags)},
      {"config", r.config}, {"summary", r.summary}, {"stages", std::move(stages)},
      {"series", std::move(series)}, {"produced", ArtifactsToJson(r.produced)},
      {"used", ArtifactsToJson(r.used)}, {"primary_metric", r.primary_metric},
      {"primary_mode", MetricModeName(r.primary_mode)}, {"journal_offset", r.journal_offset},
      {"log_bytes", r.log_bytes}, {"journal_corrupt", r.journal_corrupt},
      {"journal_corrupt_offset", r.journal_corrupt_offset ? json::value(*r.journal_corrupt_offset) : json::value(nullptr)},
      {"journal_skipped_bytes", r.journal_skipped_bytes}, {"has_start", r.has_start}};
  if (row.path) out["path"] = *row.path;  // v0.6 runs only, so older records stay as they were
  if (!r.streams.empty()) out["streams"] = StreamsToJson(r.streams);  // multi-process runs only
  if (r.remote) out["remote"] = true;                                  // shipped runs only
  if (!row.alias.empty()) out["alias"] = row.alias;
  return out;
}

json::object StreamsToJson(const std::map<std::string, StreamState>& streams) {
  json::object out;
  for (const auto& [name, st] : streams) {
    json::object stages;
    for (const auto& [id, stage] : st.stages) stages[std::to_string(id)] = stage;
    out[name] = json::object{{"ordinal", st.ordinal}, {"offset", st.offset}, {"ended", st.ended},
                             {"stages", std::move(stages)}};
  }
  return out;
}

bool StreamsFromJson(const json::object& o, std::map<std::string, StreamState>* streams) {
  for (const auto& [name, v] : o) {
    if (!v.is_object()) return false;
    const auto& so = v.get_object();
    StreamState st;
    st.ordinal = static_cast<uint32_t>(IntOr(so, "ordinal", 0));
    if (st.ordinal == 0 || st.ordinal > kMaxStreamOrdinal) return false;
    st.offset = static_cast<uint64_t>(IntOr(so, "offset", 0));
    auto ended = so.find("ended");
    st.ended = ended != so.end() && ended->value().is_bool() && ended->value().get_bool();
    if (auto it = so.find("stages"); it != so.end() && it->value().is_object())
      for (const auto& [k, stage] : it->value().get_object())
        if (stage.is_string()) st.stages[static_cast<uint32_t>(std::strtoul(std::string(k).c_str(), nullptr, 10))] = std::string(stage.get_string());
    (*streams)[std::string(name)] = std::move(st);
  }
  return true;
}

bool FromJson(const json::object& o, RunRecord* r) {
  RunSummary& row = r->summary_row;
  row.id = StringOr(o, "id");
  if (row.id.empty()) return false;
  row.project = StringOr(o, "project");
  row.name = StringOr(o, "name");
  auto status = ParseRunStatus(StringOr(o, "status"));
  if (!status.ok()) return false;
  row.status = *status;
  row.exit_reason = StringOr(o, "exit_reason");
  row.created_at = NumberOr(o, "created_at", 0);
  row.updated_at = NumberOr(o, "updated_at", 0);
  row.ended_at = OptionalNumber(o, "ended_at");
  row.deleted_at = OptionalNumber(o, "deleted_at");
  row.pid = IntOr(o, "pid", 0);
  row.hostname = StringOr(o, "hostname");
  if (auto it = o.find("path"); it != o.end() && it->value().is_string())
    row.path = std::string(it->value().get_string());
  row.alias = StringOr(o, "alias");
  if (auto it = o.find("tags"); it != o.end() && it->value().is_array())
    for (const auto& t : it->value().get_array())
      if (t.is_string()) row.tags.emplace_back(t.get_string());
  if (auto it = o.find("config"); it != o.end() && it->value().is_object()) r->config = it->value().get_object();
  if (auto it = o.find("summary"); it != o.end() && it->value().is_object()) r->summary = it->value().get_object();
  if (auto it = o.find("stages"); it != o.end() && it->value().is_object())
    for (const auto& [k, v] : it->value().get_object())
      if (v.is_string()) r->stage_names[static_cast<uint32_t>(std::stoul(std::string(k)))] = std::string(v.get_string());
  if (auto it = o.find("series"); it != o.end() && it->value().is_array()) {
    for (const auto& v : it->value().get_array()) {
      if (!v.is_object()) return false;
      const auto& so = v.get_object();
      SeriesState s;
      s.id = static_cast<uint32_t>(IntOr(so, "id", 0));
      s.name = StringOr(so, "name");
      s.count = static_cast<uint64_t>(IntOr(so, "count", 0));
      s.non_finite = static_cast<uint64_t>(IntOr(so, "non_finite", 0));
      s.first_step = IntOr(so, "first_step", 0);
      s.last_step = IntOr(so, "last_step", 0);
      s.min_step = IntOr(so, "min_step", 0);
      s.max_step = IntOr(so, "max_step", 0);
      s.min = NumberOr(so, "min", std::numeric_limits<double>::infinity());
      s.max = NumberOr(so, "max", -std::numeric_limits<double>::infinity());
      s.min_at = IntOr(so, "min_at", 0);
      s.max_at = IntOr(so, "max_at", 0);
      s.last_value = NumberOr(so, "last_value", std::nan(""));
      auto inc = so.find("strictly_increasing");
      s.strictly_increasing = inc == so.end() || !inc->value().is_bool() || inc->value().get_bool();
      r->series.emplace(s.id, std::move(s));
    }
  }
  r->produced = ArtifactsFromJson(o, "produced");
  r->used = ArtifactsFromJson(o, "used");
  row.artifacts_created_count = static_cast<int>(r->produced.size());
  row.artifacts_used_count = static_cast<int>(r->used.size());
  r->primary_metric = StringOr(o, "primary_metric");
  r->primary_mode = StringOr(o, "primary_mode") == "min" ? MetricMode::kMin : MetricMode::kMax;
  r->journal_offset = static_cast<uint64_t>(IntOr(o, "journal_offset", 0));
  r->log_bytes = static_cast<uint64_t>(IntOr(o, "log_bytes", 0));
  auto corrupt = o.find("journal_corrupt");
  r->journal_corrupt = corrupt != o.end() && corrupt->value().is_bool() && corrupt->value().get_bool();
  if (auto it = o.find("journal_corrupt_offset"); it != o.end() && !it->value().is_null())
    r->journal_corrupt_offset = static_cast<uint64_t>(IntOr(o, "journal_corrupt_offset", 0));
  r->journal_skipped_bytes = static_cast<uint64_t>(IntOr(o, "journal_skipped_bytes", 0));
  auto start = o.find("has_start");
  r->has_start = start != o.end() && start->value().is_bool() && start->value().get_bool();
  if (auto it = o.find("remote"); it != o.end() && it->value().is_bool()) r->remote = it->value().get_bool();
  if (auto it = o.find("streams"); it != o.end() && it->value().is_object())
    if (!StreamsFromJson(it->value().get_object(), &r->streams)) return false;
  r->UpdateBest();
  return true;
}

}  // namespace runtrack::catalog
