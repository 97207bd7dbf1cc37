// The REST API's response bodies, built from the services' results. The HTTP handlers send these
// and the CLI prints them for --json, so the two are byte-for-byte the same. Entity shapes come
// from runtrack/json_codec.h; this file adds only the envelopes of each route.
//
// Thread safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include "runtrack/catalog.h"
#include "runtrack/layout.h"
#include "service/artifact_service.h"
#include "service/config_service.h"
#include "service/metric_service.h"
#include "service/run_service.h"

namespace runicorn::encode {

// Runs (runs_api.md).
boost::json::array RunList(const runtrack::RunPage& page, const runtrack::StoreLayout& layout);
boost::json::object RecycleBin(const runtrack::RunPage& page, const runtrack::StoreLayout& layout);
// {"results": {id: {"success": true} | {"success": false, "error": ...}}} plus `count_field`
// (deleted_count / restored_count / permanently_deleted) and, when `verb` is set, a message
// "<verb> X of Y runs".
boost::json::object BatchResult(const service::BatchOutcome& outcome, const char* count_field,
                                const char* verb);
boost::json::object EmptyRecycleBin(const service::PurgeOutcome& outcome);
boost::json::object Projects(const std::vector<std::string>& projects);
boost::json::object Names(const std::vector<std::string>& names);

// Metrics (metrics_api.md): {"columns": [x_column, metrics...], "rows": [...]} where a metric
// with no point at a row's step is left out of that row and a non-finite value is null;
// `stage_of_row` (optional) adds a "stage" column.
boost::json::object MetricRowsTable(const runtrack::MetricRows& rows, const std::string& x_column,
                                    const std::vector<std::string>* stage_of_row = nullptr);
// GET /api/runs/{id}/metrics_step.
boost::json::object MetricsStep(const service::MetricTableQuery& query, const service::MetricTable& table);
// GET /api/runs/{id}/metrics: rows carry "time" relative to the first row's wall time.
boost::json::object MetricsTime(const service::MetricTableQuery& query, const service::MetricTable& table);
// GET /api/export/{id}/json.
boost::json::object ExportJson(const runtrack::RunDetail& detail, const service::MetricTable& table,
                               const runtrack::StoreLayout& layout, double exported_at);
// GET /api/export/{id}/csv: global_step,time,<metrics...>,stage.
std::string ExportCsv(const service::MetricTable& table);

// Artifacts (artifacts_api.md).
boost::json::array ArtifactList(const std::vector<runtrack::ArtifactSummary>& list);
boost::json::array ArtifactVersions(const std::vector<runtrack::ArtifactVersionInfo>& versions);
boost::json::object Lineage(const service::LineageView& view, int max_depth);
boost::json::object ArtifactDeleted(const service::VersionRef& ref, bool permanent);
boost::json::object ArtifactRestored(const service::VersionRef& ref);
boost::json::object AliasSet(const std::string& name, const std::string& alias, int version,
                             const std::map<std::string, int>& aliases);
boost::json::object AliasRemoved(const std::string& name, const std::string& alias);

// Config.
boost::json::object Config(const service::ConfigView& config);
boost::json::object UserRootSaved(const service::UserRootChange& change, const std::string& storage);

}  // namespace runicorn::encode
