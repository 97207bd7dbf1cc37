// The service layer: every use case the front ends (HTTP handlers, CLI) call, built over the three
// storage interfaces. No HTTP, no JSON, no argv here: services take typed values, validate what
// came from outside and return Result<T> of plain structs (docs/ARCHITECTURE.md).
//
// Thread safety: every service may be used from any number of threads at once.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "runtrack/layout.h"
#include "service/archive_service.h"
#include "service/artifact_ingest_service.h"
#include "service/artifact_service.h"
#include "service/config_service.h"
#include "service/dataset_artifacts.h"
#include "service/ingest_service.h"
#include "service/media_service.h"
#include "service/metric_service.h"
#include "service/path_service.h"
#include "service/preferences_service.h"
#include "service/run_insights.h"
#include "service/run_service.h"
#include "service/ssh/remote_service.h"
#include "service/system_service.h"
#include "service/storage.h"
#include "service/stream_view.h"
#include "service/task_service.h"
#include "service/training_service.h"
#include "service/user_store.h"

namespace runicorn::service {

struct Services {
  Services(RunCatalog& run_catalog, MetricReader& metric_reader, ArtifactRepository& artifact_repository,
           runtrack::StoreLayout store_layout, ConfigService config_service)
      : layout(std::move(store_layout)),
        run_catalog(run_catalog),
        metric_reader(metric_reader),
        runs(run_catalog),
        metrics(metric_reader),
        artifacts(artifact_repository, &run_catalog),
        config(std::move(config_service)) {}

  const runtrack::StoreLayout layout;  // of the store being served
  // For the incremental readers (follow.h), which live as long as a stream.
  const RunCatalog& run_catalog;
  const MetricReader& metric_reader;
  RunService runs;
  MetricService metrics;
  ArtifactService artifacts;
  ConfigService config;
  // Runicorn's UI extras (docs/API.md "Runicorn compatibility"): UI preferences in the user
  // config dir, run/artifact insights and this machine's telemetry.
  PreferencesService preferences{PreferencesFileFor(config.config_file())};
  RunInsights insights{run_catalog, artifacts, layout};
  SystemService system{layout.root()};
  // Runicorn v0.6's path hierarchy and storage statistics (docs/API.md "Runicorn v0.6 paths").
  PathService paths{run_catalog, runs, layout};
  // Runicorn archives: POST /api/import/archive and the zip of GET /api/paths/export.
  ArchiveService archives{run_catalog, metric_reader, layout};
  // Images a run logged (media/), for the run page's gallery.
  MediaService media{run_catalog, layout};
  // Attached by the process that holds the catalog (the viewer); null in a CLI process.
  std::unique_ptr<CatalogMaintenance> maintenance;
  // Journal shipping's receiving end (docs/REMOTE.md); writes into `layout`'s run folders.
  IngestService ingest{layout};
  // Artifact shipping's receiving end (docs/REMOTE.md "Artifacts"); writes into `layout`'s
  // blobs/ and artifacts/.
  ArtifactIngestService artifact_ingest{layout};
  // Runicorn's SSH remote (docs/REMOTE.md "SSH remote"): sessions, saved connections (user config
  // dir) and pull sync, which appends through `ingest`'s receiver.
  ssh::RemoteService remote{layout, ssh::RemoteConnectionsFileFor(config.config_file()), ssh::IngestAppender(ingest),
                            ssh::IngestInstaller(ingest, layout)};
  // Views of a multi-process run's per-process streams (docs/REMOTE.md "Streams").
  StreamViewService stream_views{metric_reader};
  // The task runner's project (`runicorn viewer --tasks-root`); null when not served.
  std::shared_ptr<TaskService> tasks;
  // The training service API's jobs (`runicorn viewer --llm-service FILE`); null: /api/v1/train
  // and /generate answer 503.
  std::shared_ptr<TrainingService> training;
  // The training service API's accounts and token key: the store's users.json and token_key, or
  // PostgreSQL's tables with `viewer --catalog` (shared by replicas; pg/pg_user_repository.h).
  std::shared_ptr<UserRepository> users = std::make_shared<UserStore>(layout);
  // Where /api/v1/datasets keeps dataset artifacts: null for this store's own; the team's catalog
  // and bucket with `viewer --catalog … --objects …` (pg/pg_dataset_artifacts.h).
  std::shared_ptr<DatasetArtifacts> dataset_artifacts;
};

}  // namespace runicorn::service
