// Every HTTP handler: transport only. A handler parses its request (path parameters, query, JSON
// body), calls one service (ctx.services, which validates ids and names before anything reaches
// storage) and encodes the result (encode/api_json.h). Registered in routes.cpp, the one routing
// table.
#pragma once

#include <string>

#include "server/app_context.h"
#include "server/http_types.h"

namespace runicorn::server {

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
