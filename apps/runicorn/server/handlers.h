// Every HTTP handler: a plain function from a parsed request to a response. They validate their
// inputs (run ids, artifact names, parameters) before anything reaches the catalog or the file
// system, and are registered in routes.cpp, the one routing table.
#pragma once

#include <string>

#include "runtrack/status.h"
#include "server/app_context.h"
#include "server/http_types.h"
#include "server/metric_table.h"

namespace runicorn::server {

// "Invalid run_id format: <id>" unless `id` matches ^[0-9]{8}_[0-9]{6}_[a-f0-9]{6}$.
runtrack::Status CheckRunIdParam(const std::string& id);

// System (handlers_system.cpp)
Response HandleHealth(const AppContext& ctx, const Request& req);
Response HandleGetConfig(const AppContext& ctx, const Request& req);
Response HandleSetUserRootDir(const AppContext& ctx, const Request& req);

// Runs, recycle bin, projects (handlers_runs.cpp)
Response HandleListRuns(const AppContext& ctx, const Request& req);
Response HandleGetRun(const AppContext& ctx, const Request& req);
Response HandleSoftDelete(const AppContext& ctx, const Request& req);
Response HandleRecycleBin(const AppContext& ctx, const Request& req);
Response HandleRestore(const AppContext& ctx, const Request& req);
Response HandleEmptyRecycleBin(const AppContext& ctx, const Request& req);
Response HandleProjects(const AppContext& ctx, const Request& req);
Response HandleProjectNames(const AppContext& ctx, const Request& req);
Response HandleProjectNameRuns(const AppContext& ctx, const Request& req);

// Metrics (handlers_metrics.cpp)
Response HandleMetrics(const AppContext& ctx, const Request& req);
Response HandleMetricsStep(const AppContext& ctx, const Request& req);

// Exports (handlers_export.cpp)
Response HandleExportCsv(const AppContext& ctx, const Request& req);
Response HandleExportJson(const AppContext& ctx, const Request& req);
// The same responses, reporting progress while the metrics are read: `runicorn export`'s bar.
// (Separate names because a route's handler takes exactly (ctx, req).)
Response ExportCsv(const AppContext& ctx, const Request& req, const MetricReadProgress& progress);
Response ExportJson(const AppContext& ctx, const Request& req, const MetricReadProgress& progress);

// v2 (handlers_v2.cpp)
Response HandleV2ListExperiments(const AppContext& ctx, const Request& req);
Response HandleV2GetExperiment(const AppContext& ctx, const Request& req);
Response HandleV2MetricsFast(const AppContext& ctx, const Request& req);
Response HandleV2BatchDelete(const AppContext& ctx, const Request& req);

// Artifacts (handlers_artifacts.cpp)
Response HandleListArtifacts(const AppContext& ctx, const Request& req);
Response HandleArtifactStats(const AppContext& ctx, const Request& req);
Response HandleArtifactVersions(const AppContext& ctx, const Request& req);
Response HandleArtifactVersion(const AppContext& ctx, const Request& req);
Response HandleArtifactFiles(const AppContext& ctx, const Request& req);
Response HandleArtifactDownload(const AppContext& ctx, const Request& req);
Response HandleArtifactLineage(const AppContext& ctx, const Request& req);
Response HandleDeleteArtifactVersion(const AppContext& ctx, const Request& req);
Response HandleRestoreArtifactVersion(const AppContext& ctx, const Request& req);
Response HandleArtifactAliases(const AppContext& ctx, const Request& req);
Response HandleSetArtifactAlias(const AppContext& ctx, const Request& req);
Response HandleDeleteArtifactAlias(const AppContext& ctx, const Request& req);

}  // namespace runicorn::server
