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

// Journal shipping (handlers_ingest.cpp)
Response HandleIngest(const AppContext& ctx, const Request& req);
Response HandleIngestState(const AppContext& ctx, const Request& req);
// Artifact shipping (handlers_ingest_artifacts.cpp, docs/REMOTE.md "Artifacts")
Response HandleIngestMissingChunks(const AppContext& ctx, const Request& req);
Response HandleIngestChunk(const AppContext& ctx, const Request& req);
Response HandleIngestArtifact(const AppContext& ctx, const Request& req);
// A writer's user aliases (handlers_ingest_aliases.cpp, docs/REMOTE.md "Artifacts")
Response HandleIngestSetAlias(const AppContext& ctx, const Request& req);
Response HandleIngestRemoveAlias(const AppContext& ctx, const Request& req);
// A writer's version deletes and restores (handlers_ingest_versions.cpp, docs/REMOTE.md "Artifacts")
Response HandleIngestVersionState(const AppContext& ctx, const Request& req);
// A multi-process run's streams (handlers_streams.cpp, docs/REMOTE.md "Streams").
Response HandleRunStreams(const AppContext& ctx, const Request& req);
Response HandleStreamPoints(const AppContext& ctx, const Request& req);

// Training service API /api/v1 (handlers_v1.cpp; behind V1Gate, v1_gate.h)
Response HandleV1Login(const AppContext& ctx, const Request& req);
Response HandleV1ListDatasets(const AppContext& ctx, const Request& req);
Response HandleV1GetDataset(const AppContext& ctx, const Request& req);
Response HandleV1UploadDataset(const AppContext& ctx, const Request& req);
Response HandleV1ProcessDataset(const AppContext& ctx, const Request& req);
// Training jobs (handlers_v1_train.cpp) and models / generation (handlers_v1_models.cpp)
Response HandleV1Train(const AppContext& ctx, const Request& req);
Response HandleV1TrainStatus(const AppContext& ctx, const Request& req);
Response HandleV1TrainCancel(const AppContext& ctx, const Request& req);
Response HandleV1ListModels(const AppContext& ctx, const Request& req);
Response HandleV1GetModel(const AppContext& ctx, const Request& req);
Response HandleV1Generate(const AppContext& ctx, const Request& req);
Response HandleV1GenerateBatch(const AppContext& ctx, const Request& req);
// The training jobs for the web UI's Training page (handlers_training.cpp): the viewer's own
// auth, not the /api/v1 token.
Response HandleListTrainingJobs(const AppContext& ctx, const Request& req);
Response HandleTrainingJobLog(const AppContext& ctx, const Request& req);

// Runicorn compatibility (handlers_compat.cpp)
Response HandleRunArtifacts(const AppContext& ctx, const Request& req);
Response HandleRunProgress(const AppContext& ctx, const Request& req);
Response HandleEnvironment(const AppContext& ctx, const Request& req);
Response HandleArtifactTrainingMetrics(const AppContext& ctx, const Request& req);
Response HandleArtifactPerformanceHistory(const AppContext& ctx, const Request& req);
Response HandleSystemMonitor(const AppContext& ctx, const Request& req);
Response HandleGpuTelemetry(const AppContext& ctx, const Request& req);
Response HandleStatusCheck(const AppContext& ctx, const Request& req);
Response HandleAnalyticsOverview(const AppContext& ctx, const Request& req);
Response HandleMetricsCacheStats(const AppContext& ctx, const Request& req);
Response HandleGetColumnWidths(const AppContext& ctx, const Request& req);
Response HandleSaveColumnWidths(const AppContext& ctx, const Request& req);
Response HandleDeleteColumnWidths(const AppContext& ctx, const Request& req);
Response HandleDismissedAlerts(const AppContext& ctx, const Request& req);
Response HandleDismissAlert(const AppContext& ctx, const Request& req);
Response HandleUndismissAlert(const AppContext& ctx, const Request& req);
Response HandleClearDismissedAlerts(const AppContext& ctx, const Request& req);

