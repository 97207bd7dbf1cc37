// Response bodies of the Runicorn-compatibility routes (docs/API.md "Runicorn compatibility"):
// shapes follow Runicorn v0.5.3's viewer; where a field differs on purpose the docs say so.
// Shared by the HTTP handlers and any CLI --json output, like api_json.h.
//
// Thread safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "runtrack/import.h"
#include "runtrack/system.h"
#include "service/preferences_service.h"
#include "service/run_insights.h"

namespace runicorn::encode {

// GET /api/runs/{id}/artifacts: {"created": [...], "used": [...]}.
boost::json::object RunArtifacts(const service::RunArtifacts& artifacts);
// GET /api/artifacts/{name}/training-metrics: the producing run, or null.
boost::json::value TrainingMetrics(const std::optional<service::TrainingRun>& run);
// GET /api/artifacts/{name}/performance-history; `metric_name` keeps only that metric.
boost::json::array PerformanceHistory(const std::vector<service::VersionPerformance>& history,
                                      const std::optional<std::string>& metric_name);
boost::json::object Environment(const service::EnvironmentCapture& env);
boost::json::object Progress(const runtrack::RunDetail& run);
boost::json::object AnalyticsOverview(const service::AnalyticsOverview& overview, const service::CacheStats& cache,
                                      double now);
boost::json::object StatusCheck(const service::StatusCheck& check);
// GET /api/metrics/cache/stats.
boost::json::object CacheStats(const service::CacheStats& cache);
// The "cache" member of GET /api/health.
boost::json::object HealthCache(const service::CacheStats& cache);

// GET /api/system/monitor and GET /api/gpu/telemetry.
boost::json::object SystemMonitor(const runtrack::SystemSnapshot& snapshot);
boost::json::object GpuTelemetry(const runtrack::GpuTelemetry& telemetry);

// UI preferences.
boost::json::object ColumnWidths(const service::ColumnWidths& widths);
boost::json::object DismissedAlerts(const std::vector<std::string>& alerts);
// {"ok": true, "message": message}: the answer of every preference change.
boost::json::object PreferenceChanged(const std::string& message);

// `runicorn import --from-runicorn DIR --json`.
boost::json::object ImportReport(const runtrack::ImportReport& report, const std::string& from,
                                 const std::string& store);

}  // namespace runicorn::encode
