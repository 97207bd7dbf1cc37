// `runicorn artifacts download --catalog postgresql://…`: the PostgreSQL artifact versions
// (service/pg/pg_artifact_repository.h) for the CLI's download, which does not link the
// PostgreSQL back end itself.
#pragma once

#include "cli/artifact_download.h"

namespace runicorn::viewer {

// Checks the conninfo as `viewer --catalog` does (no password in it), then opens the versions.
// Empty when this runicorn was built without libpq.
cli::CatalogArtifactsOpener CatalogArtifactsOpener();

}  // namespace runicorn::viewer
