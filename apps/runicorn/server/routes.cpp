#include "server/routes.h"

#include "server/handlers.h"
#include "server/streams.h"
#include "server/task_streams.h"

namespace runicorn::server {

Router BuildApiRouter() {
  Router r;
  auto add = [&r](const char* method, const char* pattern, Handler h, const char* rate_class) {
    Route route;
    route.method = method;
    route.pattern = pattern;
    route.handler = std::move(h);
    route.rate_class = rate_class;
    r.Add(std::move(route));
  };
  auto heavy = [&r](const char* method, const char* pattern, Handler h, const char* rate_class) {
    Route route;
    route.method = method;
    route.pattern = pattern;
    route.handler = std::move(h);
    route.rate_class = rate_class;
    route.heavy = true;  // see Route::heavy
    r.Add(std::move(route));
  };
  auto ws = [&r](const char* pattern, StreamFactory f) {
    Route route;
    route.method = "GET";
    route.pattern = pattern;
    route.stream = std::move(f);
    route.rate_class = "websocket";
    route.websocket = true;
    r.Add(std::move(route));
  };

  {
    Route health;
    health.method = "GET";
    health.pattern = "/api/health";
    health.handler = HandleHealth;
    health.rate_class = "health";
    health.needs_auth = false;  // liveness probes carry no credentials
    r.Add(std::move(health));
  }
  add("GET", "/api/config", HandleGetConfig, "config_get");
  add("POST", "/api/config/user_root_dir", HandleSetUserRootDir, "config_set");

  add("GET", "/api/runs", HandleListRuns, "runs_list");
  add("GET", "/api/runs/{run_id}", HandleGetRun, "runs_detail");
  heavy("GET", "/api/runs/{run_id}/metrics", HandleMetrics, "metrics");
  heavy("GET", "/api/runs/{run_id}/metrics_step", HandleMetricsStep, "metrics");
  ws("/api/runs/{run_id}/logs/ws", MakeLogStream);
  ws("/api/runs/{run_id}/metrics/ws", MakeMetricStream);
  add("POST", "/api/runs/soft-delete", HandleSoftDelete, "soft_delete");
  add("GET", "/api/recycle-bin", HandleRecycleBin, "recycle_bin");
  add("POST", "/api/recycle-bin/restore", HandleRestore, "recycle_bin");
  add("POST", "/api/recycle-bin/empty", HandleEmptyRecycleBin, "recycle_empty");

  add("GET", "/api/projects", HandleProjects, "projects");
  add("GET", "/api/projects/{project}/names", HandleProjectNames, "projects");
  add("GET", "/api/projects/{project}/names/{name}/runs", HandleProjectNameRuns, "projects");

  heavy("GET", "/api/export/{run_id}/csv", HandleExportCsv, "export");
  heavy("GET", "/api/export/{run_id}/json", HandleExportJson, "export");

  add("GET", "/api/v2/experiments", HandleV2ListExperiments, "v2_list");
  add("GET", "/api/v2/experiments/{exp_id}", HandleV2GetExperiment, "v2_detail");
  heavy("GET", "/api/v2/experiments/{exp_id}/metrics/fast", HandleV2MetricsFast, "v2_metrics");
  add("POST", "/api/v2/experiments/batch-delete", HandleV2BatchDelete, "v2_batch_delete");

  add("GET", "/api/artifacts", HandleListArtifacts, "artifacts");
  add("GET", "/api/artifacts/stats", HandleArtifactStats, "artifacts");
  add("GET", "/api/artifacts/{name}/versions", HandleArtifactVersions, "artifacts");
  add("GET", "/api/artifacts/{name}/aliases", HandleArtifactAliases, "artifacts");
  add("PUT", "/api/artifacts/{name}/aliases/{alias}", HandleSetArtifactAlias, "artifacts_write");
  add("DELETE", "/api/artifacts/{name}/aliases/{alias}", HandleDeleteArtifactAlias, "artifacts_write");
  add("GET", "/api/artifacts/{name}/v{version}", HandleArtifactVersion, "artifacts");
  add("DELETE", "/api/artifacts/{name}/v{version}", HandleDeleteArtifactVersion, "artifacts_write");
  add("POST", "/api/artifacts/{name}/v{version}/restore", HandleRestoreArtifactVersion, "artifacts_write");
  add("GET", "/api/artifacts/{name}/v{version}/files", HandleArtifactFiles, "artifacts");
  add("GET", "/api/artifacts/{name}/v{version}/download", HandleArtifactDownload, "artifacts");
  add("GET", "/api/artifacts/{name}/v{version}/lineage", HandleArtifactLineage, "artifacts");

  // Runicorn compatibility (handlers_compat.cpp).
  add("GET", "/api/runs/{run_id}/artifacts", HandleRunArtifacts, "runs_detail");
  add("GET", "/api/runs/{run_id}/progress", HandleRunProgress, "runs_detail");
  add("GET", "/api/environment/{run_id}", HandleEnvironment, "runs_detail");
  add("GET", "/api/artifacts/{name}/training-metrics", HandleArtifactTrainingMetrics, "artifacts");
  add("GET", "/api/artifacts/{name}/performance-history", HandleArtifactPerformanceHistory, "artifacts");
  add("GET", "/api/system/monitor", HandleSystemMonitor, "system");
  add("GET", "/api/gpu/telemetry", HandleGpuTelemetry, "system");
  add("POST", "/api/status/check", HandleStatusCheck, "status_check");
  add("GET", "/api/v2/analytics/overview", HandleAnalyticsOverview, "v2_list");
  add("GET", "/api/metrics/cache/stats", HandleMetricsCacheStats, "metrics");
  add("GET", "/api/config/column-widths", HandleGetColumnWidths, "config_get");
  add("POST", "/api/config/column-widths", HandleSaveColumnWidths, "config_set");
  add("DELETE", "/api/config/column-widths", HandleDeleteColumnWidths, "config_set");
  add("POST", "/api/config/column-widths/reset", HandleDeleteColumnWidths, "config_set");
  add("GET", "/api/config/dismissed-alerts", HandleDismissedAlerts, "config_get");
  add("POST", "/api/config/dismissed-alerts/dismiss", HandleDismissAlert, "config_set");
  add("POST", "/api/config/dismissed-alerts/undismiss", HandleUndismissAlert, "config_set");
  add("POST", "/api/config/dismissed-alerts/clear", HandleClearDismissedAlerts, "config_set");
  // Runicorn v0.6 (handlers_paths.cpp, handlers_import.cpp).
  add("GET", "/api/paths", HandleListPaths, "projects");
  add("GET", "/api/paths/tree", HandlePathTree, "projects");
  add("GET", "/api/paths/runs", HandlePathRuns, "runs_list");
  add("POST", "/api/paths/soft-delete", HandlePathSoftDelete, "soft_delete");
  add("GET", "/api/paths/export", HandlePathExport, "export");
  add("GET", "/api/storage/stats", HandleStorageStats, "system");
  add("GET", "/api/runs/{run_id}/media", HandleRunMedia, "runs_detail");
  add("GET", "/api/runs/{run_id}/media/{file}", HandleRunMediaFile, "media");
  {
    // A browser's form upload: multipart/form-data instead of JSON (see Route::multipart_body).
    Route import;
    import.method = "POST";
    import.pattern = "/api/import/archive";
    import.handler = HandleImportArchive;
    import.rate_class = "import";
    import.multipart_body = true;
    r.Add(std::move(import));
  }
  {
    // Shipping (docs/REMOTE.md): an ingest token may call these routes, and nothing else (auth.h);
    // they share one rate class.
    auto ingest_route = [&r](const char* method, const char* pattern, Handler h, bool raw_body) {
      Route route;
      route.method = method;
      route.pattern = pattern;
      route.handler = std::move(h);
      route.rate_class = "ingest";
      route.raw_body = raw_body;
      route.ingest_scope = true;
      r.Add(std::move(route));
    };
    // Journals: the body is zstd-compressed journal bytes, not JSON.
    ingest_route("PUT", "/api/ingest/{run_id}/{stream}", HandleIngest, true);
    // Whether a shipped run is sealed beyond its owner's disk (docs/REMOTE.md "Sealed confirmation").
    ingest_route("GET", "/api/ingest/{run_id}/state", HandleIngestState, false);
    // Artifacts (docs/REMOTE.md "Artifacts"): chunk and manifest bodies are raw bytes. More literal
    // characters than {run_id}/{stream}, so they win.
    ingest_route("POST", "/api/ingest/chunks/missing", HandleIngestMissingChunks, false);
    ingest_route("PUT", "/api/ingest/chunks/{digest}", HandleIngestChunk, true);
    ingest_route("PUT", "/api/ingest/artifacts/{name}/v{version}", HandleIngestArtifact, true);
    ingest_route("PUT", "/api/ingest/artifacts/{name}/aliases/{alias}", HandleIngestSetAlias, false);
    ingest_route("DELETE", "/api/ingest/artifacts/{name}/aliases/{alias}", HandleIngestRemoveAlias, false);
    ingest_route("PUT", "/api/ingest/artifacts/{name}/v{version}/state", HandleIngestVersionState, false);
    add("GET", "/api/runs/{run_id}/streams", HandleRunStreams, "runs_detail");
    add("GET", "/api/runs/{run_id}/stream-points", HandleStreamPoints, "metrics");
  }
  {
    // The training service API (docs/API-v1.md): V1Gate (v1_gate.h) authenticates these with the
    // /api/v1 login's JWT, rate-limits them per user and answers errors in its envelope; the rate
    // class here is unused. Login is the one route without a token.
    Route login;
    login.method = "POST";
    login.pattern = "/api/v1/login";
    login.handler = HandleV1Login;
    login.rate_class = "v1";
    login.needs_auth = false;
    r.Add(std::move(login));
  }
  add("GET", "/api/v1/datasets", HandleV1ListDatasets, "v1");
  add("POST", "/api/v1/datasets/upload", HandleV1UploadDataset, "v1");
  add("POST", "/api/v1/datasets/process", HandleV1ProcessDataset, "v1");
  add("GET", "/api/v1/datasets/{dataset_id}", HandleV1GetDataset, "v1");
  add("POST", "/api/v1/train", HandleV1Train, "v1");
  add("GET", "/api/v1/train/status/{task_id}", HandleV1TrainStatus, "v1");
  add("POST", "/api/v1/train/cancel/{task_id}", HandleV1TrainCancel, "v1");
  // Generation runs a process for seconds: off the I/O threads (handlers_v1_models.cpp).
  heavy("POST", "/api/v1/generate", HandleV1Generate, "v1");
  heavy("POST", "/api/v1/generate/batch", HandleV1GenerateBatch, "v1");
  add("GET", "/api/v1/models", HandleV1ListModels, "v1");
  add("GET", "/api/v1/models/{model_id}", HandleV1GetModel, "v1");
  // The training jobs for the web UI's Training page (handlers_training.cpp): the viewer's auth.
  add("GET", "/api/training/jobs", HandleListTrainingJobs, "training_jobs");
  add("GET", "/api/training/jobs/{task_id}/log", HandleTrainingJobLog, "training_jobs");
  // The task runner (Pyruns' routes): they run commands, so they need the task token always.
  auto task = [&r](const char* method, const char* pattern, Handler h) {
    Route route;
    route.method = method;
    route.pattern = pattern;
    route.handler = std::move(h);
    route.rate_class = "tasks";
    route.needs_token_always = true;
    r.Add(std::move(route));
  };
  task("GET", "/api/workspace", HandleGetWorkspace);
  task("POST", "/api/workspace/shell", HandleShellWorkspace);
  task("POST", "/api/workspace/run-root", HandleWorkspaceRunRoot);
  task("POST", "/api/generator/preview", HandleGeneratorPreview);
  task("POST", "/api/generator/create", HandleGeneratorCreate);
  task("GET", "/api/tasks", HandleListTasks);
  task("POST", "/api/tasks/batch/run", HandleBatchRunTasks);
  task("POST", "/api/tasks/batch/delete", HandleBatchDeleteTasks);
  task("POST", "/api/tasks/export/csv", HandleExportTasksCsv);
  task("GET", "/api/tasks/{name}", HandleGetTask);
  task("POST", "/api/tasks/{name}/run", HandleRunTask);
  task("POST", "/api/tasks/{name}/cancel", HandleCancelTask);
  task("GET", "/api/tasks/{name}/logs", HandleTaskLogs);
  task("POST", "/api/tasks/{name}/pin", HandlePinTask);
  task("PATCH", "/api/tasks/{name}/notes", HandleTaskNotes);
  task("PATCH", "/api/tasks/{name}/env", HandleTaskEnv);
  task("POST", "/api/tasks/{name}/rename", HandleRenameTask);
  task("POST", "/api/tasks/reorder", HandleReorderTasks);
  task("GET", "/api/launcher/scripts", HandleLauncherScripts);
  task("GET", "/api/launcher/configs", HandleLauncherConfigs);
  task("GET", "/api/launcher/workspaces", HandleLauncherWorkspaces);
  task("GET", "/api/launcher/validate-path", HandleLauncherValidatePath);
  task("POST", "/api/launcher/open", HandleLauncherOpen);
  task("POST", "/api/launcher/open-shell-root", HandleLauncherOpenShellRoot);
  for (const char* dialog : {"/api/launcher/pick-script", "/api/launcher/pick-script-path",
                             "/api/launcher/pick-config-path", "/api/launcher/pick-shell-root"})
    task("POST", dialog, HandleLauncherNativeDialog);
  task("GET", "/api/system/metrics", HandleTaskSystemMetrics);
  {
    // Runicorn's SSH remote (handlers_remote.cpp): they use the user's SSH credentials and write
    // into the store, so they need the task token always; v0.4's /api/unified/* are aliases.
    auto remote = [&r](const char* method, const char* pattern, Handler h, const char* rate_class) {
      Route route;
      route.method = method;
      route.pattern = pattern;
      route.handler = std::move(h);
      route.rate_class = rate_class;
      route.needs_token_always = true;
      r.Add(std::move(route));
    };
    for (const char* prefix : {"/api/remote", "/api/unified"}) {
      const std::string p = prefix;
      remote("POST", (p + "/connect").c_str(), HandleRemoteConnect, "remote_connect");
      remote("POST", (p + "/disconnect").c_str(), HandleRemoteDisconnect, "remote");
    }
    remote("GET", "/api/remote/status", HandleRemoteStatus, "remote_status");
    // Runicorn's unified status (connection + sync mode), listing and sync modes (handlers_unified.cpp).
    remote("GET", "/api/unified/status", HandleUnifiedStatus, "remote_status");
    remote("GET", "/api/unified/listdir", HandleUnifiedListDir, "remote_listdir");
    remote("POST", "/api/unified/configure_mode", HandleUnifiedConfigureMode, "remote_configure");
    remote("POST", "/api/unified/deactivate_mode", HandleUnifiedDeactivateMode, "remote_configure");
    remote("GET", "/api/remote/sessions", HandleRemoteStatus, "remote_status");
    remote("POST", "/api/remote/known-hosts/accept", HandleRemoteAcceptHostKey, "remote");
    remote("GET", "/api/remote/connections/saved", HandleRemoteSavedList, "remote");
    remote("POST", "/api/remote/connections/saved", HandleRemoteSavedSave, "remote");
    remote("DELETE", "/api/remote/connections/saved/{name}", HandleRemoteSavedDelete, "remote");
    remote("GET", "/api/remote/fs/list", HandleRemoteListDir, "remote");
    remote("POST", "/api/remote/sync", HandleRemoteSync, "remote_sync");
    remote("POST", "/api/remote/viewer/start", HandleRemoteViewerStart, "remote");
    remote("POST", "/api/remote/viewer/stop", HandleRemoteViewerStop, "remote");
    remote("GET", "/api/remote/viewer/sessions", HandleRemoteViewerSessions, "remote_status");
    remote("GET", "/api/remote/viewer/status/{session_id}", HandleRemoteViewerStatus, "remote_status");
  }
  {
    // The task runner's WebSockets (task_streams.h): the task token too, sent as ?token=.
    for (auto [pattern, factory] : {std::pair<const char*, StreamFactory>{"/api/tasks/events", MakeTaskEventStream},
                                    {"/api/tasks/{name}/logs/stream", MakeTaskLogStream}}) {
      Route route;
      route.method = "GET";
      route.pattern = pattern;
      route.stream = std::move(factory);
      route.rate_class = "websocket";
      route.websocket = true;
      route.needs_token_always = true;
      r.Add(std::move(route));
    }
  }
  return r;
}

}  // namespace runicorn::server
