// `runicorn viewer --objects s3://bucket/prefix?endpoint=...&region=...`: parses the URL, loads
// the credentials (environment or credentials file, never the command line), checks the bucket
// answers, and returns the mirror that publishes the store's artifact chunks to it.
#pragma once

#include <filesystem>
#include <memory>
#include <string_view>

#include "runtrack/status.h"
#include "service/s3/object_chunk_mirror.h"

namespace runicorn::service::s3 {

// InvalidArgument for a bad URL; FailedPrecondition for missing or refused credentials (403);
// NotFound for a missing bucket; IOError when the endpoint cannot be reached. The mirror is not
// started (see ObjectChunkMirror::StartInBackground).
runtrack::Result<std::unique_ptr<ObjectChunkMirror>> OpenObjectChunkMirror(std::string_view url,
                                                                           const std::filesystem::path& blobs_dir);

// The chunk store of an `--objects` URL, with the same checks and errors as OpenObjectChunkMirror
// (`runicorn gc --objects` uses it directly).
runtrack::Result<std::shared_ptr<ObjectChunkStore>> OpenObjectChunkStore(std::string_view url);

}  // namespace runicorn::service::s3
