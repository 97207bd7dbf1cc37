#include "viewer/team_backend.h"

#include <cstdio>
#include <filesystem>
#include <vector>

#include "runtrack/layout.h"
#include "runtrack/sealed_objects.h"
#include "runtrack/sealed_run.h"
#include "server/app_context.h"
#ifdef RUNICORN_HAVE_PG
#include "service/pg/pg_artifact_ingest.h"
#include "service/pg/pg_artifact_mirror.h"
#include "service/pg/pg_dataset_artifacts.h"
#include "service/pg/pg_run_files.h"
#include "service/pg/pg_segment_index.h"
#include "service/pg/pg_user_repository.h"
#include "service/pg/pg_viewer_artifacts.h"
#include "service/pg/pg_viewer_catalog.h"
#endif
#include "service/s3/catalog_references.h"
#include "service/s3/finished_run_sealer.h"
#include "service/s3/object_chunk_mirror.h"
#include "service/s3/object_chunk_pool.h"
#include "service/s3/object_chunk_source.h"
#include "service/s3/object_metric_reader.h"
#include "service/s3/object_run_files.h"
#include "service/s3/object_segment_publisher.h"
#include "service/s3/object_segment_source.h"
#include "service/s3/object_segment_store.h"
#include "service/s3/objects_option.h"
#include "service/s3/run_file_index.h"
#include "service/s3/run_file_publisher.h"
#include "service/s3/segment_index.h"
#include "service/s3/segment_index_publisher.h"

