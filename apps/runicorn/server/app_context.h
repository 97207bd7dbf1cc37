// What every handler may use: the services over the store being served (the handlers' only way
// to storage), plus a few facts about the server. Built once by the viewer (or a test) before the
// server starts; handlers receive it by const reference and only call thread-safe methods.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "runtrack/status.h"
#include "service/build_info.h"
#include "service/embedded_storage.h"
#include "service/services.h"

namespace runicorn::server {

class IngestForwarding;  // server/ingest_forwarding.h
class ReadForwarding;    // server/read_forwarding.h
class TrainingLogForwarding;  // server/training_log_forwarding.h

struct AppContext {
  std::filesystem::path root;          // absolute store root
  std::filesystem::path config_file;   // where POST /api/config/user_root_dir persists
  std::string version;
  double started_at = 0;
  // The embedded back end; the viewer's indexer refreshes its catalog.
  std::unique_ptr<service::EmbeddedStorage> storage;
  // `viewer --catalog` (docs/SCALE-OUT.md "Viewer on PostgreSQL"): the run index served from
  // elsewhere (null: the embedded catalog). Declared before `services`, which refer to it.
  std::unique_ptr<service::RunCatalog> run_catalog;
  // `viewer --catalog … --objects …` (docs/SCALE-OUT.md "Artifact ingest on PostgreSQL"): the
  // artifact catalog served from elsewhere (null: the embedded store's); set it before
  // UseRunCatalog, which builds the services over it. Declared before `services` too.
  std::unique_ptr<service::ArtifactRepository> artifact_repository;
  // `viewer --catalog … --objects …` (docs/SCALE-OUT.md "Segment index in PostgreSQL"): metric
  // queries of runs other replicas sealed answered from the bucket (null: the embedded store's);
  // set it before UseRunCatalog, which builds the services over it. Declared before `services`.
  std::unique_ptr<service::MetricReader> metric_reader;
  // Run by the indexer after every Refresh() that succeeded (`changed`: it ingested something),
  // to bring `run_catalog` up to the local store; a failure degrades ingest health and is
  // retried with the indexer's backoff.
  std::function<runtrack::Status(bool changed)> after_index_pass;
  // Services keep no state of their own, so non-const use on a const context is safe; a pointer
  // only to allow that.
  std::unique_ptr<service::Services> services;
  // Bumped by the indexer after every Refresh() that ingested something; streams poll it so an
  // idle WebSocket costs nothing.
  std::atomic<uint64_t> index_generation{0};
  // `viewer --replica-url` (docs/SCALE-OUT.md "Replicas"): ingest of runs another replica owns is
  // forwarded there (null: every ingest is appended here, as with one viewer).
  std::shared_ptr<IngestForwarding> ingest_forwarding;
  // `viewer --replica-url`: reads and live streams of a live run another replica owns are answered
  // by that replica (docs/SCALE-OUT.md "Reads of a live run"; null: every read is answered here).
  std::shared_ptr<ReadForwarding> read_forwarding;
  // `viewer --catalog`: the log of a training job another replica runs is read from that replica
  // (docs/SCALE-OUT.md "Training on the team back end"; null: only this replica's jobs have logs).
  std::shared_ptr<TrainingLogForwarding> training_log_forwarding;

  // Opens the catalog and artifact store of `root` (created if missing). kBusy when another
  // process holds the catalog. On a disk too full to open the catalog read-write it is opened
  // read-only (empty when there is none yet): writes answer kBusy until the indexer re-opens it.
  // `sealed_objects`: where the catalog reads sealed segments missing from the store's disk
  // (CatalogOptions::sealed_objects; the viewer's --objects bucket), null for none.
  // Serves the run index from `catalog` (services rebuilt over it; metrics and artifacts stay
  // the embedded store's). Call before the server starts and before services are extended.
  void UseRunCatalog(std::unique_ptr<service::RunCatalog> catalog,
                     std::function<runtrack::Status(bool changed)> after_pass);

  static runtrack::Result<std::unique_ptr<AppContext>> Open(
      const std::filesystem::path& root,
      const std::filesystem::path& config_file = service::DefaultUserConfigFile(),
      std::shared_ptr<const runtrack::SealedObjectSource> sealed_objects = nullptr);
};

using service::NowSeconds;
using service::RunicornVersion;

}  // namespace runicorn::server
