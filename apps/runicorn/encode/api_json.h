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

// Metrics (metrics_api.md, docs/API.md). Bodies written straight into a string by
// metrics_json.cpp (json_writer.h's number format). Every row carries every column, null where a
// metric has no point at the row's step (or a non-finite value there); "time" is the row's wall
// time (seconds since the epoch), "stage" its stage or null. After "columns" and "rows":
// "total" (distinct steps in range; null when downsampling dropped points, as counting them would
// read every point), "sampled" (rows returned), then our own facts: "total_points",
// "downsampled", "downsample", "method", "missing_metrics", "truncated", "next_step".
//
// GET /api/runs/{id}/metrics_step and /metrics: columns "global_step" then, without a metrics=
// filter, the rest sorted by name ("stage" and "time" included, as Runicorn orders them); with
// one, the metrics as asked, then "stage", "time". A metric named global_step, time or stage is
// left out (those columns belong to the row).
std::string MetricsStep(const service::MetricTableQuery& query, const service::MetricTable& table);
// GET /api/runs/{id}/metrics?time=relative: columns "time" (seconds since the first row's wall
// time), "global_step", the metrics, "stage".
std::string MetricsRelativeTime(const service::MetricTableQuery& query, const service::MetricTable& table);
// GET /api/v2/experiments/{id}/metrics/fast: columns "global_step" + metrics, then total_points,
// applied_filters, missing_metrics, truncated, next_step, query_time_ms.
std::string MetricsFast(const service::MetricTableQuery& query, const service::MetricTable& table,
                        double query_time_ms);
// Exports, written a page at a time (export_stream.h composes them):
// GET /api/export/{id}/json: {"format_version", "exported_at", "run", "metrics": {columns, rows}}
// with metrics_step's columns and rows. The head ends inside "rows":[ ; each page appends its
// rows (`first_rows`: no row precedes them, so no leading comma); the tail closes it all.
std::string ExportJsonHead(const runtrack::RunDetail& detail, const service::MetricTable& first_page,
                           const runtrack::StoreLayout& layout, double exported_at);
void AppendExportJsonRows(const service::MetricTable& page, bool first_rows, std::string& out);
inline constexpr std::string_view kExportJsonTail = "]}}";
// GET /api/export/{id}/csv: global_step,time,<metrics...>,stage.
std::string ExportCsvHeader(const service::MetricTable& first_page);
void AppendExportCsvRows(const service::MetricTable& page, std::string& out);

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
