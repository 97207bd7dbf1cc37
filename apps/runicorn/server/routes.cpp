#include "server/routes.h"

#include "server/handlers.h"
#include "server/streams.h"

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
  add("GET", "/api/runs/{run_id}/metrics", HandleMetrics, "metrics");
  add("GET", "/api/runs/{run_id}/metrics_step", HandleMetricsStep, "metrics");
  ws("/api/runs/{run_id}/logs/ws", MakeLogStream);
  ws("/api/runs/{run_id}/metrics/ws", MakeMetricStream);
  add("POST", "/api/runs/soft-delete", HandleSoftDelete, "soft_delete");
  add("GET", "/api/recycle-bin", HandleRecycleBin, "recycle_bin");
  add("POST", "/api/recycle-bin/restore", HandleRestore, "recycle_bin");
  add("POST", "/api/recycle-bin/empty", HandleEmptyRecycleBin, "recycle_empty");

  add("GET", "/api/projects", HandleProjects, "projects");
  add("GET", "/api/projects/{project}/names", HandleProjectNames, "projects");
  add("GET", "/api/projects/{project}/names/{name}/runs", HandleProjectNameRuns, "projects");

  add("GET", "/api/export/{run_id}/csv", HandleExportCsv, "export");
  add("GET", "/api/export/{run_id}/json", HandleExportJson, "export");

  add("GET", "/api/v2/experiments", HandleV2ListExperiments, "v2_list");
  add("GET", "/api/v2/experiments/{exp_id}", HandleV2GetExperiment, "v2_detail");
  add("GET", "/api/v2/experiments/{exp_id}/metrics/fast", HandleV2MetricsFast, "v2_metrics");
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
  return r;
}

}  // namespace runicorn::server
