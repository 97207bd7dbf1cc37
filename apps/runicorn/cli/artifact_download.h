// `runicorn artifacts download` (artifact_download.cpp): the versions come from the local store,
// or with `--catalog postgresql://…` from the team's PostgreSQL, which the CLI does not link: the
// composition root gives the opener (viewer/catalog_artifacts.h).
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "runtrack/artifacts.h"
#include "runtrack/status.h"
#include "service/storage.h"

namespace runicorn::cli {

class Args;

// Opens the artifact versions of a `--catalog` (docs/SCALE-OUT.md "Artifacts"): a handle reads
// chunks from `chunk_root`'s blobs/ first, then from `missing` (the bucket), each verified.
using CatalogArtifactsOpener = std::function<runtrack::Result<std::unique_ptr<service::ArtifactRepository>>(
    const std::string& conninfo, const std::filesystem::path& chunk_root,
    std::shared_ptr<const runtrack::ChunkSource> missing)>;

// positional()[0] is "download". Without an opener, `--catalog` is refused (exit 2: built without libpq).
int RunArtifactDownload(const Args& args, const CatalogArtifactsOpener& open_catalog = {});

}  // namespace runicorn::cli
