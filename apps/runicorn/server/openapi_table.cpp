// The OpenAPI side table (openapi.h): per route, its summary, query parameters and response
// schema. Keyed by "METHOD pattern" exactly as routes.cpp registers it; a new route gets a line
// here next to its registration there (openapi_test checks every route is listed).
#include <boost/json.hpp>

#include "server/openapi.h"

namespace runicorn::server {
namespace bj = boost::json;

namespace {

const QueryDoc kDownsample{"downsample", "integer", "target points per metric (LTTB), 100..50000"};
const QueryDoc kType{"type", "string", "artifact type hint: model, dataset, config, code, custom"};
const QueryDoc kPath{"path", "string", "run path ('' = root); '/'-separated"};
const QueryDoc kExact{"exact", "boolean", "only this path, not the paths below it"};

}  // namespace

const std::vector<RouteDoc>& RouteDocs() {
  static const std::vector<RouteDoc> docs = {
      {"GET /api/health", "Liveness, storage root, version and chart cache", {}, "Health"},
      {"GET /api/config", "Viewer configuration", {}, "Object"},
      {"POST /api/config/user_root_dir", "Save the default store root for the next viewer", {}, "Object"},
      {"GET /api/runs", "List runs (not soft-deleted), newest first",
       {{"project", "string", "only this project"}, {"name", "string", "only this run name"},
        {"status", "string", "comma list of running, finished, failed, interrupted"}},
       "RunList"},
      {"GET /api/runs/{run_id}", "One run: summary, config, metrics, artifacts", {}, "Object"},
      {"GET /api/runs/{run_id}/metrics", "Metrics per step (as metrics_step)",
       {kDownsample, {"time", "string", "relative: wall time relative to the run's start"}}, "MetricRows"},
      {"GET /api/runs/{run_id}/metrics_step", "Metrics per step, every column in every row",
       {kDownsample, {"step_min", "integer", "first step"}, {"step_max", "integer", "last step"}}, "MetricRows"},
      {"GET /api/runs/{run_id}/logs/ws", "Live text log (WebSocket)", {}, "Object"},
      {"GET /api/runs/{run_id}/metrics/ws", "Live metric points (WebSocket)", {}, "Object"},
      {"POST /api/runs/soft-delete", "Move runs to the recycle bin ({\"run_ids\": [...]})", {}, "BatchResult"},
      {"GET /api/recycle-bin", "Soft-deleted runs", {}, "Object"},
      {"POST /api/recycle-bin/restore", "Restore soft-deleted runs ({\"run_ids\": [...]})", {}, "BatchResult"},
      {"POST /api/recycle-bin/empty", "Permanently delete every soft-deleted run ({\"confirm\": true})", {}, "Object"},
      {"GET /api/projects", "Project names", {}, "Object"},
      {"GET /api/projects/{project}/names", "Run names of a project", {}, "Object"},
      {"GET /api/projects/{project}/names/{name}/runs", "Runs of a project and name", {}, "RunList"},
      {"GET /api/export/{run_id}/csv", "A run's metrics as CSV", {}, "text"},
      {"GET /api/export/{run_id}/json", "A run's metrics and metadata as JSON", {}, "Object"},
      {"GET /api/v2/experiments", "Filtered, sorted, paginated runs",
       {{"project", "string", "project"}, {"name", "string", "run name"}, {"status", "string", "comma list"},
        {"search", "string", "substring of id, project, name or a tag"}, {"page", "integer", "1-based page"},
        {"per_page", "integer", "1..1000"}, {"order_by", "string", "created_at, updated_at, best_metric_value, status"},
        {"order_desc", "boolean", "descending"}},
       "ExperimentPage"},
      {"GET /api/v2/experiments/{exp_id}", "One experiment with metrics summary", {}, "Object"},
      {"GET /api/v2/experiments/{exp_id}/metrics/fast", "Selected metrics of an experiment",
       {{"metric_names", "string", "comma list"}, {"step_range", "string", "min:max"}, kDownsample}, "Object"},
      {"POST /api/v2/experiments/batch-delete", "Soft-delete experiments ({\"exp_ids\": [...]})", {}, "BatchResult"},
      {"GET /api/artifacts", "Artifacts with their latest version", {kType}, "Array"},
      {"GET /api/artifacts/stats", "Artifact storage and deduplication statistics", {}, "Object"},
      {"GET /api/artifacts/{name}/versions", "Versions of an artifact", {kType}, "Array"},
      {"GET /api/artifacts/{name}/aliases", "Aliases of an artifact", {}, "Object"},
      {"PUT /api/artifacts/{name}/aliases/{alias}", "Point an alias at a version ({\"version\": N})", {}, "Object"},
      {"DELETE /api/artifacts/{name}/aliases/{alias}", "Remove an alias", {}, "Object"},
      {"GET /api/artifacts/{name}/v{version}", "One artifact version", {kType}, "Object"},
      {"DELETE /api/artifacts/{name}/v{version}", "Soft- or permanently delete a version",
       {kType, {"permanent", "boolean", "drop the version's manifest"}}, "Object"},
      {"POST /api/artifacts/{name}/v{version}/restore", "Restore a soft-deleted version", {}, "Object"},
      {"GET /api/artifacts/{name}/v{version}/files", "Files and references of a version", {kType}, "Object"},
      {"GET /api/artifacts/{name}/v{version}/download", "One file of a version",
       {{"path", "string", "file path inside the version", true}}, "binary"},
      {"GET /api/artifacts/{name}/v{version}/lineage", "Upstream and downstream lineage",
       {kType, {"max_depth", "integer", "0..10, default 3"}}, "Lineage"},
      {"GET /api/runs/{run_id}/artifacts", "Artifact versions a run created and used", {}, "Object"},
      {"GET /api/runs/{run_id}/progress", "A run's progress", {}, "Object"},
      {"GET /api/environment/{run_id}", "The environment the SDK captured", {}, "Object"},
      {"GET /api/artifacts/{name}/training-metrics", "The run that produced a version",
       {{"version", "integer", "default: latest"}, kType}, "Object"},
      {"GET /api/artifacts/{name}/performance-history", "Producing runs' metrics per version",
       {kType, {"metric_name", "string", "only this metric"}}, "Array"},
      {"GET /api/system/monitor", "CPU, memory, disk and platform of this machine", {}, "Object"},
      {"GET /api/gpu/telemetry", "GPU telemetry (NVML)", {}, "Object"},
      {"POST /api/status/check", "Re-check running runs now", {}, "Object"},
      {"GET /api/v2/analytics/overview", "Run and storage overview", {}, "Object"},
      {"GET /api/metrics/cache/stats", "Chart cache statistics", {}, "Object"},
      {"GET /api/config/column-widths", "Saved column widths",
       {{"table", "string", "table id", true}, {"size", "string", "window size, e.g. 1600x1000", true}}, "Object"},
      {"POST /api/config/column-widths", "Save column widths", {}, "Object"},
      {"DELETE /api/config/column-widths", "Forget column widths",
       {{"table", "string", "table id", true}, {"size", "string", "window size; absent: all"}}, "Object"},
      {"POST /api/config/column-widths/reset", "Forget column widths",
       {{"table", "string", "table id", true}, {"size", "string", "window size; absent: all"}}, "Object"},
      {"GET /api/config/dismissed-alerts", "Dismissed UI alerts", {}, "Object"},
      {"POST /api/config/dismissed-alerts/dismiss", "Dismiss an alert ({\"alert_id\"})", {}, "Object"},
      {"POST /api/config/dismissed-alerts/undismiss", "Undismiss an alert ({\"alert_id\"})", {}, "Object"},
      {"POST /api/config/dismissed-alerts/clear", "Clear dismissed alerts", {}, "Object"},
      {"GET /api/paths", "Run paths (Runicorn v0.6) as a list and a tree",
       {{"include_stats", "boolean", "add run counts per path"}}, "PathListing"},
      {"GET /api/paths/tree", "Run paths as a tree", {}, "Object"},
      {"GET /api/paths/runs", "Runs under a path", {kPath, kExact}, "RunList"},
      {"POST /api/paths/soft-delete", "Soft-delete every run under a path ({\"path\", \"exact\"})", {}, "Object"},
      {"GET /api/paths/export", "Runs under a path as JSON or as a zip of Runicorn run folders",
       {kPath, kExact, {"format", "string", "json (default) or zip"}}, "Object"},
      {"GET /api/storage/stats", "Bytes used by runs, artifacts and the catalog", {}, "StorageStats"},
      {"POST /api/import/archive", "Import a zip or tar.gz of Runicorn run folders (multipart field 'file')", {},
       "ArchiveImport"},
      {"GET /api/runs/{run_id}/media", "Images a run logged (key, step, caption, url)", {}, "Object"},
      {"GET /api/runs/{run_id}/media/{file}", "One logged image", {}, "binary"},
      {"PUT /api/ingest/{run_id}/{stream}", "Journal shipping from a remote writer (zstd body)", {}, "Object"},
      {"GET /api/ingest/{run_id}/state", "Journal shipping: the server's durable offset and whether the run is sealed",
       {{"stream", "string", "the writer's stream (default 0)"}}, "Object"},
      {"POST /api/ingest/chunks/missing", "Artifact shipping: which of these chunk digests the server lacks", {},
       "Object"},
      {"PUT /api/ingest/chunks/{digest}", "Artifact shipping: one part of a chunk (?size=&offset=; verified by SHA-256)",
       {}, "Object"},
      {"PUT /api/ingest/artifacts/{name}/v{version}", "Artifact shipping: publish a version's manifest (?used_by=RUN)",
       {}, "Object"},
      {"PUT /api/ingest/artifacts/{name}/aliases/{alias}", "Artifact shipping: a writer's user alias ({\"version\": N})",
       {}, "Object"},
      {"DELETE /api/ingest/artifacts/{name}/aliases/{alias}",
       "Artifact shipping: remove a writer's user alias if it still points at ?version=N",
       {{"version", "integer", "the version the writer last shipped for the alias"}}, "Object"},
      {"PUT /api/ingest/artifacts/{name}/v{version}/state",
       "Artifact shipping: a writer's delete, restore or permanent delete ({\"state\": \"deleted\"|\"ready\"|\"purged\"})",
       {}, "Object"},
      {"POST /api/remote/viewer/start", "Start a viewer on an SSH host and tunnel it to a local port (task token)", {},
       "Object"},
      {"POST /api/remote/viewer/stop", "Stop a remote viewer (TERM, then KILL) and its tunnel (task token)", {}, "Object"},
      {"GET /api/remote/viewer/sessions", "Remote viewers started by this viewer (task token)", {}, "Object"},
      {"GET /api/remote/viewer/status/{session_id}", "Whether a remote viewer still runs (task token)", {}, "Object"},
      {"GET /api/unified/status", "Runicorn's SSH connection and sync mode status (task token)", {}, "Object"},
      {"GET /api/unified/listdir", "List a directory on the SSH host (task token)",
       {{"path", "string", "remote path (default ~, the home directory)"},
        {"connection_id", "string", "user@host:port (default: the only open connection)"}},
       "Object"},
      {"POST /api/unified/configure_mode", "Start a periodic pull sync (smart or mirror) of a remote store (task token)",
       {}, "Object"},
      {"POST /api/unified/deactivate_mode", "Stop the periodic pull sync (task token)", {}, "Object"},
      {"GET /api/runs/{run_id}/streams", "A multi-process run's streams (ranks): name, ended, points", {}, "Object"},
      {"GET /api/runs/{run_id}/stream-points", "One metric of a multi-process run: all streams merged by (step, stream), or one",
       {{"metric", "string", "the metric name", true}, {"stream", "string", "only this stream (rank or host:pid)"}},
       "Object"},
      {"POST /api/v1/login", "Training service API: log in", {}, "Object"},
      {"GET /api/v1/datasets", "Training service API: datasets", {}, "Object"},
      {"POST /api/v1/datasets/upload", "Training service API: upload a dataset (multipart)", {}, "Object"},
      {"POST /api/v1/datasets/process", "Training service API: split a dataset", {}, "Object"},
      {"GET /api/v1/datasets/{dataset_id}", "Training service API: one dataset", {}, "Object"},
      {"GET /api/training/jobs", "Training jobs for the web UI (newest first)", {}, "Object"},
      {"GET /api/training/jobs/{task_id}/log", "A training job's task log", {}, "Object"},
      {"GET /api/workspace", "Task runner: the workspace", {}, "Object"},
      {"POST /api/workspace/shell", "Task runner: run a shell command in the workspace", {}, "Object"},
      {"POST /api/workspace/run-root", "Task runner: set the run root", {}, "Object"},
      {"POST /api/generator/preview", "Task runner: preview generated tasks", {}, "Object"},
      {"POST /api/generator/create", "Task runner: create generated tasks", {}, "Object"},
      {"GET /api/tasks", "Task runner: tasks", {}, "Array"},
      {"POST /api/tasks/batch/run", "Task runner: run several tasks", {}, "Object"},
      {"POST /api/tasks/batch/delete", "Task runner: delete several tasks", {}, "Object"},
      {"POST /api/tasks/export/csv", "Task runner: tasks as CSV", {}, "text"},
      {"GET /api/tasks/{name}", "Task runner: one task", {}, "Object"},
      {"POST /api/tasks/{name}/run", "Task runner: run a task", {}, "Object"},
      {"POST /api/tasks/{name}/cancel", "Task runner: cancel a task", {}, "Object"},
      {"GET /api/tasks/{name}/logs", "Task runner: a task's log", {}, "Object"},
      {"POST /api/tasks/{name}/pin", "Task runner: pin a task", {}, "Object"},
      {"PATCH /api/tasks/{name}/notes", "Task runner: a task's notes", {}, "Object"},
      {"PATCH /api/tasks/{name}/env", "Task runner: a task's environment", {}, "Object"},
      {"POST /api/tasks/{name}/rename", "Task runner: rename a task", {}, "Object"},
  };
  return docs;
}

bj::object ComponentSchemas() {
  auto obj = [](std::initializer_list<std::pair<const char*, const char*>> props) {
    bj::object p;
    for (const auto& [name, type] : props) {
      bj::value& v = p[name];
      std::string_view t = type;
      if (t.starts_with("#")) v = bj::object{{"$ref", std::string("#/components/schemas/") + std::string(t.substr(1))}};
      else if (t.ends_with("|null")) v = bj::object{{"type", bj::array{bj::value(t.substr(0, t.size() - 5)), bj::value("null")}}};
      else v = bj::object{{"type", type}};
    }
    return bj::object{{"type", "object"}, {"properties", std::move(p)}};
  };
  auto array_of = [](const char* ref) {
    return bj::object{{"type", "array"}, {"items", bj::object{{"$ref", std::string("#/components/schemas/") + ref}}}};
  };
  bj::object s;
  s["Object"] = bj::object{{"type", "object"}};
  s["Array"] = bj::object{{"type", "array"}};
  s["Error"] = obj({{"detail", "string"}});
  s["Health"] = obj({{"status", "string"}, {"storage", "string"}, {"version", "string"}, {"cache", "object"}});
  s["RunListItem"] = obj({{"id", "string"}, {"project", "string"}, {"name", "string"}, {"path", "string"},
                          {"alias", "string|null"}, {"status", "string"}, {"created_time", "number"},
                          {"run_dir", "string"}, {"pid", "integer"}, {"tags", "array"},
                          {"best_metric_name", "string|null"}, {"best_metric_value", "number|null"},
                          {"assets_count", "integer"}, {"artifacts_created_count", "integer"},
                          {"artifacts_used_count", "integer"}});
  s["RunList"] = array_of("RunListItem");
  s["MetricRows"] = obj({{"columns", "array"}, {"rows", "array"}, {"total", "integer"}, {"sampled", "integer"}});
  s["BatchResult"] = obj({{"results", "object"}, {"message", "string"}});
  s["ExperimentPage"] = obj({{"experiments", "array"}, {"total", "integer"}, {"page", "integer"},
                             {"per_page", "integer"}, {"has_next", "boolean"}, {"has_prev", "boolean"}});
  s["Lineage"] = obj({{"root_artifact", "string"}, {"nodes", "array"}, {"edges", "array"}});
  s["PathListing"] = obj({{"paths", "array"}, {"tree", "object"}, {"stats", "object"}});
  s["StorageStats"] = obj({{"storage_root", "string"}, {"total", "object"}, {"archive", "object"},
                           {"runs", "object"}, {"index", "object"}});
  s["ArchiveImport"] = obj({{"ok", "boolean"}, {"imported_files", "integer"}, {"new_run_dirs", "array"},
                            {"new_run_ids", "array"}, {"storage", "string"}, {"existing_runs", "array"},
                            {"skipped", "array"}});
  return s;
}

}  // namespace runicorn::server