namespace runicorn::viewer {
using runtrack::Result;
using runtrack::Status;
using runtrack::StatusCode;

// What Open and Attach wired; each is null when its options are absent.
struct TeamBackend::Parts {
  // --objects: the bucket, for artifact chunks and (through the same client) sealed segments.
  std::shared_ptr<service::s3::ObjectChunkStore> bucket;
  std::shared_ptr<service::s3::ObjectSegmentStore> segment_objects;
  std::shared_ptr<const runtrack::SealedObjectSource> segment_source;
  // --catalog with --objects: PostgreSQL's indexes of what the replicas put in the bucket.
  std::shared_ptr<service::s3::SegmentIndex> segment_index;
  std::shared_ptr<service::s3::RunFileIndex> run_file_index;
  // The publishers; Stop() stops them in the order the viewer always has.
  std::unique_ptr<service::s3::CatalogReferencesPublisher> catalog_references;
#ifdef RUNICORN_HAVE_PG
  std::unique_ptr<service::pg::PgArtifactMirror> artifact_mirror;
#endif
  std::unique_ptr<service::s3::ObjectChunkMirror> chunk_mirror;
  std::unique_ptr<service::s3::ObjectSegmentPublisher> segments;
  std::shared_ptr<service::s3::FinishedRunSealer> finished_runs;
  std::unique_ptr<service::s3::RunFilePublisher> run_files;
};

namespace {

#ifdef RUNICORN_HAVE_PG
// "cannot use the PostgreSQL catalog: …". Only opening the catalog judges the --catalog value
// (`usage`); once it opened, a step's InvalidArgument is not the command line's fault (the viewer
// exits 1, not 2).
Status CatalogFailure(const Status& s, bool usage = false) {
  StatusCode code = s.code() == StatusCode::kInvalidArgument && !usage ? StatusCode::kFailedPrecondition : s.code();
  return Status(code, "cannot use the PostgreSQL catalog: " + s.message());
}
#endif

// The bucket's S3 client, shared by the chunk store's users (aliasing pointer: keeps `bucket` alive).
std::shared_ptr<service::s3::S3Client> ClientOf(const std::shared_ptr<service::s3::ObjectChunkStore>& bucket) {
  return std::shared_ptr<service::s3::S3Client>(bucket, &bucket->client());
}

// Collects the first failure of several passes that all run.
void Keep(Status* first, const Status& s) {
  if (first->ok() && !s.ok()) *first = s;
}
template <typename T>
void Keep(Status* first, const Result<T>& r) {
  if (!r.ok()) Keep(first, r.status());
}

}  // namespace

TeamBackend::TeamBackend(TeamBackendOptions options)
    : options_(std::move(options)), parts_(std::make_unique<Parts>()) {}

TeamBackend::~TeamBackend() { Stop(); }

Result<std::unique_ptr<TeamBackend>> TeamBackend::Open(TeamBackendOptions options) {
  std::unique_ptr<TeamBackend> backend(new TeamBackend(std::move(options)));
  if (const auto& url = backend->options_.objects) {
    RUNTRACK_ASSIGN_OR_RETURN(backend->parts_->bucket, service::s3::OpenObjectChunkStore(*url));
    Parts& p = *backend->parts_;
    p.segment_objects = std::make_shared<service::s3::ObjectSegmentStore>(ClientOf(p.bucket));
    p.segment_source = std::make_shared<service::s3::ObjectSegmentSource>(p.segment_objects);
  }
  return backend;
}

std::shared_ptr<const runtrack::SealedObjectSource> TeamBackend::segment_source() const {
  return parts_->segment_source;
}

std::shared_ptr<service::s3::FinishedRunSealer> TeamBackend::finished_runs() const { return parts_->finished_runs; }

Status TeamBackend::Attach(server::AppContext& context) {
  Parts& p = *parts_;
  // --catalog (docs/SCALE-OUT.md "Viewer on PostgreSQL"): the run index in PostgreSQL, shared by
  // replicas; this store's runs are mirrored into it after every index pass. The password comes
  // from PGPASSWORD / ~/.pgpass / PGPASSFILE only (a URL with one is refused: `ps` shows it).
  // Every step that can fail comes first: a failure leaves no publisher running.
  if (const auto& conninfo = options_.catalog) {
#ifdef RUNICORN_HAVE_PG
    std::shared_ptr<service::pg::PgArtifactRepository> shared_artifacts;  // with --objects
    std::shared_ptr<service::RunFileSource> run_file_source;              // with --objects
    auto catalog = service::pg::PgViewerCatalog::Open(*conninfo, *context.storage);
    if (!catalog.ok()) return CatalogFailure(catalog.status(), /*usage=*/true);
    service::pg::PgRunMirror* mirror = &(*catalog)->mirror();
    // With --objects, artifacts are the team's too (docs/SCALE-OUT.md "Artifact ingest on
    // PostgreSQL"): versions and aliases in PostgreSQL, chunks in the bucket, for reads and for
    // shipped artifacts; set before UseRunCatalog, which builds the services over it. Without
    // --objects artifacts stay in this store: a catalog listing versions whose chunks sit on one
    // replica's disk would offer downloads the other replicas cannot serve.
    if (p.bucket) {
      auto opened = service::pg::PgArtifactRepository::Open(
          *conninfo, {context.root, std::make_shared<service::s3::ObjectChunkSource>(p.bucket)});
      if (!opened.ok()) return CatalogFailure(opened.status());
      shared_artifacts = std::move(*opened);
      context.artifact_repository = std::make_unique<service::pg::PgViewerArtifacts>(shared_artifacts);
    } else {
      std::fprintf(stderr, "runicorn viewer: --catalog without --objects: artifacts stay in this replica's store "
                           "(add --objects s3://... to share them through PostgreSQL and the bucket)\n");
    }
    // With --objects, runs other replicas sealed are charted from the bucket, found through the
    // segment index in PostgreSQL (docs/SCALE-OUT.md "Segment index in PostgreSQL"); set before
    // UseRunCatalog, which builds the services over it.
    if (p.segment_objects) {
      auto index = service::pg::PgSegmentIndex::Open(*conninfo);
      if (!index.ok()) return CatalogFailure(index.status());
      p.segment_index = std::move(*index);
      context.metric_reader = std::make_unique<service::s3::ObjectMetricReader>(
          *context.storage, *context.storage, p.segment_index, p.segment_objects, p.segment_source, context.root);
      // ... and their logs and run files too (docs/SCALE-OUT.md "Run logs and run files in the bucket").
      auto files = service::pg::PgRunFiles::Open(*conninfo);
      if (!files.ok()) return CatalogFailure(files.status());
      p.run_file_index = std::move(*files);
      run_file_source = std::make_shared<service::s3::ObjectRunFiles>(p.run_file_index, ClientOf(p.bucket));
      (*catalog)->UseRunFiles(run_file_source);
    }
    context.UseRunCatalog(std::move(*catalog), [mirror](bool changed) { return mirror->Pass(changed); });
    if (run_file_source) {
      context.services->media.UseRemoteFiles(run_file_source);
      // The zip export and the environment panel of another replica's run too.
      context.services->archives.UseRemoteFiles(run_file_source);
      context.services->insights.UseRemoteFiles(run_file_source);
    }
    std::shared_ptr<service::s3::ObjectChunkPool> pool;  // with --objects
    if (shared_artifacts) {
      pool = std::make_shared<service::s3::ObjectChunkPool>(p.bucket);
      context.services->artifact_ingest.UseShared(
          pool, std::make_shared<service::pg::PgSharedArtifacts>(shared_artifacts, pool));
      // /api/v1/datasets keeps its datasets in PostgreSQL and the bucket directly.
      context.services->dataset_artifacts = std::make_shared<service::pg::PgDatasetArtifacts>(
          shared_artifacts, pool, std::filesystem::temp_directory_path());
    }
    // The training service API's users and token key in PostgreSQL too (docs/SCALE-OUT.md "Users,
    // tokens and tasks on PostgreSQL"): every replica accepts the same tokens and removals.
    auto users = service::pg::PgUserRepository::Open(*conninfo);
    if (!users.ok()) return CatalogFailure(users.status());
    context.services->users = std::move(*users);
    if (shared_artifacts) {
      // The chunks PostgreSQL's versions reference, as a list `gc --objects` keeps.
      p.catalog_references = std::make_unique<service::s3::CatalogReferencesPublisher>(
          p.bucket, *conninfo, context.root, [shared_artifacts] { return shared_artifacts->ReferencedChunks(); });
      // Versions local processes log into this store are published to the team (docs/SCALE-OUT.md
      // "Local artifacts on a replica").
      p.artifact_mirror = std::make_unique<service::pg::PgArtifactMirror>(context.root, shared_artifacts, pool);
    }
#else
    return Status::InvalidArgument(std::string("--catalog ") +
                                   (conninfo->rfind("postgres", 0) == 0 ? "postgresql://..." : "...") +
                                   ": this runicorn was built without libpq (libpq-dev)");
#endif
  }
  // --objects (docs/SCALE-OUT.md): the store's artifact chunks are published to an S3 bucket
  // shared by the team; credentials from AWS_* variables or a credentials file only.
  if (p.bucket) {
    p.chunk_mirror =
        std::make_unique<service::s3::ObjectChunkMirror>(runtrack::StoreLayout(context.root).blobs_dir(), p.bucket);
    // Artifact downloads read chunks missing from blobs/ from the bucket (verified), and the
    // mirror keeps this store's list of referenced chunks there for `gc --objects`.
    service::FileArtifactRepository& repository = context.storage->artifacts();
    repository.SetMissingChunkSource(std::make_shared<service::s3::ObjectChunkSource>(p.chunk_mirror->objects()));
    p.chunk_mirror->PublishReferencesOf(context.root, [&repository] { return repository.ReferencedChunks(); });
    // Sealed metric segments and LOD objects go to the bucket too, and this store's list of them
    // stays current there for `gc --objects` (object_segment_publisher.h).
    service::EmbeddedStorage& storage = *context.storage;
    p.segments = std::make_unique<service::s3::ObjectSegmentPublisher>(
        context.root, p.segment_objects, [&storage]() -> Result<std::vector<runtrack::SealedObjectRef>> {
          auto catalog = storage.current_catalog();
          if (!catalog) return Status::IOError("the catalog is not open");
          return catalog->ListSealedObjects();
        });
    // ... and, with --catalog, into the segment index, once a run's objects are all in the bucket.
    if (p.segment_index) {
      auto index_publisher = std::make_shared<service::s3::SegmentIndexPublisher>(
          p.segment_index, p.segment_objects, [&storage]() -> Result<std::vector<runtrack::SealedSeriesInfo>> {
            auto catalog = storage.current_catalog();
            if (!catalog) return Status::IOError("the catalog is not open");
            return catalog->ListSealedSeries();
          });
      p.segments->OnConfirmed([index_publisher](const std::vector<runtrack::SealedObjectRef>& confirmed) {
        return index_publisher->Publish(confirmed);
      });
      // A shipped run is sealed and published as soon as it ends, and its writer is told when it
      // no longer depends on this replica's disk (docs/SCALE-OUT.md "Finished runs").
      service::s3::ObjectSegmentPublisher* publisher = p.segments.get();
      service::s3::FinishedRunSealerOptions sealing;
      sealing.background = options_.start_background;
      p.finished_runs = std::make_shared<service::s3::FinishedRunSealer>(
          context.root, [&storage] { return storage.current_catalog(); }, p.segment_index,
          [publisher] {
            auto pass = publisher->Push();
            return pass.ok() ? Status::Ok() : pass.status();
          },
          sealing);
      context.services->ingest.SetSealing(p.finished_runs);
    }
    // With --catalog: this store's finished runs' logs and files go to the bucket and into
    // PostgreSQL, so every replica serves them (run_file_publisher.h).
    if (p.run_file_index)
      p.run_files = std::make_unique<service::s3::RunFilePublisher>(ClientOf(p.bucket), p.run_file_index,
                                                                    context.root, *context.storage);
  }
  if (options_.start_background) {
    const std::chrono::milliseconds period = options_.publish_interval;
    if (p.catalog_references) p.catalog_references->StartInBackground(period);
#ifdef RUNICORN_HAVE_PG
    if (p.artifact_mirror) p.artifact_mirror->StartInBackground(period);
#endif
    if (p.chunk_mirror) p.chunk_mirror->StartInBackground(period);
    if (p.segments) p.segments->StartInBackground(period);
    if (p.run_files) p.run_files->StartInBackground(period);
  }
  return Status::Ok();
}

Status TeamBackend::PublishNow() {
  Parts& p = *parts_;
  Status first;
  // The sealer's pass may seal runs, and then runs the segment pass itself.
  if (p.finished_runs) Keep(&first, p.finished_runs->Pass());
  // Versions before the lists that name their chunks; segments before the index rows that name them
  // (the segment pass feeds the index).
#ifdef RUNICORN_HAVE_PG
  if (p.artifact_mirror) Keep(&first, p.artifact_mirror->Pass());
#endif
  if (p.chunk_mirror) Keep(&first, p.chunk_mirror->Push());
  if (p.segments) Keep(&first, p.segments->Push());
  if (p.run_files) Keep(&first, p.run_files->Publish());
  if (p.catalog_references) Keep(&first, p.catalog_references->Publish());
  return first;
}

void TeamBackend::Stop() {
  Parts& p = *parts_;
  if (p.finished_runs) p.finished_runs->Stop();
  if (p.chunk_mirror) p.chunk_mirror->Stop();
  if (p.run_files) p.run_files->Stop();
  if (p.segments) p.segments->Stop();
  if (p.catalog_references) p.catalog_references->Stop();
#ifdef RUNICORN_HAVE_PG
  if (p.artifact_mirror) p.artifact_mirror->Stop();
#endif
}

}  // namespace runicorn::viewer