// Runicorn v0.6 paths and storage statistics (handlers_paths.cpp), archive import
// (handlers_import.cpp), the OpenAPI document and its page (openapi.cpp)
Response HandleListPaths(const AppContext& ctx, const Request& req);
Response HandlePathTree(const AppContext& ctx, const Request& req);
Response HandlePathRuns(const AppContext& ctx, const Request& req);
Response HandlePathSoftDelete(const AppContext& ctx, const Request& req);
Response HandlePathExport(const AppContext& ctx, const Request& req);
Response HandleStorageStats(const AppContext& ctx, const Request& req);
Response HandleImportArchive(const AppContext& ctx, const Request& req);
// A run's logged images (handlers_media.cpp)
Response HandleRunMedia(const AppContext& ctx, const Request& req);
Response HandleRunMediaFile(const AppContext& ctx, const Request& req);

// Task runner: workspace, generator, tasks (handlers_tasks.cpp); routes need the task token.
Response HandleGetWorkspace(const AppContext& ctx, const Request& req);
Response HandleShellWorkspace(const AppContext& ctx, const Request& req);
Response HandleWorkspaceRunRoot(const AppContext& ctx, const Request& req);
Response HandleGeneratorPreview(const AppContext& ctx, const Request& req);
Response HandleGeneratorCreate(const AppContext& ctx, const Request& req);
Response HandleListTasks(const AppContext& ctx, const Request& req);
Response HandleGetTask(const AppContext& ctx, const Request& req);
Response HandleRunTask(const AppContext& ctx, const Request& req);
Response HandleBatchRunTasks(const AppContext& ctx, const Request& req);
Response HandleCancelTask(const AppContext& ctx, const Request& req);
Response HandleTaskLogs(const AppContext& ctx, const Request& req);
Response HandlePinTask(const AppContext& ctx, const Request& req);
Response HandleTaskNotes(const AppContext& ctx, const Request& req);
Response HandleTaskEnv(const AppContext& ctx, const Request& req);
Response HandleRenameTask(const AppContext& ctx, const Request& req);
Response HandleBatchDeleteTasks(const AppContext& ctx, const Request& req);
Response HandleExportTasksCsv(const AppContext& ctx, const Request& req);
Response HandleReorderTasks(const AppContext& ctx, const Request& req);
// Launcher (handlers_launcher.cpp) and Pyruns' system metrics; task token too.
Response HandleLauncherScripts(const AppContext& ctx, const Request& req);
Response HandleLauncherConfigs(const AppContext& ctx, const Request& req);
Response HandleLauncherWorkspaces(const AppContext& ctx, const Request& req);
Response HandleLauncherValidatePath(const AppContext& ctx, const Request& req);
Response HandleLauncherOpen(const AppContext& ctx, const Request& req);
Response HandleLauncherOpenShellRoot(const AppContext& ctx, const Request& req);
Response HandleLauncherNativeDialog(const AppContext& ctx, const Request& req);
Response HandleTaskSystemMetrics(const AppContext& ctx, const Request& req);

// Runicorn's SSH remote (handlers_remote.cpp); needs_token_always, like the task routes.
Response HandleRemoteConnect(const AppContext& ctx, const Request& req);
Response HandleRemoteAcceptHostKey(const AppContext& ctx, const Request& req);
Response HandleRemoteDisconnect(const AppContext& ctx, const Request& req);
Response HandleRemoteStatus(const AppContext& ctx, const Request& req);
Response HandleRemoteSavedList(const AppContext& ctx, const Request& req);
Response HandleRemoteSavedSave(const AppContext& ctx, const Request& req);
Response HandleRemoteSavedDelete(const AppContext& ctx, const Request& req);
Response HandleRemoteListDir(const AppContext& ctx, const Request& req);
Response HandleRemoteSync(const AppContext& ctx, const Request& req);
// A remote `runicorn viewer` tunneled to a local port (handlers_remote_viewer.cpp).
Response HandleRemoteViewerStart(const AppContext& ctx, const Request& req);
Response HandleRemoteViewerStop(const AppContext& ctx, const Request& req);
Response HandleRemoteViewerSessions(const AppContext& ctx, const Request& req);
Response HandleRemoteViewerStatus(const AppContext& ctx, const Request& req);
// Runicorn's /api/unified/* status, listdir and sync modes (handlers_unified.cpp).
Response HandleUnifiedStatus(const AppContext& ctx, const Request& req);
Response HandleUnifiedListDir(const AppContext& ctx, const Request& req);
Response HandleUnifiedConfigureMode(const AppContext& ctx, const Request& req);
Response HandleUnifiedDeactivateMode(const AppContext& ctx, const Request& req);

}  // namespace runicorn::server
