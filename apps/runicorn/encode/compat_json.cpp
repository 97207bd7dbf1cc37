#include "encode/compat_json.h"

#include <cmath>

#include <fmt/format.h>

#include "runtrack/json_codec.h"

namespace runicorn::encode {
namespace bj = boost::json;
namespace json = runtrack::json;

namespace {

// Runicorn rounds percentages to one decimal when it serialises (psutil's own rounding).
double Round1(double v) { return std::round(v * 10.0) / 10.0; }

std::string StatusName(runtrack::RunStatus s) { return std::string(runtrack::RunStatusName(s)); }

template <typename T>
bj::value Opt(const std::optional<T>& v) {
  return v ? bj::value(*v) : bj::value(nullptr);
}

bj::object VersionSummary(const runtrack::ArtifactVersionInfo& v) {
  const bj::value* stage = v.metadata.if_contains("lifecycle_stage");
  return bj::object{{"name", v.name},
                    {"type", std::string(runtrack::ArtifactTypeName(v.type))},
                    {"version", v.version},
                    {"size_bytes", v.size_bytes},
                    {"created_at", json::Number(v.created_at)},
                    {"description", v.description},
                    {"aliases", json::Strings(v.aliases)},
                    {"lifecycle_stage", stage && stage->is_string() ? *stage : bj::value("experimental")}};
}

bj::array Versions(const std::vector<runtrack::ArtifactVersionInfo>& list) {
  bj::array out;
  for (const auto& v : list) out.push_back(VersionSummary(v));
  return out;
}

// Runicorn's summary.json carries best_metric_* (its SDK writes them at finish); ours come from
// the catalog's record of the primary metric, added the same way.
bj::object RunMetrics(const runtrack::RunDetail& d) {
  bj::object m = json::Sanitized(d.summary).as_object();
  const runtrack::RunSummary& r = d.run;
  if (!r.best_metric_name.empty()) {
    m["best_metric_value"] = json::Number(r.best_metric_value);
    m["best_metric_name"] = r.best_metric_name;
    m["best_metric_step"] = Opt(r.best_metric_step);
    m["best_metric_mode"] = r.best_metric_mode;
  }
  return m;
}

}  // namespace

bj::object RunArtifacts(const service::RunArtifacts& a) {
  return bj::object{{"created", Versions(a.created)}, {"used", Versions(a.used)}};
}

bj::value TrainingMetrics(const std::optional<service::TrainingRun>& t) {
  if (!t) return nullptr;
  const runtrack::RunSummary& r = t->run.run;
  bj::value duration = nullptr;
  if (r.ended_at && *r.ended_at >= r.created_at) duration = json::Number(*r.ended_at - r.created_at);
  return bj::object{{"run_id", r.id},
                    {"run_name", r.name},
                    {"project", r.project},
                    {"metrics", RunMetrics(t->run)},
                    {"created_at", json::Number(t->artifact_created_at)},
                    {"duration_seconds", std::move(duration)},
                    {"status", StatusName(r.status)}};
}

bj::array PerformanceHistory(const std::vector<service::VersionPerformance>& history,
                             const std::optional<std::string>& metric_name) {
  bj::array out;
  for (const auto& h : history) {
    // Numbers only (a chart plots them): strings, objects and nulls of the summary are left out.
    bj::object metrics;
    for (const auto& [key, value] : RunMetrics(h.run)) {
      if (!value.is_number()) continue;
      if (metric_name && key != *metric_name) continue;
      metrics[key] = value;
    }
    out.push_back(bj::object{{"version", h.version.version},
                             {"created_at", json::Number(h.version.created_at)},
                             {"run_id", h.run.run.id},
                             {"status", StatusName(h.run.run.status)},
                             {"metrics", std::move(metrics)}});
  }
  return out;
}

bj::object Environment(const service::EnvironmentCapture& env) {
  if (!env.available) return bj::object{{"available", false}};
  return bj::object{{"available", true}, {"environment", env.environment}};
}

bj::object Progress(const runtrack::RunDetail& run) {
  // Runicorn always answers available=false / "unknown": no tracker knows a run's total steps.
  // We give the run's real status, and how far it got.
  return bj::object{{"available", false}, {"status", StatusName(run.run.status)}, {"last_step", Opt(run.max_step)}};
}

bj::object AnalyticsOverview(const service::AnalyticsOverview& o, const service::CacheStats& cache, double now) {
  const double success_rate = o.ended_runs == 0 ? 0.0 : Round1(100.0 * o.finished_runs / o.ended_runs);
  const double avg_duration = o.timed_runs == 0 ? 0.0 : o.total_duration_seconds / o.timed_runs;
  const double storage_mb = o.store_bytes / (1024.0 * 1024.0);
  const uint64_t lookups = cache.hits + cache.misses;
  const double hit_rate = lookups == 0 ? 0.0 : static_cast<double>(cache.hits) / lookups;
  bj::object performance{{"avg_query_time_ms", o.query_ms}, {"cache_hit_rate", hit_rate}};
  bj::object statistics{{"total_experiments", o.total_runs},
                        {"active_experiments", o.active_runs},
                        {"deleted_experiments", o.deleted_runs},
                        {"total_metrics_points", o.metric_points},
                        {"storage_size_bytes", o.store_bytes},
                        {"avg_query_time_ms", o.query_ms},
                        {"cache_hit_rate", hit_rate},
                        {"db_size_mb", o.catalog_bytes / (1024.0 * 1024.0)},
                        {"db_fragmentation_pct", 0.0},
                        {"updated_at", now}};
  return bj::object{{"overview", bj::object{{"total_experiments", o.total_runs},
                                            {"active_experiments", o.active_runs},
                                            {"running_experiments", o.running_runs},
                                            {"success_rate", success_rate},
                                            {"avg_experiment_duration", avg_duration},
                                            {"storage_size_mb", storage_mb},
                                            {"query_performance", performance}}},
                    {"storage_info", bj::object{{"storage_type", "embedded"},
                                                {"backend_type", "RocksDB"},
                                                {"statistics", std::move(statistics)},
                                                {"performance", performance}}},
                    {"generated_at", now}};
}

bj::object StatusCheck(const service::StatusCheck& c) {
  return bj::object{{"checked", c.checked},
                    {"updated", c.updated},
                    {"message", fmt::format("Checked {} running experiments, updated {} statuses", c.checked, c.updated)}};
}

bj::object CacheStats(const service::CacheStats& c) {
  const uint64_t lookups = c.hits + c.misses;
  // max_size is null: the pyramid cache is bounded by memory (CatalogOptions), not by a count.
  // Pyramids are extended by ingestion, never by a query, so no query is an "incremental update".
  return bj::object{{"size", c.size},
                    {"max_size", nullptr},
                    {"hits", c.hits},
                    {"misses", c.misses},
                    {"incremental_updates", 0},
                    {"hit_rate", lookups == 0 ? 0.0 : static_cast<double>(c.hits) / lookups},
                    {"incremental_rate", 0.0}};
}

bj::object HealthCache(const service::CacheStats& c) {
  const uint64_t lookups = c.hits + c.misses;
  const double pct = lookups == 0 ? 0.0 : 100.0 * c.hits / lookups;
  return bj::object{{"enabled", c.enabled},
                    {"type", "lod_pyramid"},
                    {"hit_rate", fmt::format("{:.1f}%", pct)},
                    {"hits", c.hits},
                    {"misses", c.misses},
                    {"size", c.size}};
}

bj::object SystemMonitor(const runtrack::SystemSnapshot& s) {
  bj::array per_core;
  for (double p : s.cpu.per_core_percent) per_core.emplace_back(Round1(p));
  bj::value frequency = nullptr;
  if (s.cpu.frequency)
    frequency = bj::object{{"current", s.cpu.frequency->current_mhz},
                           {"min", s.cpu.frequency->min_mhz},
                           {"max", s.cpu.frequency->max_mhz}};
  bj::object disk{{"path", s.disk.path},
                  {"total", s.disk.total_bytes},
                  {"used", s.disk.used_bytes},
                  {"free", s.disk.free_bytes},
                  {"percent", Round1(s.disk.percent)},
                  {"io", nullptr}};
  if (s.disk_io)
    disk["io"] = bj::object{{"read_bytes", s.disk_io->read_bytes},
                            {"write_bytes", s.disk_io->write_bytes},
                            {"read_count", s.disk_io->read_count},
                            {"write_count", s.disk_io->write_count}};
  return bj::object{
      {"available", true},
      {"ts", s.wall_time},
      {"cpu", bj::object{{"percent", Round1(s.cpu.percent)},
                         {"count", s.cpu.physical_count},
                         {"logical_count", s.cpu.logical_count},
                         {"per_core", std::move(per_core)},
                         {"frequency", std::move(frequency)},
                         {"load_avg", bj::array{s.load.one_minute, s.load.five_minutes, s.load.fifteen_minutes}}}},
      {"memory", bj::object{{"total", s.memory.total_bytes},
                            {"available", s.memory.available_bytes},
                            {"used", s.memory.used_bytes},
                            {"percent", Round1(s.memory.percent)},
                            {"swap_total", s.memory.swap_total_bytes},
                            {"swap_used", s.memory.swap_used_bytes},
                            {"swap_percent", Round1(s.memory.swap_percent)}}},
      {"disk", std::move(disk)},
      {"platform", bj::object{{"system", s.platform.system},
                              {"release", s.platform.release},
                              {"machine", s.platform.machine}}}};
}

bj::object GpuTelemetry(const runtrack::GpuTelemetry& t) {
  if (!t.available) return bj::object{{"available", false}, {"reason", t.reason}};
  constexpr double kMiB = 1024.0 * 1024.0;
  bj::array gpus;
  for (const auto& g : t.gpus) {
    bj::value mem_used_pct = nullptr;
    if (g.memory_total_bytes && g.memory_used_bytes && *g.memory_total_bytes > 0)
      mem_used_pct = Round1(100.0 * *g.memory_used_bytes / *g.memory_total_bytes);
    auto mib = [&](const std::optional<uint64_t>& b) {
      return b ? bj::value(static_cast<uint64_t>(std::llround(*b / kMiB))) : bj::value(nullptr);
    };
    // clock_sm_mhz, clock_mem_mhz and pstate (nvidia-smi columns Runicorn parses) are not read
    // from NVML yet, so they stay null, as nvidia-smi's "N/A".
    gpus.push_back(bj::object{{"index", g.index},
                              {"name", g.name},
                              {"util_gpu", Opt(g.utilization_gpu_percent)},
                              {"util_mem", Opt(g.utilization_memory_percent)},
                              {"mem_total_mib", mib(g.memory_total_bytes)},
                              {"mem_used_mib", mib(g.memory_used_bytes)},
                              {"temp_c", Opt(g.temperature_celsius)},
                              {"power_w", Opt(g.power_draw_watts)},
                              {"power_limit_w", Opt(g.power_limit_watts)},
                              {"clock_sm_mhz", nullptr},
                              {"clock_mem_mhz", nullptr},
                              {"pstate", nullptr},
                              {"fan_speed_pct", Opt(g.fan_speed_percent)},
                              {"mem_used_pct", std::move(mem_used_pct)}});
  }
  return bj::object{{"available", true}, {"ts", t.wall_time}, {"gpus", std::move(gpus)}};
}

bj::object ColumnWidths(const service::ColumnWidths& w) {
  bj::object widths;
  for (const auto& [column, width] : w.widths) widths[column] = width;
  return bj::object{{"table", w.table}, {"size", w.size}, {"widths", std::move(widths)}};
}

bj::object DismissedAlerts(const std::vector<std::string>& alerts) {
  return bj::object{{"dismissed_alerts", json::Strings(alerts)}};
}

bj::object PreferenceChanged(const std::string& message) { return bj::object{{"ok", true}, {"message", message}}; }

bj::object ImportReport(const runtrack::ImportReport& r, const std::string& from, const std::string& store) {
  bj::array runs;
  for (const auto& run : r.imported_runs)
    runs.push_back(bj::object{{"run_id", run.run_id},
                              {"source", run.source},
                              {"points", run.points},
                              {"log_bytes", run.log_bytes},
                              {"media_files", run.media_files}});
  bj::array skipped;
  for (const auto& s : r.skipped) skipped.push_back(bj::object{{"item", s.item}, {"reason", s.reason}});
  return bj::object{{"from", from},
                    {"storage", store},
                    {"dry_run", r.dry_run},
                    {"imported_runs", std::move(runs)},
                    {"existing_runs", json::Strings(r.existing_runs)},
                    {"imported_artifact_versions", json::Strings(r.imported_artifact_versions)},
                    {"existing_artifact_versions", json::Strings(r.existing_artifact_versions)},
                    {"imported_files", r.imported_files},
                    {"lineage_edges", r.lineage_edges},
                    {"skipped", std::move(skipped)},
                    {"nothing_imported", r.nothing_imported()}};
}

}  // namespace runicorn::encode
