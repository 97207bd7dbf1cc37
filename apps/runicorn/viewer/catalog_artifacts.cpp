#include "viewer/catalog_artifacts.h"

#ifdef RUNICORN_HAVE_PG
#include "service/pg/pg_artifact_repository.h"
#include "service/pg/pg_viewer_catalog.h"
#endif

namespace runicorn::viewer {

cli::CatalogArtifactsOpener CatalogArtifactsOpener() {
#ifdef RUNICORN_HAVE_PG
  return [](const std::string& conninfo, const std::filesystem::path& chunk_root,
            std::shared_ptr<const runtrack::ChunkSource> missing)
             -> runtrack::Result<std::unique_ptr<service::ArtifactRepository>> {
    RUNTRACK_RETURN_IF_ERROR(service::pg::CheckCatalogConninfo(conninfo));
    service::pg::PgArtifactOptions options;
    options.chunk_root = chunk_root;
    options.missing_chunks = std::move(missing);
    RUNTRACK_ASSIGN_OR_RETURN(auto artifacts, service::pg::PgArtifactRepository::Open(conninfo, std::move(options)));
    return std::unique_ptr<service::ArtifactRepository>(std::move(artifacts));
  };
#else
  return {};
#endif
}

}  // namespace runicorn::viewer
